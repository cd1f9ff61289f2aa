/**
 * tsrun as the runtime of the real engines (Debian's containerd, podman + conmon, Docker), each on
 * private state and sockets, running an image built from the project's probe.
 */
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ProbeReport } from '../support/containers.js';
import { inTerminal } from '../support/host-tools.js';
import { type Daemon, podman, podmanConfig, run, startContainerd, startDockerd } from './engines.js';
import { buildProbeImage, IMAGE_NAME, USER_IMAGE_NAME } from './image.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let work: string;
let image: string;

beforeAll(() => {
  work = mkdtempSync(join(inject('workDir'), 'engines-'));
  chmodSync(work, 0o755); // the unprivileged user's podman reads the image here
  image = join(work, 'probe-image.tar');
  buildProbeImage(inject('probe'), image);
  chmodSync(image, 0o644);
});

const ok = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe('containerd (ctr) with tsrun as the runc binary', () => {
  let containerd: Daemon;
  let ctr: (...args: string[]) => ReturnType<typeof run>;
  const runArgs = () => ['--snapshotter', 'native', '--runc-binary', inject('tsrunBin')];

  beforeAll(async () => {
    containerd = await startContainerd(join(work, 'containerd'));
    ctr = (...args) => run(['ctr', '-a', containerd.socket, '-n', 'tsrun-test', ...args]);
    ok(ctr('images', 'import', '--snapshotter', 'native', image));
  }, 60_000);
  afterAll(async () => containerd?.stop());

  it('runs a command: its output, its exit code, env, cwd and user', () => {
    expect(ok(ctr('run', '--rm', ...runArgs(), IMAGE_NAME, 'c1', '/probe', 'write', '/dev/stdout', 'hello'))).toBe('hello');
    expect(ctr('run', '--rm', ...runArgs(), IMAGE_NAME, 'c2', '/probe', 'exit', '5').code).toBe(5);
    const r = JSON.parse(
      ok(ctr('run', '--rm', ...runArgs(), '--env', 'FOO=bar', '--cwd', '/tmp', IMAGE_NAME, 'c3', '/probe')),
    ) as ProbeReport;
    expect(r.env).toContain('FOO=bar');
    expect(r.cwd).toBe('/tmp');
    expect(r.pid).toBe(1);
    // ctr 1.6 has no user flag: the user comes from the image's config.
    const u = JSON.parse(ok(ctr('run', '--rm', ...runArgs(), USER_IMAGE_NAME, 'c4', '/probe'))) as ProbeReport;
    expect([u.uid, u.gid]).toEqual([1000, 1000]);
  });

  it('a long-running task: exec, ps, pause/resume, a memory limit, kill and delete', async () => {
    ok(ctr('run', '-d', ...runArgs(), '--memory-limit', String(48 << 20), IMAGE_NAME, 'lr', '/probe', 'sleep', '60'));
    expect(ok(ctr('task', 'exec', '--exec-id', 'e1', 'lr', '/probe', 'write', '/dev/stdout', 'exec-ok'))).toBe('exec-ok');
    const pid = Number(ok(ctr('task', 'ls')).match(/^lr\s+(\d+)\s+RUNNING/m)?.[1]);
    expect(ok(ctr('task', 'ps', 'lr'))).toContain(String(pid));
    const memory = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/:memory:(.*)$/m)?.[1];
    expect(readFileSync(`/sys/fs/cgroup/memory${memory}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(48 << 20));
    ok(ctr('task', 'pause', 'lr'));
    expect(ok(ctr('task', 'ls'))).toMatch(/^lr\s+\d+\s+PAUSED/m);
    ok(ctr('task', 'resume', 'lr'));
    expect(ok(ctr('task', 'ls'))).toMatch(/^lr\s+\d+\s+RUNNING/m);
    ok(ctr('task', 'kill', '-s', 'KILL', 'lr'));
    for (let i = 0; i < 100 && !/^lr\s+\d+\s+STOPPED/m.test(ctr('task', 'ls').stdout); i++) await sleep(50);
    expect(ok(ctr('task', 'ls'))).toMatch(/^lr\s+\d+\s+STOPPED/m);
    ok(ctr('task', 'delete', 'lr'));
    ok(ctr('container', 'delete', 'lr'));
  });

  it('--tty: the task gets a terminal through the console socket', async () => {
    const cmd = ['ctr', '-a', containerd.socket, '-n', 'tsrun-test', 'run', '--rm', '-t', ...runArgs(), IMAGE_NAME, 'tty', '/probe', 'tty'];
    const r = await inTerminal(cmd);
    expect(JSON.parse(r.out.trim())).toMatchObject({ isatty: 1, ctty: 1, leader: 1, console: 1 });
  });
});

describe.each(['root', 'rootless'] as const)('podman as %s, with tsrun as its runtime', (as) => {
  let p: ReturnType<typeof podman>;
  const dirs: string[] = [];
  afterAll(() => {
    pm('system', 'reset', '--force');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const pm = (...args: string[]) => run([...p.argv, ...args], { env: p.env });
  const user = () => inject('rootlessUser');

  beforeAll(() => {
    // podman wants its runroot path short (at most 50 characters).
    const dir = mkdtempSync('/tmp/tsrun-pm-');
    if (as === 'rootless') chownSync(dir, user().uid, user().gid);
    dirs.push(dir);
    p = podman(as, dir, podmanConfig(join(dir, 'conf'), as === 'rootless' ? user() : undefined));
    ok(pm('load', '-i', image));
  }, 120_000);

  it('run --rm: output, exit codes, stdin (-i), --user, --read-only', () => {
    expect(ok(pm('run', '--rm', '--net', 'none', IMAGE_NAME, '/probe', 'write', '/dev/stdout', 'hi'))).toBe('hi');
    expect(pm('run', '--rm', '--net', 'none', IMAGE_NAME, '/probe', 'exit', '4').code).toBe(4);
    expect(
      run([...p.argv, 'run', '--rm', '-i', '--net', 'none', IMAGE_NAME, '/probe', 'cat', '/dev/stdin'], {
        env: p.env,
        input: 'from-stdin\n',
      }).stdout,
    ).toBe('from-stdin\n');
    const r = JSON.parse(ok(pm('run', '--rm', '--net', 'none', '--user', '1000:1000', '--read-only', IMAGE_NAME, '/probe'))) as ProbeReport;
    expect([r.uid, r.gid]).toEqual([1000, 1000]);
    expect(r.mountinfo.split('\n')[0]?.split(' ')[5]?.split(',')).toContain('ro');
  });

  it('-v bind mounts (owned by the user when rootless), --cap-drop=all, the default seccomp profile', () => {
    const vol = mkdtempSync(join(as === 'root' ? work : user().home, 'vol-'));
    writeFileSync(join(vol, 'f'), 'in-volume');
    if (as === 'rootless') for (const f of [vol, join(vol, 'f')]) chownSync(f, user().uid, user().gid);
    expect(ok(pm('run', '--rm', '--net', 'none', '-v', `${vol}:/data`, IMAGE_NAME, '/probe', 'cat', '/data/f'))).toBe('in-volume');
    const owner = JSON.parse(ok(pm('run', '--rm', '--net', 'none', '-v', `${vol}:/data`, IMAGE_NAME, '/probe', 'stat', '/data/f')));
    expect(owner['/data/f'].uid).toBe(0); // root in the container: the user itself when rootless
    const caps = JSON.parse(ok(pm('run', '--rm', '--net', 'none', '--cap-drop=all', IMAGE_NAME, '/probe'))) as ProbeReport;
    expect([caps.CapEff, caps.CapPrm, caps.CapBnd]).toEqual(['0000000000000000', '0000000000000000', '0000000000000000']);
    expect(caps.Seccomp).toBe('2');
    // personality(2) with a persona the default profile does not list is refused.
    expect(pm('run', '--rm', '--net', 'none', IMAGE_NAME, '/probe', 'personality', '0x1234').stdout.trim()).toMatch(/^E/);
  });

  it('detached: exec, stop and rm', () => {
    const name = `lr-${as}`;
    ok(pm('run', '-d', '--name', name, '--net', 'none', IMAGE_NAME, '/probe', 'sleep', '60'));
    expect(ok(pm('exec', name, '/probe', 'write', '/dev/stdout', 'exec-ok'))).toBe('exec-ok');
    ok(pm('stop', '-t', '1', name));
    ok(pm('rm', name));
    expect(pm('ps', '-a', '--format', '{{.Names}}').stdout).not.toContain(name);
  });

  it('-t: a terminal', async () => {
    const r = await inTerminal([...p.argv, 'run', '--rm', '-t', '--net', 'none', IMAGE_NAME, '/probe', 'tty'], { env: p.env });
    expect(JSON.parse(r.out.trim())).toMatchObject({ isatty: 1, ctty: 1, leader: 1 });
  });

  if (as === 'rootless') {
    it('--userns=keep-id: the user’s own uid inside', () => {
      const r = JSON.parse(ok(pm('run', '--rm', '--net', 'none', '--userns=keep-id', IMAGE_NAME, '/probe'))) as ProbeReport;
      expect(r.uid).toBe(user().uid);
    });
  } else {
    it('pause/unpause, --memory and --pids-limit', async () => {
      ok(pm('run', '-d', '--name', 'lim', '--net', 'none', '--memory', '64m', '--pids-limit', '20', IMAGE_NAME, '/probe', 'sleep', '60'));
      const pid = Number(ok(pm('inspect', '--format', '{{.State.Pid}}', 'lim')).trim());
      const cg = (ctrl: string) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(new RegExp(`:${ctrl}:(.*)$`, 'm'))?.[1];
      expect(readFileSync(`/sys/fs/cgroup/memory${cg('memory')}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(64 << 20));
      expect(readFileSync(`/sys/fs/cgroup/pids${cg('pids')}/pids.max`, 'utf8').trim()).toBe('20');
      ok(pm('pause', 'lim'));
      expect(ok(pm('inspect', '--format', '{{.State.Status}}', 'lim')).trim()).toBe('paused');
      ok(pm('unpause', 'lim'));
      expect(ok(pm('inspect', '--format', '{{.State.Status}}', 'lim')).trim()).toBe('running');
      ok(pm('rm', '-f', '-t', '0', 'lim'));
    });
  }
});

