/**
 * Compiles a validated config into the shim's two plans: the host side (join namespaces, clone
 * the container process) and the container side (everything up to exec). Every decision about
 * what happens, in which order, with which values, is made here.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statfsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { type CgroupMount, cgroupMode, cgroupMounts, ownCgroupPath } from '../cgroups/detect.js';
import { UserError } from '../cli/errors.js';
import { hookEnv } from '../hooks/env.js';
import { type CapabilitySet, capabilitySets, lastCap } from '../linux/capabilities.js';
import { DEFAULT_DEVICES } from '../linux/default-devices.js';
import { BIND_REMOUNT_FLAGS, MS, parseMountOptions, recursiveAttrsOf } from '../linux/mount-options.js';
import { JOIN_ORDER, NAMESPACES } from '../linux/namespaces.js';
import { RLIMITS } from '../linux/rlimits.js';
import { inInitialUserNamespace } from '../linux/rootless.js';
import { compileSeccomp } from '../seccomp/compile.js';
import { checkKernelSupport } from '../seccomp/kernel.js';
import type { Config, Hook, Mount, NamespaceType, Process } from '../spec/config.js';
import { dedupeEnv } from '../spec/env.js';
import { ChdirMode, CreateMode, Existing, ParentMode, PivotMode, type PlanStep, SocketSlot, steps } from './encode.js';

const PROC_SUPER_MAGIC = 0x9fa0n;
/** A write to a procfs file, refused when anything is mounted over it or over a directory on its way. */
const procWrite = (below: string, content: string, what: string) => steps.writeFile('/proc', below, content, PROC_SUPER_MAGIC, what);
const NSFS_MAGIC = 0x6e736673;

export interface PlanInput {
  config: Config;
  bundleDir: string;
  rootfs: string;
  rootless: boolean;
  noPivot: boolean;
  execFifo: string;
  preserveFds: number;
  /** run in the foreground: the shim stays as the container process's parent and relays. */
  relay: boolean;
  /** The container's session keyring (runc's name for it: _ses.<id>); undefined with --no-new-keyring. */
  sessionKeyring?: string;
  /** --console-socket: where the pty master of a process with a terminal goes (else the relay takes it). */
  consoleSocket?: string;
  /** --pidfd-socket: where a pidfd of the container process goes. */
  pidfdSocket?: string;
  /** The container's cgroup (the same path in every hierarchy); undefined when it has none of its own. */
  cgroupPath?: string;
  /** A cgroup v2 device program to attach to the container's cgroup before it starts. */
  deviceFilter?: { cgroupDir: string; program: Uint8Array };
  warn: (msg: string) => void;
}

export interface Plans {
  host: PlanStep[];
  container: (hookState: (status: 'creating' | 'created') => string) => PlanStep[];
  /** Namespaces the container gets new (not joined by path). */
  newNamespaces: Set<NamespaceType>;
}

const HOST_CGROUP_ROOT = '/sys/fs/cgroup';

