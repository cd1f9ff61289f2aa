/**
 * The engines from Debian's packages (containerd, podman with conmon, the Docker engine), each
 * started with private state directories and sockets and pointed at the copied dist/tsrun.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { asUser, type Identity } from '../support/tsrun.js';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function run(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Ran {
  const [file, ...args] = argv as [string, ...string[]];
  const r = spawnSync(file, args, { encoding: 'utf8', input: opts.input, env: opts.env, cwd: opts.cwd, timeout: opts.timeout ?? 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function waitFor(path: string, what: string, log: () => string): Promise<void> {
  for (let i = 0; i < 300 && !existsSync(path); i++) await sleep(50);
  if (!existsSync(path)) throw new Error(`${what} did not start: ${log()}`);
}

export interface Daemon {
  socket: string;
  stop(): Promise<void>;
}

async function daemon(argv: string[], socket: string, what: string): Promise<Daemon> {
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  await waitFor(socket, what, () => log);
  return {
    socket,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** containerd with its own root, state and socket under dir (the CRI plugin off). */
export async function startContainerd(dir: string): Promise<Daemon> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${join(dir, 'containerd.sock')}"`,
      '',
    ].join('\n'),
  );
  return daemon(['containerd', '-c', config], join(dir, 'containerd.sock'), 'containerd');
}

/** dockerd with a private data root and socket, on the given containerd, with tsrun added as a runtime. */
export async function startDockerd(dir: string, containerd: string): Promise<Daemon> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  return daemon(
    [
      'dockerd',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '-H',
      `unix://${socket}`,
      '--containerd',
      containerd,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver',
      'vfs',
      '--add-runtime',
      `tsrun=${inject('tsrunBin')}`,
      // This host's root lacks CAP_SYS_RESOURCE: an engine's default ulimits above the current hard ones fail (with runc too).
      '--default-ulimit',
      'nofile=1024:1024',
      '--default-ulimit',
      'nproc=4096:4096',
    ],
    socket,
    'dockerd',
  );
}

/**
 * podman's configuration for tsrun (README "Engines"): tsrun as the default runtime, in
 * runtime_supports_json so conmon passes --log-format=json --log, cgroupfs, and ulimits this host allows.
 */
export function podmanConfig(dir: string, owner?: { uid: number; gid: number }): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'containers.conf');
  writeFileSync(
    file,
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
      '[engine]',
      'runtime = "tsrun"',
      'runtime_supports_json = ["tsrun"]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '[engine.runtimes]',
      `tsrun = ["${inject('tsrunBin')}"]`,
      '',
    ].join('\n'),
  );
  if (owner) for (const p of [dir, file]) chownSync(p, owner.uid, owner.gid);
  return file;
}

/** The podman command line for an identity, its storage under dir. */
export function podman(as: Identity, dir: string, conf: string): { argv: string[]; env: NodeJS.ProcessEnv } {
  const storage = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  if (as === 'root') return { argv: ['podman', ...storage], env: { ...process.env, CONTAINERS_CONF: conf } };
  const user = inject('rootlessUser');
  // setpriv's env -i keeps only what asUser() sets: CONTAINERS_CONF is passed on the env command line.
  const prefix = asUser();
  const envAt = prefix.indexOf('env');
  return {
    argv: ['setpriv', ...prefix.slice(0, envAt + 2), `CONTAINERS_CONF=${conf}`, ...prefix.slice(envAt + 2), 'podman', ...storage],
    env: { ...process.env, HOME: user.home },
  };
}
