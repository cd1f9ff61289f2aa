/** Hostile ids and paths (issue 7): one clear line, exit 1, and nothing touched outside the state root. */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBundle, tsrunIn, uniqueId } from '../support/containers.js';
import { identities, scratchDir, tsrun } from '../support/tsrun.js';

describe.each(identities)('hostile ids and paths, as %s', (as) => {
  it.each(['../escape', 'a/b', '..', '.', 'ünïcode', 'sp ace', 'x'.repeat(1025), '$(touch pwned)'])(
    'id %j: refused, nothing made',
    (id) => {
      const b = makeBundle(as);
      const r = tsrunIn(b, ['create', '--bundle', b.dir, id]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^tsrun: create: (invalid container id|container id is longer)/);
      expect(existsSync(b.root) ? readdirSync(b.root) : []).toEqual([]);
      expect(existsSync(join(b.root, '..', 'escape'))).toBe(false);
      expect(existsSync(join(b.dir, 'pwned'))).toBe(false);
    },
  );

  it('--root naming a file: one clear line, and the file is left as it was', () => {
    const b = makeBundle(as);
    const file = join(b.dir, 'not-a-dir');
    writeFileSync(file, 'keep');
    const r = tsrun(as, ['--root', file, 'create', '--bundle', b.dir, uniqueId()], { cwd: b.dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(file);
    expect(readFileSync(file, 'utf8')).toBe('keep');
  });

  it("root.path naming the host's / (directly or through ..): refused, nothing made", () => {
    for (const path of ['/', '../../../../../../../../..']) {
      const b = makeBundle(as, (c) => {
        c.root = { path, readonly: false };
      });
      const r = tsrunIn(b, ['create', '--bundle', b.dir, uniqueId()]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(
        /^tsrun: create: config\.json: root\.path: \S+ is the host's root directory: a container needs a root filesystem of its own$/,
      );
      expect(existsSync(b.root) ? readdirSync(b.root) : []).toEqual([]);
    }
  });

  it('a bundle reached through a symlink works, and delete cleans up', () => {
    const b = makeBundle(as);
    const link = join(scratchDir(as), 'bundle-link');
    symlinkSync(b.dir, link);
    const id = uniqueId();
    const r = tsrunIn(b, ['run', '--bundle', link, id]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(b.root, id))).toBe(false);
  });
});

describe('an unwritable state directory, as rootless', () => {
  it('one clear line naming the directory, nothing made', () => {
    const b = makeBundle('rootless');
    const root = join(b.dir, 'locked');
    mkdirSync(root);
    chmodSync(root, 0o555); // owned by root (the test runs as root): the user cannot write in it
    const r = tsrun('rootless', ['--root', root, 'create', '--bundle', b.dir, uniqueId()], { cwd: b.dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(root);
    expect(r.stderr).toMatch(/EACCES/);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("a cgroupsPath that is not the container's own, as root", () => {
  it.each([
    [
      '/',
      /^tsrun: create: config\.json: linux\.cgroupsPath: the cgroup \/ already holds \d+ process\(es\): a container needs a cgroup of its own \(delete and kill --all would kill them\); choose another cgroupsPath, or stop what runs there$/,
    ],
    ['../escape', /^tsrun: create: config\.json: linux\.cgroupsPath: "\.\.\/escape" may not contain "\.\."$/],
  ])('%j: refused with one line, nothing made (delete would kill what the cgroup holds)', (path, message) => {
    const b = makeBundle('root', (c) => {
      c.linux = { ...c.linux, cgroupsPath: path };
    });
    const r = tsrunIn(b, ['create', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(existsSync(b.root) ? readdirSync(b.root) : []).toEqual([]);
  });

  it('a cgroup another process is in: refused, and that process is left alone', async () => {
    const path = `/tsrun-spec/taken-${process.pid}`;
    const dir = `/sys/fs/cgroup/pids${path}`;
    mkdirSync(dir, { recursive: true });
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(other.pid));
      const b = makeBundle('root', (c) => {
        c.linux = { ...c.linux, cgroupsPath: path };
      });
      const r = tsrunIn(b, ['create', '--bundle', b.dir, uniqueId()]);
      expect(r.stderr.trim()).toBe(
        `tsrun: create: config.json: linux.cgroupsPath: the cgroup ${path} already holds 1 process(es): a container needs a cgroup of its own (delete and kill --all would kill them); choose another cgroupsPath, or stop what runs there`,
      );
      expect(other.exitCode).toBe(null);
      expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim()).toBe(String(other.pid));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.on('exit', r));
      rmdirSync(dir);
    }
  });
});