const DEV_SYMLINKS: readonly [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** The ipc namespace's sysctls (besides fs.mqueue.*); net.* belong to the network namespace, kernel.{host,domain}name to uts. */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

function sameFile(a: string, b: string): boolean {
  const [x, y] = [statSync(a), statSync(b)];
  return x.dev === y.dev && x.ino === y.ino;
}

/** The namespace a sysctl belongs to; undefined when it is the host's alone. */
function sysctlNamespace(key: string): NamespaceType | undefined {
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'network';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  return undefined;
}

/**
 * Every sysctl must belong to a namespace the container has apart from tsrun's own: else its
 * write would change the host.
 */
function checkSysctls(config: Config, namespaces: Map<NamespaceType, string | undefined>): void {
  for (const key of Object.keys(config.linux?.sysctl ?? {})) {
    const where = `config.json: linux.sysctl "${key}"`;
    const type = sysctlNamespace(key);
    if (type === undefined) throw new UserError(`${where} is not namespaced: setting it would change the host`);
    // The uts names have fields of their own: kernel.hostname is always refused (runc's rule), kernel.domainname beside "domainname".
    const field =
      key === 'kernel.hostname' ? 'hostname' : key === 'kernel.domainname' && config.domainname !== undefined ? 'domainname' : undefined;
    if (field !== undefined) throw new UserError(`${where} conflicts with the "${field}" field: set the name there, not as a sysctl`);
    if (!namespaces.has(type))
      throw new UserError(
        `${where} needs ${type === 'ipc' ? 'an' : 'a'} ${type} namespace of the container's own (add {"type": "${type}"})`,
      );
    const path = namespaces.get(type);
    if (path !== undefined && sameFile(path, `/proc/self/ns/${NAMESPACES[type].file}`)) {
      throw new UserError(`${where}: ${path} is tsrun's own ${type} namespace, so setting it would change the host`);
    }
  }
}

function checkNamespaces(config: Config, rootless: boolean): Map<NamespaceType, string | undefined> {
  const namespaces = new Map<NamespaceType, string | undefined>();
  for (const [i, ns] of (config.linux?.namespaces ?? []).entries()) {
    if (namespaces.has(ns.type)) throw new UserError(`config.json: linux.namespaces[${i}]: namespace "${ns.type}" is listed twice`);
    if (ns.path !== undefined) {
      if (!isAbsolute(ns.path)) throw new UserError(`config.json: linux.namespaces[${i}].path: "${ns.path}" is not an absolute path`);
      let magic: number;
      try {
        magic = statfsSync(ns.path).type;
      } catch (err) {
        throw new UserError(`config.json: linux.namespaces[${i}].path: ${ns.path}: ${(err as NodeJS.ErrnoException).code}`);
      }
      if (magic !== NSFS_MAGIC) throw new UserError(`config.json: linux.namespaces[${i}].path: ${ns.path} is not a namespace file`);
    }
    namespaces.set(ns.type, ns.path);
  }
  const has = (t: NamespaceType) => namespaces.has(t);
  if (config.hostname !== undefined && config.hostname !== '' && !has('uts')) {
    throw new UserError('config.json: hostname is set but there is no uts namespace to set it in (add {"type": "uts"})');
  }
  if (config.domainname !== undefined && config.domainname !== '' && !has('uts')) {
    throw new UserError('config.json: domainname is set but there is no uts namespace to set it in (add {"type": "uts"})');
  }
  checkSysctls(config, namespaces);
  const maps = (config.linux?.uidMappings?.length ?? 0) + (config.linux?.gidMappings?.length ?? 0);
  if (maps > 0 && !has('user'))
    throw new UserError('config.json: linux.uidMappings/gidMappings need a user namespace (add {"type": "user"})');
  if (has('user') && namespaces.get('user') === undefined) {
    if (!config.linux?.uidMappings?.length || !config.linux?.gidMappings?.length) {
      throw new UserError('config.json: a new user namespace needs linux.uidMappings and linux.gidMappings');
    }
  }
  // An unprivileged user can make the other namespaces only inside a user namespace of its own. (Root
  // inside a user namespace, as rootless podman runs its runtime, already is in one.)
  if (rootless && !has('user') && process.geteuid?.() !== 0) {
    throw new UserError('rootless: the config needs a user namespace with the caller mapped (tsrun spec --rootless writes one)');
  }
  if (!has('mount')) {
    // Without its own mount namespace these would change the host itself.
    const hostWide: [string, boolean][] = [
      ['linux.sysctl', Object.keys(config.linux?.sysctl ?? {}).length > 0],
      ['linux.maskedPaths', (config.linux?.maskedPaths?.length ?? 0) > 0],
      ['linux.readonlyPaths', (config.linux?.readonlyPaths?.length ?? 0) > 0],
      ['root.readonly', config.root?.readonly === true],
    ];
    // An unprivileged user cannot mount in the host's mount namespace at all.
    if (rootless) hostWide.push(['mounts', (config.mounts?.length ?? 0) > 0]);
    for (const [field, set] of hostWide) {
      if (set) throw new UserError(`config.json: ${field} needs a mount namespace of the container's own (add {"type": "mount"})`);
    }
  }
  if (config.process?.apparmorProfile && readFirstLine('/sys/module/apparmor/parameters/enabled') !== 'Y') {
    throw new UserError('config.json: process.apparmorProfile is set, and AppArmor is not enabled on this host');
  }
  if ((config.process?.selinuxLabel || config.linux?.mountLabel) && !existsSync('/sys/fs/selinux/enforce')) {
    throw new UserError(
      'config.json: an SELinux label is set (process.selinuxLabel or linux.mountLabel), and SELinux is not enabled on this host',
    );
  }
  return namespaces;
}

function readFirstLine(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').split('\n')[0];
  } catch {
    return undefined;
  }
}

/** The host mount that holds path (from /proc/self/mountinfo): its mount point and flags. */
function hostMountOf(path: string): { point: string; flags: bigint } {
  let best = { point: '/', flags: 0n };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const point = fields[4];
    if (point === undefined) continue;
    if ((path === point || path.startsWith(point === '/' ? '/' : `${point}/`)) && point.length >= best.point.length) {
      best = { point, flags: parseMountOptions((fields[5] ?? '').split(',')).flags };
    }
  }
  return best;
}

const hostMountFlags = (path: string) => hostMountOf(path).flags;

/**
 * The host's whole procfs and sysfs mounts outside the root, deepest first. Without pivot_root they
 * stay in the container's mount namespace below its moved root, and a fully visible procfs there
 * would let a process of the container mount a fresh, unmasked one (the kernel allows it then).
 */
function hostProcAndSysfs(rootfs: string): string[] {
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    const fields = (left ?? '').split(' ');
    const fstype = (right ?? '').split(' ')[0];
    const point = fields[4];
    if (point === undefined || fields[3] !== '/' || (fstype !== 'proc' && fstype !== 'sysfs')) continue;
    if (point === rootfs || point.startsWith(`${rootfs}/`)) continue;
    points.push(point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
  }
  return points.sort((a, b) => b.length - a.length);
}

function containerPath(dest: string, where: string): string {
  if (!dest.startsWith('/')) throw new UserError(`config.json: ${where}: "${dest}" is not an absolute path in the container`);
  return dest;
}

const triples = (maps: readonly { containerID: number; hostID: number; size: number }[]) =>
  maps.flatMap((x) => [x.containerID, x.hostID, x.size]);

/**
 * Host-side steps copying the config's bind sources (detached trees) with the runtime's rights,
 * before any namespace is joined: inside a user namespace its root may not reach them (a directory
 * only the host's root may search). Returns each mount's source index, by mount index.
 */
function bindSourceSteps(config: Config, input: PlanInput, host: PlanStep[], idmapped: Map<number, unknown>): Map<number, number> {
  const indexes = new Map<number, number>();
  for (const [i, m] of (config.mounts ?? []).entries()) {
    const { flags } = parseMountOptions(m.options);
    const abs = resolve(input.bundleDir, m.source ?? '');
    if ((m.type !== 'bind' && (flags & MS.BIND) === 0n) || idmapped.has(i) || !m.source || !existsSync(abs)) continue;
    indexes.set(i, indexes.size);
    host.push(steps.openSource(abs, (flags & MS.REC) !== 0n));
  }
  return indexes;
}

