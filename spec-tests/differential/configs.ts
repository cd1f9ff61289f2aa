/**
 * The differential test's base configs: the engines' fixture configs (../shared/fixtures/engine-configs,
 * adapted to this machine), and what `tsrun spec` and `runc spec` write (--rootless as the user).
 * Every base runs `/probe diff` without a terminal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { Config } from '../../src/spec/config.js';
import { asUser, type Identity, scratchDir } from '../support/tsrun.js';
import { BUNDLE, RUNC } from './harness.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'engine-configs');

export interface Base {
  name: string;
  config: Config;
  /** What was changed from the original to run here, one line each. */
  adaptations: string[];
}

/** The probe as the process, no terminal: both runtimes' spec defaults ask for one. */
function probeProcess(config: Config): void {
  config.process = { ...(config.process ?? { cwd: '/' }), terminal: false, args: ['/probe', 'diff'] };
}

/** `<runtime> spec [--rootless]` run by the identity in a scratch directory, as written. */
function specOf(bin: string, as: Identity): Config {
  const dir = scratchDir(as);
  try {
    const args = ['spec', ...(as === 'rootless' ? ['--rootless'] : [])];
    const [file, argv] = as === 'root' ? [bin, args] : ['setpriv', [...asUser(), bin, ...args]];
    const r = spawnSync(file, argv, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The user's subordinate range from /etc/subuid or /etc/subgid. */
export function subordinate(file: string): { start: number; count: number } {
  const user = inject('rootlessUser');
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user.name}:`) || l.startsWith(`${user.uid}:`));
  const [, start, count] = line?.split(':') ?? [];
  if (!start || !count) throw new Error(`no ${file} range for ${user.name}`);
  return { start: Number(start), count: Number(count) };
}

/**
 * An engine's config made runnable here by the rootless user: a user namespace with the user's own
 * ids mapped to 0 (what `spec --rootless` does), no resources (a rootless container gets no v1 cgroup),
 * no additional gid (setgroups is denied with a single-id map).
 */
function rootlessFixture(config: Config, adaptations: string[]): void {
  const user = inject('rootlessUser');
  const namespaces = (config.linux?.namespaces ?? []).filter((n) => n.type !== 'user');
  config.linux = {
    ...config.linux,
    resources: undefined,
    namespaces: [...namespaces, { type: 'user' }],
    uidMappings: [{ containerID: 0, hostID: user.uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: user.gid, size: 1 }],
  };
  if (config.process?.user) config.process.user = { ...config.process.user, additionalGids: undefined };
  // gid 5 (tty) is not mapped: devpts refuses gid=5 (EINVAL), in both runtimes.
  config.mounts = (config.mounts ?? []).map((m) =>
    m.type === 'devpts' ? { ...m, options: m.options?.filter((o) => !o.startsWith('gid=')) } : m,
  );
  adaptations.push('rootless: user namespace mapping the user to 0 (one id), linux.resources dropped, process.user.additionalGids dropped');
}

function fixture(file: string): Config {
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Config;
}

/** containerd 1.6 (ctr run): root.path is rootfs already; only the process and the cgroup path change. */
function containerd(as: Identity): Base {
  const config = fixture('containerd-1.6-config.json');
  const adaptations = [
    'process.args: /probe diff (was sleep 100000), terminal false',
    'linux.cgroupsPath: /tsrun-spec/diff-… as root, none rootless (runc fails on an unwritable v1 path)',
  ];
  probeProcess(config);
  if (as === 'rootless') rootlessFixture(config, adaptations);
  return { name: 'containerd-1.6 fixture', config, adaptations };
}

/** Docker 20.10: its rootfs, hook and bind sources are paths of the engine that captured it. */
function docker(as: Identity): Base {
  const config = fixture('docker-20.10-config.json');
  const adaptations = [
    "root.path: the bundle's rootfs (was /var/lib/docker/overlay2/…/merged)",
    'process.args: /probe diff (was echo hello), terminal false',
    'hooks.prestart dropped (libnetwork-setkey through /proc/28788/exe, a process of the capturing dockerd)',
    "mounts /etc/resolv.conf, /etc/hostname, /etc/hosts: source is the bundle's share/file (was under /var/lib/docker/containers/…)",
    'linux.cgroupsPath: /tsrun-spec/diff-… as root, none rootless (runc fails on an unwritable v1 path)',
  ];
  config.root = { path: 'rootfs' };
  probeProcess(config);
  config.hooks = undefined;
  config.mounts = (config.mounts ?? []).map((m) =>
    m.source?.startsWith('/var/lib/docker/') ? { ...m, source: `${BUNDLE}/share/file` } : m,
  );
  if (as === 'rootless') rootlessFixture(config, adaptations);
  return { name: 'docker-20.10 fixture', config, adaptations };
}

function spec(rt: 'tsrun' | 'runc', as: Identity): Base {
  const config = specOf(rt === 'runc' ? RUNC : inject('tsrunBin'), as);
  probeProcess(config);
  return {
    name: `${rt} spec${as === 'rootless' ? ' --rootless' : ''}`,
    config,
    adaptations: [
      'process.args: /probe diff, terminal false',
      'linux.cgroupsPath: /tsrun-spec/diff-… as root, none rootless (runc fails on an unwritable v1 path)',
    ],
  };
}

/** The bases for an identity. */
export function bases(as: Identity): Base[] {
  if (!existsSync(FIXTURES)) throw new Error(`${FIXTURES} is missing (the engine fixture configs)`);
  return [spec('tsrun', as), spec('runc', as), containerd(as), docker(as)];
}
