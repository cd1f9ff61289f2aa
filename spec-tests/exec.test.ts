import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../src/linux/capabilities.js';
import type { Config } from '../src/spec/config.js';
import { makeBundle, type ProbeReport, spawnTsrun, type TestBundle, tsrunIn, uniqueId } from './support/containers.js';
import { type Identity, identities } from './support/tsrun.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const has = (hex: string, cap: string) => (BigInt(`0x${hex}`) >> BigInt(CAPABILITIES[cap] ?? 99)) & 1n;

/** A long-running container (detached), and a way to exec in it. */
function running(as: Identity, edit: (c: Config) => void = () => {}) {
  const b = makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '60'], env: ['PATH=/bin', 'FROM_CONFIG=1', 'SHARED=config'] };
    edit(c);
  });
  const id = uniqueId();
  const r = tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]);
  expect(r.code, r.stderr).toBe(0);
  const initPid = JSON.parse(tsrunIn(b, ['state', id]).stdout).pid as number;
  return { b, id, initPid };
}

const report = (b: TestBundle, args: string[]) => {
  const r = tsrunIn(b, ['exec', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ProbeReport;
};

describe.each(identities)('exec, as %s', (as) => {
  it("runs in the container's namespaces, with its config's process settings and the command line's changes", () => {
    const { b, id, initPid } = running(as);
    const r = report(b, ['--env', 'SHARED=cli', '-e', 'EXTRA=2', '--cwd', '/dev', id, '/probe']);
    for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup'] as const) {
      expect(r.ns[ns], ns).toBe(readlinkSync(`/proc/${initPid}/ns/${ns}`));
    }
    expect(r.pid).toBeGreaterThan(1); // the init is 1 in the container's pid namespace
    expect(r.hostname).toBe('tsrun-test');
    expect(r.cwd).toBe('/dev');
    expect(r.env).toEqual(['PATH=/bin', 'FROM_CONFIG=1', 'SHARED=cli', 'EXTRA=2', 'HOME=/']);
    expect(r.fds).toEqual([0, 1, 2]);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it("returns the exit status; a missing program or directory is one clear error, and tsrun's own failure exits 255 (runc)", () => {
    const { b, id } = running(as);
    expect(tsrunIn(b, ['exec', id, '/probe', 'exit', '7']).code).toBe(7);
    const missing = tsrunIn(b, ['exec', id, '/nope']);
    expect(missing.code).toBe(255);
    expect(missing.stderr.trim()).toBe('tsrun: exec: find the executable "/nope": exec /nope: ENOENT');
    const cwd = tsrunIn(b, ['exec', '--cwd', '/nope', id, '/probe']);
    expect(cwd.stderr.trim()).toBe('tsrun: exec: change to the working directory "/nope": chdir /nope: ENOENT');
    expect(cwd.code).toBe(255);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('--preserve-fds naming fds tsrun was not given: one error line naming the fd, and nothing runs or is made', () => {
    const { b, id } = running(as);
    // tsrunIn passes stdio only: fds 3 and up are not the caller's.
    const r = tsrunIn(b, ['exec', '--preserve-fds', '3', id, '/probe', 'exit', '0']);
    expect(r.code).toBe(255);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^tsrun: exec: --preserve-fds 3: file descriptor 3 \(of 3 to 5\) cannot be passed to the container: .*open fds 3 to 5/,
    );
    const other = uniqueId();
    const run = tsrunIn(b, ['run', '--preserve-fds', '2', '--bundle', b.dir, other]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tsrun: run: --preserve-fds 2: file descriptor 3 \(of 3 to 4\) cannot be passed to the container: [^\n]*\n$/,
    );
    expect(existsSync(join(b.root, other))).toBe(false);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('--cap (never inheritable or ambient) and --process JSON', () => {
    const { b, id } = running(as);
    const capped = report(b, ['--cap', 'CAP_SYS_PTRACE', id, '/probe']);
    for (const set of [capped.CapEff, capped.CapPrm, capped.CapBnd]) expect(has(set, 'CAP_SYS_PTRACE')).toBe(1n);
    expect(capped.CapInh).toBe('0000000000000000');
    expect(capped.CapAmb).toBe('0000000000000000');
    const processFile = join(b.dir, 'process.json');
    writeFileSync(processFile, JSON.stringify({ cwd: '/', args: ['/probe'], env: ['ONLY=this'], user: { uid: 0, gid: 0 } }));
    expect(report(b, ['--process', processFile, id]).env).toEqual(['ONLY=this', 'HOME=/']);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('detached with a pid file; the process is in the container and counts for ps', () => {
    const { b, id } = running(as);
    const pidFile = join(b.dir, 'exec.pid');
    expect(tsrunIn(b, ['exec', '-d', '--pid-file', pidFile, id, '/probe', 'sleep', '30']).code).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(JSON.parse(tsrunIn(b, ['ps', '--format', 'json', id]).stdout)).toContain(pid);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it("the container's seccomp profile holds for exec'd processes too", () => {
    const { b, id } = running(as, (c) => {
      c.linux = {
        ...c.linux,
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] },
      };
    });
    const r = tsrunIn(b, ['exec', id, '/probe', 'personality', '8']);
    expect(r.stdout.trim()).toBe('EPERM');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('signals reach a foreground exec; exec into a stopped container fails clearly', async () => {
    const { b, id } = running(as);
    const fg = spawnTsrun(b, ['exec', id, '/probe', 'wait-signal']);
    await sleep(500);
    fg.child.kill('SIGUSR1');
    expect(await fg.exited).toBe(0);
    expect(fg.out()).toContain('got signal 10'); // SIGUSR1
    expect(tsrunIn(b, ['kill', id, 'KILL']).code).toBe(0);
    await sleep(100);
    const r = tsrunIn(b, ['exec', id, '/probe']);
    expect(r.code).toBe(255);
    expect(r.stderr.trim()).toBe(`tsrun: exec: cannot exec in a stopped container "${id}": container not running`);
    expect(tsrunIn(b, ['delete', id]).code).toBe(0);
  });
});

describe('exec, as root: users, sub-cgroups and paused containers', () => {
  it('--cgroup puts the process in an existing sub-cgroup of the container', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const { b, id } = running('root', (c) => {
      c.linux = { ...c.linux, cgroupsPath: path };
    });
    // The sub-cgroup, made in every hierarchy the container is in.
    for (const h of readdirSync('/sys/fs/cgroup')) {
      if (existsSync(`/sys/fs/cgroup/${h}${path}`)) mkdirSync(`/sys/fs/cgroup/${h}${path}/sub`);
    }
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      writeFileSync(`/sys/fs/cgroup/cpuset${path}/sub/${f}`, readFileSync(`/sys/fs/cgroup/cpuset${path}/${f}`, 'utf8').trim());
    }
    const pidFile = join(b.dir, 'sub.pid');
    const missing = tsrunIn(b, ['exec', '-d', '--cgroup', 'nope', id, '/probe', 'sleep', '30']);
    expect(missing.code).toBe(255);
    expect(missing.stderr).toContain(`${path}/nope/cgroup.procs`);
    const r = tsrunIn(b, ['exec', '-d', '--pid-file', pidFile, '--cgroup', 'sub', id, '/probe', 'sleep', '30']);
    expect(r.code, r.stderr).toBe(0);
    const cgroups = readFileSync(`/proc/${readFileSync(pidFile, 'utf8')}/cgroup`, 'utf8');
    expect(cgroups).toContain(`:pids:${path}/sub\n`);
    expect(cgroups).toContain(`:memory:${path}/sub\n`);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('--user and --additional-gids switch ids (a non-root user keeps no capabilities)', () => {
    const { b, id } = running('root');
    const user = report(b, ['-u', '1000:1000', '-g', '44', id, '/probe']);
    expect([user.uid, user.gid, user.groups]).toEqual([1000, 1000, [44]]);
    expect(user.CapEff).toBe('0000000000000000');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('refuses a paused container unless --ignore-paused', () => {
    const { b, id } = running('root');
    expect(tsrunIn(b, ['pause', id]).code).toBe(0);
    const r = tsrunIn(b, ['exec', id, '/probe', 'exit', '0']);
    expect(r.code).toBe(255);
    // Engines look for runc's words.
    expect(r.stderr.trim()).toBe(`tsrun: exec: cannot exec in a paused container "${id}": resume it first, or use --ignore-paused`);
    expect(tsrunIn(b, ['resume', id]).code).toBe(0);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });
});