/** Host-side steps for idmapped bind mounts; returns where each copy goes, by mount index. */
function idmapSteps(config: Config, input: PlanInput, host: PlanStep[]): Map<number, { target: string; create: number }> {
  const trees = new Map<number, { target: string; create: number }>();
  for (const [i, m] of (config.mounts ?? []).entries()) {
    if (!m.uidMappings && !m.gidMappings) continue;
    const where = `mounts[${i}]`;
    if (!m.uidMappings?.length || !m.gidMappings?.length)
      throw new UserError(`config.json: ${where}: an idmapped mount needs both uidMappings and gidMappings`);
    const opts = parseMountOptions(m.options);
    if (m.type !== 'bind' && (opts.flags & MS.BIND) === 0n) throw new UserError(`config.json: ${where}: only bind mounts can be idmapped`);
    if (input.rootless)
      throw new UserError(`config.json: ${where}: idmapped mounts need root (the kernel allows them only to the filesystem's owner)`);
    const source = resolve(input.bundleDir, m.source ?? '');
    if (!existsSync(source)) throw new UserError(`config.json: ${where}.source: ${source} does not exist`);
    trees.set(i, {
      target: containerPath(m.destination, `${where}.destination`),
      create: statSync(source).isDirectory() ? CreateMode.Dir : CreateMode.File,
    });
    host.push(steps.idmapTree(source, (opts.flags & MS.REC) !== 0n, triples(m.uidMappings), triples(m.gidMappings)));
  }
  return trees;
}

/**
 * The steps of one mount. A read-only tmpfs is mounted writable and made read-only (per mount, as
 * runc does) by a step pushed to `late`, run once everything below it is in place: the devices of
 * a read-only /dev, and other mounts under it.
 */
function mountSteps(
  m: Mount,
  index: number,
  input: PlanInput,
  newNs: Set<NamespaceType>,
  idmapped: boolean,
  late: PlanStep[],
  sourceIndex: number | undefined,
): PlanStep[] {
  const where = `mounts[${index}]`;
  const dest = containerPath(m.destination, `${where}.destination`);
  const opts = parseMountOptions(m.options);
  if (opts.ignored.length > 0) input.warn(`${where} (${dest}): options not applied: ${opts.ignored.join(', ')}`);
  let type = m.type ?? '';
  let source = m.source ?? '';
  let flags = opts.flags;
  const out: PlanStep[] = [];
  // procfs and sysfs (or what is bound at /proc and /sys) only on a directory of the image's, never
  // through a link: a mount elsewhere would slip past maskedPaths and readonlyPaths, which name /proc
  // and /sys paths (runc refuses it too).
  const ordinary = type === 'proc' || type === 'sysfs' || dest === '/proc' || dest === '/sys' ? CreateMode.OrdinaryDir : 0;
  const what = `mount ${type || 'bind'} on "${dest}"`;
  const keep = input.rootless ? CreateMode.KeepLockedFlags : 0;

  // A rootless container cannot mount sysfs without its own network namespace, nor a cgroup
  // hierarchy: bind the host's instead, read-only.
  if (type === 'sysfs' && input.rootless && !newNs.has('network')) {
    type = 'bind';
    source = '/sys';
    flags |= MS.BIND | MS.REC | MS.RDONLY;
  }
  if (type === 'cgroup' || type === 'cgroup2') {
    const own = newNs.has('cgroup') ? ownCgroupMounts(dest, flags, newNs) : undefined;
    return own ?? boundCgroupMounts(dest, flags, input);
  }
  let bindRecursiveFlags = false;
  const isBind = type === 'bind' || (flags & MS.BIND) !== 0n;
  if (isBind && resolve(input.bundleDir, source) === '/sys') bindRecursiveFlags = true;
  if (isBind) {
    if (source === '') throw new UserError(`config.json: ${where}: a bind mount needs a source`);
    const abs = resolve(input.bundleDir, source);
    if (!existsSync(abs)) throw new UserError(`config.json: ${where}.source: ${abs} does not exist`);
    const create = statSync(abs).isDirectory() ? CreateMode.Dir : CreateMode.File;
    // An idmapped mount is already attached, by the shim's parent side: only its options remain.
    if (!idmapped) {
      const byIndex =
        sourceIndex === undefined
          ? { source: abs, create: create | ordinary }
          : { source: String(sourceIndex), create: create | CreateMode.SourceIndex };
      out.push(steps.mount({ ...byIndex, target: dest, fstype: '', flags: MS.BIND | (flags & MS.REC), data: '' }, what));
    }
    const remount = flags & BIND_REMOUNT_FLAGS;
    if (remount !== 0n) {
      const locked = input.rootless ? hostMountFlags(realpathSync(abs)) & (MS.NOSUID | MS.NODEV | MS.NOEXEC) : 0n;
      out.push(
        steps.mount(
          { source: '', target: dest, fstype: '', flags: MS.REMOUNT | MS.BIND | remount | locked, data: '', create: keep },
          `remount "${dest}" with its options`,
        ),
      );
    }
  } else {
    const label = input.config.linux?.mountLabel;
    const data = label && type !== 'proc' && type !== 'sysfs' ? [opts.data, `context="${label}"`].filter(Boolean).join(',') : opts.data;
    const later = type === 'tmpfs' && (flags & MS.RDONLY) !== 0n;
    out.push(
      steps.mount(
        { source, target: dest, fstype: type, flags: later ? flags & ~MS.RDONLY : flags, data, create: CreateMode.Dir | ordinary },
        what,
      ),
    );
    if (later) {
      late.push(
        steps.mount(
          { source: '', target: dest, fstype: '', flags: MS.REMOUNT | MS.BIND | (flags & BIND_REMOUNT_FLAGS), data: '', create: keep },
          `make "${dest}" read-only`,
        ),
      );
    }
  }
  const recursive = opts.recursive ?? { set: 0n, clear: 0n };
  if (bindRecursiveFlags) recursive.set |= recursiveAttrsOf(flags);
  if (recursive.set !== 0n || recursive.clear !== 0n) out.push(steps.setattr(dest, recursive.set, recursive.clear, true));
  for (const prop of opts.propagation) {
    out.push(
      steps.mount({ source: '', target: dest, fstype: '', flags: prop, data: '', create: CreateMode.None }, `set propagation of "${dest}"`),
    );
  }
  return out;
}