describe('Docker engine with tsrun added as a runtime', () => {
  let containerd: Daemon;
  let dockerd: Daemon;
  let docker: (...args: string[]) => ReturnType<typeof run>;

  beforeAll(async () => {
    containerd = await startContainerd(join(work, 'docker-containerd'));
    dockerd = await startDockerd(join(work, 'docker'), containerd.socket);
    docker = (...args) => run(['docker', '-H', `unix://${dockerd.socket}`, ...args]);
    ok(docker('load', '-i', image));
  }, 120_000);
  afterAll(async () => {
    await dockerd?.stop();
    await containerd?.stop();
  });

  it('run --rm: output and exit codes', () => {
    expect(
      ok(docker('run', '--runtime', 'tsrun', '--rm', '--network', 'none', 'tsrun-probe', '/probe', 'write', '/dev/stdout', 'hi')),
    ).toBe('hi');
    expect(docker('run', '--runtime', 'tsrun', '--rm', '--network', 'none', 'tsrun-probe', '/probe', 'exit', '6').code).toBe(6);
  });

  it('detached: exec and stop', () => {
    ok(docker('run', '--runtime', 'tsrun', '-d', '--name', 'dl', '--network', 'none', 'tsrun-probe', '/probe', 'sleep', '60'));
    expect(ok(docker('exec', 'dl', '/probe', 'write', '/dev/stdout', 'exec-ok'))).toBe('exec-ok');
    ok(docker('stop', '-t', '1', 'dl'));
    expect(ok(docker('inspect', '--format', '{{.State.Status}}', 'dl')).trim()).toBe('exited');
    ok(docker('rm', 'dl'));
  });
});
