/** Hostile ids and paths (issue 7): one clear line, exit 1, and nothing touched outside the state root. */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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