/**
 * The container's own cgroup filesystems, mounted inside its cgroup namespace so their root is
 * its cgroup: cgroup2 on a unified host; on a v1 host a tmpfs holding each of the host's
 * hierarchies (and its symlinks, for co-mounted controllers). v1 cannot be mounted in a user
 * namespace: undefined then, and the host's tree is bound instead.
 */
function ownCgroupMounts(dest: string, flags: bigint, newNs: Set<NamespaceType>): PlanStep[] | undefined {
  const safe = flags | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const mode = cgroupMode();
  if (mode === 'unified') {
    return [
      steps.mount(
        { source: 'cgroup2', target: dest, fstype: 'cgroup2', flags: safe, data: '', create: CreateMode.Dir | CreateMode.OrdinaryDir },
        `mount cgroup2 on "${dest}"`,
      ),
    ];
  }
  if (mode === 'none' || newNs.has('user')) return undefined;
  const out = [
    steps.mount(
      {
        source: 'tmpfs',
        target: dest,
        fstype: 'tmpfs',
        flags: safe & ~MS.RDONLY,
        data: 'mode=755',
        create: CreateMode.Dir | CreateMode.OrdinaryDir,
      },
      `mount the tmpfs of the cgroup hierarchies on "${dest}"`,
    ),
  ];
  for (const m of v1Hierarchies()) {
    const target = `${dest}/${basename(m.point)}`;
    out.push(
      steps.mount(
        {
          source: m.options.match(/name=([^,]+)/)?.[1] ?? 'cgroup',
          target,
          fstype: m.fstype,
          flags: safe,
          data: m.options,
          create: CreateMode.Dir,
        },
        `mount ${m.fstype} ${m.options} on "${target}"`,
      ),
    );
  }
  for (const entry of readdirSync(HOST_CGROUP_ROOT, { withFileTypes: true }).filter((e) => e.isSymbolicLink())) {
    out.push(steps.symlink(readlinkSync(join(HOST_CGROUP_ROOT, entry.name)), `${dest}/${entry.name}`));
  }
  if (flags & MS.RDONLY) {
    out.push(
      steps.mount(
        { source: '', target: dest, fstype: '', flags: MS.REMOUNT | safe, data: 'mode=755', create: CreateMode.None },
        `make "${dest}" read-only`,
      ),
    );
  }
  return out;
}

/** The host's v1 hierarchies (a hybrid host's v2 tree is left out of the container's view, as runc does). */
const v1Hierarchies = () => cgroupMounts().filter((m) => m.fstype === 'cgroup' && dirname(m.point) === HOST_CGROUP_ROOT);

/**
 * Without a cgroup namespace (or one v1 cannot be mounted in): a tmpfs holding, for each of the
 * host's hierarchies, a read-only bind of the container's own cgroup there (tsrun's own where the
 * container has none), so it sees its cgroup and nothing above it, as under runc.
 */
function boundCgroupMounts(dest: string, flags: bigint, input: PlanInput): PlanStep[] {
  const safe = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const keep = input.rootless ? CreateMode.KeepLockedFlags : 0;
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const bind = (source: string, target: string, what: string): PlanStep[] => [
    steps.mount({ source, target, fstype: '', flags: MS.BIND, data: '', create: CreateMode.Dir | CreateMode.OrdinaryDir }, what),
    steps.mount(
      { source: '', target, fstype: '', flags: MS.REMOUNT | MS.BIND | MS.RDONLY | safe, data: '', create: keep },
      `make "${target}" read-only`,
    ),
  ];
  const own = (m: CgroupMount) => input.cgroupPath ?? ownCgroupPath(m, self) ?? '/';
  if (cgroupMode() === 'unified') {
    const [v2] = cgroupMounts().filter((m) => m.point === HOST_CGROUP_ROOT);
    return v2 ? bind(join(v2.point, own(v2)), dest, `bind the container's cgroup on "${dest}"`) : [];
  }
  const out = [
    steps.mount(
      { source: 'tmpfs', target: dest, fstype: 'tmpfs', flags: safe, data: 'mode=755', create: CreateMode.Dir | CreateMode.OrdinaryDir },
      `mount the tmpfs of the cgroup hierarchies on "${dest}"`,
    ),
  ];
  for (const m of v1Hierarchies()) {
    const target = `${dest}/${basename(m.point)}`;
    out.push(...bind(join(m.point, own(m)), target, `bind the container's cgroup of ${m.options || 'cgroup2'} on "${target}"`));
  }
  for (const entry of readdirSync(HOST_CGROUP_ROOT, { withFileTypes: true }).filter((e) => e.isSymbolicLink())) {
    out.push(steps.symlink(readlinkSync(join(HOST_CGROUP_ROOT, entry.name)), `${dest}/${entry.name}`));
  }
  if (flags & MS.RDONLY) {
    out.push(
      steps.mount(
        { source: '', target: dest, fstype: '', flags: MS.REMOUNT | MS.BIND | MS.RDONLY | safe, data: '', create: keep },
        `make "${dest}" read-only`,
      ),
    );
  }
  return out;
}

