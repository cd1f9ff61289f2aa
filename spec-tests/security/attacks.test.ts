/**
 * Attacks of the kinds published runc escapes used, run against tsrun: each must fail to reach
 * the host. (Issue 7; more classes join these.)
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/spec/config.js';
import {
  hostMountinfo,
  makeBundle,
  ownBundle,
  type ProbeReport,
  runBundle,
  spawnTsrun,
  type TestBundle,
  tsrunAsync,
  tsrunIn,
  uniqueId,
} from '../support/containers.js';
import { type Identity, identities } from '../support/tsrun.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rootfs = (b: TestBundle) => join(b.dir, 'rootfs');
/** A directory made in the bundle, owned by the bundle's identity. */
function ownedDir(b: TestBundle, path: string): void {
  mkdirSync(path);
  if (b.as === 'rootless') chownSync(path, inject('rootlessUser').uid, inject('rootlessUser').gid);
}
const mountPoints = (mountinfo: string) => mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '');

function bundle(as: Identity, args: string[], edit: (c: Config) => void = () => {}) {
  return makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args };
    edit(c);
  });
}

describe.each(identities)('escape attempts, as %s', (as) => {
  it('mount destinations that are symlinks out of the root (absolute and ../..) resolve inside it', () => {
    const b = bundle(as, ['/probe', 'cat', '/proc/self/mountinfo'], (c) => {
      c.mounts = [
        ...(c.mounts ?? []),
        { destination: '/abs', type: 'tmpfs', source: 'tmpfs', options: ['size=1k'] },
        { destination: '/rel/x', type: 'tmpfs', source: 'tmpfs', options: ['size=1k'] },
      ];
    });
    symlinkSync('/etc', join(rootfs(b), 'abs'));
    symlinkSync('../../../../../../tmp', join(rootfs(b), 'rel'));
    // Dangling inside the root: followed there, and what they name is made there (as runc does).
    const before = mountPoints(hostMountinfo());
    const dangling = mountPoints(runBundle(b).stdout);
    expect(dangling).toContain('/etc');
    expect(dangling).toContain('/tmp/x');
    expect(readdirSync(join(rootfs(b), 'tmp'))).toEqual(['x']);
    // With the targets present in the root: the mounts land on the container's own /etc and /tmp/x.
    const points = mountPoints(runBundle(b).stdout);
    expect(points).toContain('/etc');
    expect(points).toContain('/tmp/x');
    expect(mountPoints(hostMountinfo()).filter((p) => !before.includes(p))).toEqual([]);
  });

  it('a mount destination swapped between a directory and a link out of the root while creates run: nothing lands outside', () => {
    const b = bundle(as, ['/probe', 'exit', '0'], (c) => {
      c.mounts = [...(c.mounts ?? []), { destination: '/mnt/x', type: 'tmpfs', source: 'tmpfs', options: ['size=1k'] }];
    });
    // On the host, beside the root: where a link followed the host's way would lead.
    const outside = join(b.dir, 'outside');
    ownedDir(b, outside);
    ownedDir(b, join(rootfs(b), 'mnt'));
    symlinkSync(`../../../../../../../../../..${outside}`, join(rootfs(b), 'mnt-link'));
    // The same path inside the root, where the link must lead.
    mkdirSync(join(rootfs(b), outside), { recursive: true });
    ownBundle(b);
    const before = mountPoints(hostMountinfo());
    const racer = spawn(inject('probe'), ['swap', join(rootfs(b), 'mnt'), join(rootfs(b), 'mnt-link')], { stdio: 'ignore' });
    let failed = 0;
    try {
      for (let i = 0; i < 30; i++) {
        const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
        // The race may hand the create a link where it made a directory: then it fails, clearly.
        if (r.code !== 0) expect(r.stderr.trim(), `run ${i}`).toMatch(/^tsrun: run: mount tmpfs on "\/mnt\/x": [^\n]+: E[A-Z]+$/);
        failed += r.code === 0 ? 0 : 1;
      }
    } finally {
      racer.kill('SIGKILL');
    }
    // The race did hand creates the link (a create failed on it, or followed it to the same path
    // inside the root), and never led anything outside.
    expect(failed > 0 || existsSync(join(rootfs(b), outside, 'x'))).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
    expect(mountPoints(hostMountinfo()).filter((p) => !before.includes(p))).toEqual([]);
    expect(readdirSync(b.root)).toEqual([]);
  });

  it('an image whose /dev is a link out of the root: the mounts stay inside; /proc or /sys a link: refused, nothing mounted', () => {
    const b = bundle(as, ['/probe', 'cat', '/proc/self/oom_score_adj'], (c) => {
      if (c.process) c.process.oomScoreAdj = 123;
    });
    // /dev points at the image's /etc (an absolute link, followed inside the root).
    mkdirSync(join(rootfs(b), 'etc'));
    rmSync(join(rootfs(b), 'dev'), { recursive: true, force: true });
    symlinkSync('/etc', join(rootfs(b), 'dev'));
    ownBundle(b);
    const before = mountPoints(hostMountinfo());
    const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('123'); // the real procfs took the write
    expect(mountPoints(hostMountinfo()).filter((p) => !before.includes(p))).toEqual([]);
    // procfs or sysfs anywhere but on their own directory would slip past the masked and read-only paths.
    for (const [dir, fakeName, link] of [
      ['proc', 'fakeproc', '/fakeproc'],
      ['sys', 'fakesys', '../../../../../../fakesys'],
    ] as const) {
      const linked = bundle(as, ['/probe', 'exit', '0']);
      const fake = join(rootfs(linked), fakeName);
      mkdirSync(join(fake, 'self'), { recursive: true });
      writeFileSync(join(fake, 'self', 'oom_score_adj'), 'untouched');
      rmSync(join(rootfs(linked), dir), { recursive: true, force: true });
      symlinkSync(link, join(rootfs(linked), dir));
      ownBundle(linked);
      const refused = tsrunIn(linked, ['run', '--bundle', linked.dir, uniqueId()]);
      expect(refused.code, dir).toBe(1);
      expect(refused.stderr.trim(), dir).toMatch(new RegExp(`/${dir} must be mounted on an ordinary directory: ELOOP$`));
      expect(readFileSync(join(fake, 'self', 'oom_score_adj'), 'utf8')).toBe('untouched');
      expect(mountPoints(hostMountinfo()).filter((p) => !before.includes(p))).toEqual([]);
    }
  });

  it('process.cwd through /proc/self/fd/N or up through .. reaches nothing of the host', () => {
    for (let n = 3; n <= 12; n++) {
      const b = bundle(as, ['/probe']);
      const config = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as Config;
      if (config.process) config.process.cwd = `/proc/self/fd/${n}`;
      writeFileSync(join(b.dir, 'config.json'), JSON.stringify(config));
      const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
      if (r.code === 0) {
        const cwd = (JSON.parse(r.stdout) as ProbeReport).cwd;
        expect(cwd, `fd ${n}`).not.toMatch(/^\(unreachable\)/);
        expect(cwd, `fd ${n}`).toMatch(/^\//);
      } else {
        // Refused when the missing directory would be made (a magic link), or when it is entered.
        expect(r.stderr.trim(), `fd ${n}`).toMatch(
          /^tsrun: run: (create the working directory "\/proc\/self\/fd\/\d+": (open|create) \/proc\/self\/fd\/\d+: E[A-Z]+|change to the working directory "\/proc\/self\/fd\/\d+": chdir \/proc\/self\/fd\/\d+: E[A-Z]+)$/,
        );
      }
    }
    // exec makes no directory: its chdir meets the same paths.
    const running = bundle(as, ['/probe', 'sleep', '30']);
    const id = uniqueId();
    expect(tsrunIn(running, ['run', '-d', '--bundle', running.dir, id]).code).toBe(0);
    for (let n = 3; n <= 12; n++) {
      const r = tsrunIn(running, ['exec', '--cwd', `/proc/self/fd/${n}`, id, '/probe']);
      if (r.code === 0) {
        const cwd = (JSON.parse(r.stdout) as ProbeReport).cwd;
        expect(cwd, `exec fd ${n}`).not.toMatch(/^\(unreachable\)/);
        expect(cwd, `exec fd ${n}`).toMatch(/^\//);
      } else expect(r.stderr.trim(), `exec fd ${n}`).toMatch(/change to the working directory "\/proc\/self\/fd\/\d+": chdir/);
    }
    expect(tsrunIn(running, ['delete', '--force', id]).code).toBe(0);
    // Up and out through ..: it stays at the container's /.
    const up = bundle(as, ['/probe'], (c) => {
      if (c.process) c.process.cwd = '/../../../../../..';
    });
    const r = tsrunIn(up, ['run', '--bundle', up.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ProbeReport).cwd).toBe('/');
  });

  it('the init is a sealed memfd until start: a container process cannot write it, then or after start', async () => {
    const b = bundle(as, ['/probe', 'sleep', '10']);
    const id = uniqueId();
    expect(tsrunIn(b, ['create', '--bundle', b.dir, id]).code).toBe(0);
    const pid = JSON.parse(tsrunIn(b, ['state', id]).stdout).pid as number;
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(/^\/memfd:tsrun-shim \(deleted\)$/);
    const now = tsrunIn(b, ['exec', id, '/probe', 'write', '/proc/1/exe', 'overwritten']);
    expect(now.code).toBe(1);
    expect(now.stdout.trim()).toMatch(/^E[A-Z]+$/);
    // CVE-2019-5736's way: hold the init's executable open, and write it once nothing runs it.
    const attacker = spawnTsrun(b, ['exec', id, '/probe', 'hold-exe', '1', 'overwritten']);
    for (let i = 0; i < 250 && attacker.out() === '' && attacker.child.exitCode === null; i++) await sleep(20);
    expect(tsrunIn(b, ['start', id]).code).toBe(0);
    await attacker.exited;
    // The attacker got hold of it; the seals refuse the write.
    expect(attacker.out()).toBe('held\nEPERM\n');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });
});

describe('concurrency', () => {
  it('20 concurrent creates of one id: exactly one wins, the others fail clearly', async () => {
    const b = bundle('root', ['/probe', 'sleep', '10']);
    const id = uniqueId();
    const results = await Promise.all(Array.from({ length: 20 }, () => tsrunAsync(b, ['create', '--bundle', b.dir, id])));
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of results.filter((r) => r.code !== 0))
      expect(r.stderr.trim()).toMatch(new RegExp(`^tsrun: create: container "${id}" already exists`));
    expect(JSON.parse(tsrunIn(b, ['state', id]).stdout).status).toBe('created');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('50 lifecycles in parallel, distinct ids: all succeed, nothing is left', async () => {
    const b = bundle('root', ['/probe', 'exit', '0']);
    const ids = Array.from({ length: 50 }, () => uniqueId('par'));
    const results = await Promise.all(ids.map((id) => tsrunAsync(b, ['run', '--bundle', b.dir, id])));
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    await sleep(100);
    expect(JSON.parse(tsrunIn(b, ['list', '--format', 'json']).stdout)).toEqual([]);
    expect(hostMountinfo()).not.toContain(b.dir);
    // Each container's cgroup (the default path, /tsrun/<id>) went with it, in every hierarchy.
    const left = readdirSync('/sys/fs/cgroup').flatMap((h) => ids.filter((id) => existsSync(`/sys/fs/cgroup/${h}/tsrun/${id}`)));
    expect(left).toEqual([]);
  });

  it('a create in progress holds its container: state says creating, delete waits for it, then refuses', async () => {
    // The prestart hook holds the create at its sync point for a second.
    const b = bundle('root', ['/probe', 'sleep', '10'], (c) => {
      c.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '1'] }] };
    });
    const id = uniqueId();
    const create = spawnTsrun(b, ['create', '--bundle', b.dir, id]);
    let status = '';
    for (let i = 0; i < 100 && status !== 'creating'; i++) {
      await sleep(10);
      const r = tsrunIn(b, ['state', id]);
      if (r.code === 0) status = JSON.parse(r.stdout).status;
    }
    expect(status).toBe('creating');
    expect(tsrunIn(b, ['delete', id]).stderr.trim()).toBe(
      `tsrun: delete: cannot delete container "${id}" that is created: stop it first, or use --force`,
    );
    expect(await create.exited, create.err()).toBe(0);
    expect(JSON.parse(tsrunIn(b, ['state', id]).stdout).status).toBe('created');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('concurrent state, kill and delete --force on one container: clear answers, a consistent end, nothing left', async () => {
    const b = bundle('root', ['/probe', 'sleep', '30']);
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    const pid = JSON.parse(tsrunIn(b, ['state', id]).stdout).pid as number;
    const ops = Array.from(
      { length: 30 },
      (_, i) =>
        [
          ['state', id],
          ['kill', id, 'TERM'],
          ['delete', '--force', id],
        ][i % 3] as string[],
    );
    const results = await Promise.all(ops.map((args) => tsrunAsync(b, args)));
    for (const r of results) {
      if (r.code === 0 && r.args[0] === 'state') expect(['running', 'stopped']).toContain(JSON.parse(r.stdout).status);
      if (r.code !== 0) expect(r.stderr.trim(), r.args.join(' ')).toMatch(/does not exist|container not running/);
    }
    expect(results.filter((r) => r.args[0] === 'delete' && r.code === 0).length).toBeGreaterThanOrEqual(1);
    expect(tsrunIn(b, ['state', id]).stderr).toContain('does not exist');
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  });

  it('a recorded pid now used by another process: kill and delete leave that process alone', async () => {
    const b = bundle('root', ['/probe', 'sleep', '30']);
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    // As if the init had died and its pid gone to someone else: the record names a process it did not start.
    const other = spawn('sleep', ['30']);
    const stateFile = join(b.root, id, 'state.json');
    const record = JSON.parse(readFileSync(stateFile, 'utf8'));
    const init = record.pid as number;
    writeFileSync(stateFile, JSON.stringify({ ...record, pid: other.pid }));
    expect(tsrunIn(b, ['kill', id, 'KILL']).stderr.trim()).toBe(`tsrun: kill: container "${id}" is stopped: container not running`);
    expect(tsrunIn(b, ['delete', id]).code).toBe(0);
    await sleep(100);
    expect(other.exitCode).toBe(null);
    expect(other.signalCode).toBe(null);
    other.kill('SIGKILL');
    // The real init went with its cgroup when delete cleared it.
    expect(existsSync(`/proc/${init}`) && !readFileSync(`/proc/${init}/stat`, 'utf8').includes(') Z ')).toBe(false);
  });
});