function deviceSteps(input: PlanInput, setupDev: boolean, inUserNs: boolean): PlanStep[] {
  const out: PlanStep[] = [];
  const node = (path: string, mode: number, major: number, minor: number, uid: number, gid: number) => {
    if (inUserNs) {
      // No mknod in a user namespace: bind the host's node of the same path.
      if (!existsSync(path))
        throw new UserError(`rootless: device ${path} must be bind-mounted from the host, and the host has no ${path}`);
      out.push(
        steps.mount({ source: path, target: path, fstype: '', flags: MS.BIND, data: '', create: CreateMode.File }, `bind device ${path}`),
      );
    } else {
      // A node already there (an image's, or a bound host /dev's) counts as made, as under runc.
      out.push(steps.mknod(path, mode, makedev(major, minor), uid, gid, Existing.Keep));
    }
  };
  const configured = input.config.linux?.devices ?? [];
  if (setupDev) {
    // A device the config lists at a default device's path takes its place.
    for (const d of DEFAULT_DEVICES.filter((d) => !configured.some((c) => c.path === d.path)))
      node(d.path, S_IFCHR | 0o666, d.major, d.minor, 0, 0);
  }
  for (const [i, d] of configured.entries()) {
    // The container's /dev/ptmx is a link into its devpts, whatever the config lists there.
    if (setupDev && d.path === '/dev/ptmx') continue;
    const path = containerPath(d.path, `linux.devices[${i}].path`);
    const kind = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      throw new UserError(`config.json: linux.devices[${i}]: a ${d.type} device needs major and minor`);
    }
    node(path, kind | (d.fileMode ?? 0o666), Number(d.major ?? 0), Number(d.minor ?? 0), d.uid ?? 0, d.gid ?? 0);
  }
  if (setupDev) {
    for (const [target, link] of DEV_SYMLINKS) out.push(steps.symlink(target, link, Existing.Keep));
    // The container's ptmx is its devpts's: whatever the image had there gives way.
    out.push(steps.symlink('pts/ptmx', '/dev/ptmx', Existing.Replace));
  }
  return out;
}

/** A hook the shim runs in the container's namespaces; cwd "" leaves it where the shim is. */
function hookInput(h: Hook, stdin: string, cwd: string) {
  return { path: h.path, args: h.args ?? [h.path], env: hookEnv(h), timeout: h.timeout ?? 0, stdin, cwd };
}

function processSteps(input: PlanInput, seccomp: PlanStep | undefined): PlanStep[] {
  const proc = input.config.process;
  if (!proc) return [];
  const out: PlanStep[] = [];
  const last = lastCap();
  for (const [i, rl] of (proc.rlimits ?? []).entries()) {
    const resource = RLIMITS[rl.type];
    if (resource === undefined) throw new UserError(`config.json: process.rlimits[${i}].type: unknown limit "${rl.type}"`);
    out.push(steps.setrlimit(rl.type, resource, BigInt(rl.soft), BigInt(rl.hard)));
  }
  if (proc.ioPriority) {
    const classes = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
    out.push(steps.ioprio((classes[proc.ioPriority.class] << 13) | (proc.ioPriority.priority ?? 0)));
  }
  if (proc.scheduler) {
    const sched = proc.scheduler;
    const policies = {
      SCHED_OTHER: 0,
      SCHED_FIFO: 1,
      SCHED_RR: 2,
      SCHED_BATCH: 3,
      SCHED_ISO: 4,
      SCHED_IDLE: 5,
      SCHED_DEADLINE: 6,
    } as const;
    const flagBits = {
      SCHED_FLAG_RESET_ON_FORK: 0x1n,
      SCHED_FLAG_RECLAIM: 0x2n,
      SCHED_FLAG_DL_OVERRUN: 0x4n,
      SCHED_FLAG_KEEP_POLICY: 0x8n,
      SCHED_FLAG_KEEP_PARAMS: 0x10n,
      SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
      SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
    } as const;
    out.push(
      steps.sched({
        policy: policies[sched.policy],
        nice: sched.nice ?? 0,
        priority: sched.priority ?? 0,
        flags: (sched.flags ?? []).reduce((m, f) => m | flagBits[f], 0n),
        runtime: BigInt(sched.runtime ?? 0),
        deadline: BigInt(sched.deadline ?? 0),
        period: BigInt(sched.period ?? 0),
      }),
    );
  }
  if (input.config.linux?.personality) {
    const p = input.config.linux.personality;
    out.push(steps.personality(p.domain === 'LINUX32' ? 0x0008 : 0x0000));
  }
  const { masks, skipped } = capabilitySets(proc.capabilities ?? {}, last);
  if (skipped.length > 0) input.warn(`process.capabilities: ignoring unknown or unavailable capabilities: ${skipped.join(', ')}`);
  const set = (name: CapabilitySet) => masks[name];
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the capabilities go.
  // With it, as late as possible (just before exec), so the profile has to allow only the program.
  if (seccomp && !proc.noNewPrivileges) out.push(seccomp);
  // The bounding set shrinks while still root (it needs CAP_SETPCAP); the other sets follow the id switch.
  out.push(steps.bounding(last, set('bounding')));
  const user = proc.user ?? {};
  const groups = user.additionalGids ?? [];
  // A rootless single-id mapping denies setgroups: then the groups are left as they are. Without a
  // user namespace of its own the container has the setgroups rule of the one tsrun runs in.
  const gidMaps = input.config.linux?.gidMappings ?? [];
  const ownUserNs = (input.config.linux?.namespaces ?? []).some((n) => n.type === 'user');
  const setgroupsDenied = ownUserNs
    ? input.rootless && gidMaps.length <= 1 && (gidMaps[0]?.size ?? 0) <= 1
    : readFirstLine('/proc/self/setgroups') === 'deny';
  if (setgroupsDenied && groups.length > 0)
    throw new UserError('rootless: process.user.additionalGids need a multi-id gid mapping (newgidmap and /etc/subgid)');
  // Entered while still privileged (a directory only root may search, as runc allows), and once
  // more as the user when root was refused (a volume owned by the user that root cannot reach).
  out.push(steps.chdir(proc.cwd, ChdirMode.Try));
  out.push(steps.setIds(user.uid ?? 0, user.gid ?? 0, setgroupsDenied ? undefined : groups));
  const [permitted, inheritable] = [set('permitted'), set('inheritable')];
  // The kernel raises an ambient capability only if it is permitted and inheritable too. runc
  // raises each one it is given and ignores the refusals, silently: the others are left out here
  // the same way (`runc spec`'s default config lists ambient capabilities and no inheritable ones).
  const ambient = set('ambient') & permitted & inheritable;
  out.push(steps.caps(last, { effective: set('effective'), permitted, inheritable, ambient }));
  if (proc.noNewPrivileges) out.push(steps.noNewPrivs());
  out.push(steps.umask(user.umask ?? 0o022));
  out.push(steps.chdir(proc.cwd, ChdirMode.Pending));
  return out;
}

/** Fields this build cannot apply: asking for them is an error, never silently nothing. */
function checkSupported(config: Config): void {
  const unsupported: [string, unknown][] = [
    ['linux.memoryPolicy', config.linux?.memoryPolicy],
    ['linux.intelRdt', config.linux?.intelRdt],
    ['linux.netDevices', config.linux?.netDevices],
  ];
  for (const [field, value] of unsupported) {
    if (value !== undefined) throw new UserError(`config.json: ${field} is not supported by this build of tsrun`);
  }
}

export function buildPlans(input: PlanInput): Plans {
  const { config } = input;
  checkSupported(config);
  const namespaces = checkNamespaces(config, input.rootless);
  const newNs = new Set([...namespaces].filter(([, path]) => path === undefined).map(([t]) => t));
  const proc = checkProcess(config.process, 'config.json: process');

  // Host side: join namespaces (user first), then clone into the new ones.
  const host: PlanStep[] = [];
  // Idmapped mounts first, with host rights, before any namespace is joined.
  const trees = idmapSteps(config, input, host);
  // A copy of a tree needs CAP_SYS_ADMIN over the runtime's mount namespace: root in the host's user namespace.
  const hostRoot = !input.rootless && inInitialUserNamespace();
  const sources = namespaces.has('user') && hostRoot ? bindSourceSteps(config, input, host, trees) : new Map<number, number>();
  for (const type of JOIN_ORDER) {
    const path = namespaces.get(type);
    if (path !== undefined) host.push(steps.setns(path, Number(NAMESPACES[type].flag), `join the ${type} namespace ${path}`));
  }
  let cloneFlags = 0n;
  // The time and cgroup namespaces are made by the container process itself: time because exec
  // moves the program into it, cgroup because its root is the cgroup tsrun puts the process in first.
  for (const t of newNs) if (t !== 'time' && t !== 'cgroup') cloneFlags |= NAMESPACES[t].flag;
  if (config.linux?.timeOffsets && !newNs.has('time')) {
    throw new UserError('config.json: linux.timeOffsets needs a new time namespace (add {"type": "time"})');
  }
  if (input.deviceFilter) host.push(steps.bpfDevice(input.deviceFilter.cgroupDir, input.deviceFilter.program));
  // Opened on the host side: the container process inherits the fd, whatever user it maps to.
  host.push(steps.openFifo(input.execFifo));
  const filter = seccompFilter(config, input.bundleDir);
  host.push(...(filter?.host ?? []), ...socketSteps(input, proc));
  if (trees.size > 0 && !namespaces.has('mount'))
    throw new UserError("config.json: idmapped mounts need a mount namespace of the container's own");
  host.push(steps.clone(cloneFlags, input.relay ? ParentMode.Relay : ParentMode.Exit, input.rootfs, [...trees.values()]), steps.nextPlan());

  const hooks = config.hooks ?? {};
  const hasRuntimeHooks = (hooks.prestart?.length ?? 0) + (hooks.createRuntime?.length ?? 0) > 0;

  const container = (hookState: (status: 'creating' | 'created') => string): PlanStep[] => {
    const seccomp = filter?.load(hookState('creating'));
    // Paths are resolved in this root: the host's until the container's root filesystem is set.
    const out: PlanStep[] = [steps.rootfs('/')];
    // Root inside a new user namespace, so what follows is done with its full rights.
    if (newNs.has('user')) out.push(steps.setIds(0, 0, undefined));
    if (newNs.has('cgroup')) out.push(steps.unshare(NAMESPACES.cgroup.flag, 'create the cgroup namespace'));
    if (newNs.has('time')) {
      // The time namespace is for the process's children and for what it execs: the user program.
      // Its offsets are set before anything enters it.
      out.push(steps.unshare(NAMESPACES.time.flag, 'create the time namespace'));
      const offsets = Object.entries(config.linux?.timeOffsets ?? {})
        .filter(([, o]) => o !== undefined)
        .map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}\n`);
      if (offsets.length > 0) out.push(procWrite('self/timens_offsets', offsets.join(''), 'set the time namespace offsets'));
    }
    // A keyring of its own, so containers do not share the host's session keys (none when the kernel has no keys).
    if (input.sessionKeyring && existsSync('/proc/keys')) out.push(steps.sessionKeyring(input.sessionKeyring));
    if (proc.oomScoreAdj !== undefined) {
      out.push(procWrite('self/oom_score_adj', String(proc.oomScoreAdj), 'set oom_score_adj'));
    }
    if (config.hostname) out.push(steps.sethostname(config.hostname));
    if (config.domainname) out.push(steps.setdomainname(config.domainname));

    const hasMountNs = namespaces.has('mount');
    const propagation = config.linux?.rootfsPropagation;
    if (hasMountNs) {
      // The host's mounts become slaves in the container's namespace: nothing done here reaches the
      // host. The configured propagation is given to the container's / after pivot_root.
      out.push(
        steps.mount(
          { source: '', target: '/', fstype: '', flags: MS.SLAVE | MS.REC, data: '', create: CreateMode.None },
          'set the propagation of /',
        ),
      );
      out.push(steps.rootfs(input.rootfs));
      out.push(
        steps.mount(
          { source: input.rootfs, target: '/', fstype: '', flags: MS.BIND | MS.REC, data: '', create: CreateMode.None },
          'bind the root filesystem',
        ),
      );
      // Reopen: the root is now the bind mount, which pivot_root needs.
      out.push(steps.rootfs(input.rootfs));
    } else {
      // No mount namespace of its own: mounts land in the runtime's (delete takes them down), then chroot.
      out.push(steps.rootfs(input.rootfs));
    }
    const mounts = config.mounts ?? [];
    const late: PlanStep[] = [];
    for (const [i, m] of mounts.entries()) out.push(...mountSteps(m, i, input, newNs, trees.has(i), late, sources.get(i)));
    out.push(
      ...deviceSteps(
        input,
        // The container's /dev is set up unless it is a bind (of the host's /dev, say): as runc, also in
        // the image's own /dev when nothing is mounted there (the spec's default devices must exist).
        !mounts.some((m) => m.destination === '/dev' && (m.type === 'bind' || (parseMountOptions(m.options).flags & MS.BIND) !== 0n)),
        // No mknod in any user namespace but the host's: the container's own, or the one tsrun runs in.
        namespaces.has('user') || !inInitialUserNamespace(),
      ),
      ...late,
    );
    // Sysctls go through the container's /proc before its read-only and masked paths close it.
    for (const [key, value] of Object.entries(config.linux?.sysctl ?? {})) {
      out.push(procWrite(`sys/${key.replaceAll('.', '/')}`, value, `set sysctl ${key}`));
    }
    // Read-only paths first: a mask below one is then a mount of its own, not copied by its bind.
    for (const path of config.linux?.readonlyPaths ?? []) out.push(steps.readonly(containerPath(path, 'linux.readonlyPaths')));
    for (const path of config.linux?.maskedPaths ?? []) out.push(steps.mask(containerPath(path, 'linux.maskedPaths'), '/dev/null'));
    if (hasRuntimeHooks) out.push(steps.sync('run the prestart and createRuntime hooks'));
    // In the container's mount namespace, its mounts made, before pivot_root, in its root filesystem.
    for (const h of hooks.createContainer ?? []) out.push(steps.hook('createContainer', hookInput(h, hookState('creating'), input.rootfs)));
    // A missing working directory is made, as runc and crun make it.
    out.push(steps.mkdir(proc.cwd, `create the working directory "${proc.cwd}"`));
    if (input.noPivot && hasMountNs) out.push(...hostProcAndSysfs(input.rootfs).map((point) => steps.detach(point)));
    out.push(steps.pivot(input.noPivot ? PivotMode.Move : hasMountNs ? PivotMode.PivotRoot : PivotMode.Chroot));
    if (hasMountNs && propagation !== undefined) {
      // Applied to every mount under /, with or without the r prefix (as runc and crun read it).
      const kind = propagation.replace(/^r/, '') as 'private' | 'shared' | 'slave' | 'unbindable';
      const flag = { private: MS.PRIVATE, shared: MS.SHARED, slave: MS.SLAVE, unbindable: MS.UNBINDABLE }[kind];
      out.push(
        steps.mount(
          { source: '', target: '/', fstype: '', flags: flag | MS.REC, data: '', create: CreateMode.None },
          `make / ${propagation}`,
        ),
      );
    }
    if (config.root?.readonly) {
      out.push(
        steps.mount(
          { source: '', target: '/', fstype: '', flags: MS.REMOUNT | MS.BIND | MS.RDONLY, data: '', create: CreateMode.KeepLockedFlags },
          'make the root filesystem read-only',
        ),
      );
    }
    if (proc.terminal) out.push(consoleStep(proc, '/dev/console'));
    out.push(...processPreamble(input, proc, seccomp));
    // A listener goes to the agent during create (runtime.md's "creating"), so its filter is loaded
    // before ready; without one, as late as possible.
    const lateSeccomp = seccomp && proc.noNewPrivileges ? seccomp : undefined;
    if (lateSeccomp && filter?.notifies) out.push(lateSeccomp);
    out.push(steps.ready(), steps.waitStart());
    for (const h of hooks.startContainer ?? []) out.push(steps.hook('startContainer', hookInput(h, hookState('created'), '')));
    if (lateSeccomp && !filter?.notifies) out.push(lateSeccomp);
    out.push(steps.exec(proc.args ?? [], proc.env ?? []));
    return out;
  };
  return { host, container, newNamespaces: newNs };
}

/**
 * The host steps for the sockets a process's fds go to: the pidfd socket, and for a terminal the
 * console socket, or, in the foreground without one, the pair the relay takes the pty master from.
 */
export function socketSteps(input: PlanInput, proc: Process): PlanStep[] {
  const out: PlanStep[] = [];
  if (input.pidfdSocket) {
    const path = resolve(input.pidfdSocket);
    out.push(steps.connect(SocketSlot.Pidfd, path, `connect to the pidfd socket ${path}`));
  }
  if (proc.terminal && input.consoleSocket) {
    const path = resolve(input.consoleSocket);
    out.push(steps.connect(SocketSlot.Console, path, `connect to the console socket ${path}`));
  } else if (proc.terminal && input.relay) {
    out.push(steps.consoleRelay());
  } else if (proc.terminal) {
    throw new UserError('process.terminal is true: a detached process needs --console-socket to hand its terminal to');
  } else if (input.consoleSocket) {
    throw new UserError('--console-socket is given, and process.terminal is false: there is no terminal to send');
  }
  return out;
}

/**
 * The process's terminal, sized as process.consoleSize says (else as the relay's caller's), and
 * given to the process's user so it can use it (runc does the same; the group stays the one the
 * devpts mount gives, gid=5 "tty" in the default config).
 */
export function consoleStep(proc: Process, consolePath: string): PlanStep {
  const [rows, cols] = [Number(proc.consoleSize?.height ?? 0), Number(proc.consoleSize?.width ?? 0)];
  return steps.console(rows, cols, consolePath, proc.user?.uid ?? 0);
}

/** A process description this build can run; where names it in messages ("config.json: process"). */
export function checkProcess(proc: Process | undefined, where: string): Process {
  if (!proc?.args?.length) throw new UserError(`${where}.args must name the program to run`);
  if (!proc.cwd.startsWith('/')) throw new UserError(`${where}.cwd: "${proc.cwd}" is not an absolute path`);
  // A variable given twice: its first place, its last value (runc's rule; PATH for the lookup too).
  return proc.env === undefined ? proc : { ...proc, env: dedupeEnv(proc.env) };
}

/**
 * The steps that make the container process (the init, or one exec adds) what process says:
 * labels, no inherited fds, limits, ids, capabilities, the filter when it must precede the
 * capability drop, the working directory, and the program found.
 */
export function processPreamble(input: PlanInput, proc: Process, seccomp: PlanStep | undefined): PlanStep[] {
  const out: PlanStep[] = [];
  if (proc.selinuxLabel) out.push(procWrite('self/attr/exec', proc.selinuxLabel, 'set the SELinux label'));
  if (proc.apparmorProfile) {
    out.push(procWrite('self/attr/apparmor/exec', `exec ${proc.apparmorProfile}`, 'set the AppArmor profile'));
  }
  // Before the seccomp filter, which may not allow close_range.
  out.push(steps.closeFds(3 + input.preserveFds));
  out.push(...processSteps({ ...input, config: { ...input.config, process: proc } }, seccomp));
  const pathEnv = (proc.env ?? []).find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/bin:/usr/bin:/bin';
  out.push(steps.findExec(proc.args?.[0] ?? '', pathEnv));
  return out;
}

/**
 * A profile's filter: the host steps it needs (a connection to the seccomp agent, made in the
 * host's namespaces), and its load step, which sends the agent the given state with the listener.
 */
export function seccompFilter(config: Config, bundleDir: string) {
  const profile = config.linux?.seccomp;
  if (!profile) return undefined;
  const compiled = compileSeccomp(profile);
  checkKernelSupport(profile);
  // The agent's socket is a host path (relative ones are in the bundle, as runc reads them).
  const listener = resolve(bundleDir, profile.listenerPath ?? '');
  return {
    notifies: compiled.notifies,
    host: compiled.notifies ? [steps.connect(SocketSlot.Agent, listener, `connect to the seccomp agent at ${listener}`)] : [],
    load: (state: string) =>
      steps.seccomp(compiled.flags, compiled.program, compiled.notifies ? processState(state, profile.listenerMetadata) : ''),
  };
}

/** The container process state (config-linux.md) that goes to a seccomp agent with the listener fd. */
function processState(stateJson: string, metadata: string | undefined): string {
  const state = JSON.parse(stateJson) as { ociVersion: string; pid: number };
  return JSON.stringify({
    ociVersion: state.ociVersion,
    fds: ['seccompFd'],
    pid: state.pid,
    ...(metadata === undefined ? {} : { metadata }),
    state,
  });
}

/** The root filesystem's absolute path (root.path is relative to the bundle unless absolute). */
export function rootfsPath(config: Config, bundleDir: string): string {
  if (!config.root?.path) throw new UserError('config.json: root.path is missing (the root filesystem of the container)');
  const path = resolve(bundleDir, config.root.path);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new UserError(`config.json: root.path: ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  if (!statSync(real).isDirectory()) throw new UserError(`config.json: root.path: ${path} is not a directory`);
  // Mounts are made under the root, and without a mount namespace delete unmounts everything there.
  if (real === '/')
    throw new UserError(`config.json: root.path: ${path} is the host's root directory: a container needs a root filesystem of its own`);
  return real;
}
