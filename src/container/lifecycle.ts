/**
 * The container lifecycle of runtime.md: create, start, kill, delete. Each operation works on
 * one container under its lock; status always comes from facts (ContainerStore.status).
 */
import { chmodSync, closeSync, constants, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync } from 'node:fs';
import { constants as osConstants, userInfo } from 'node:os';
import { delegatedCgroup } from '../cgroups/delegation.js';
import { cgroupMode } from '../cgroups/detect.js';
import type { CgroupManager } from '../cgroups/manager.js';
import { cgroupPath } from '../cgroups/path.js';
import { cgroupManager } from '../cgroups/select.js';
import { UserError } from '../cli/errors.js';
import { runHooks, runHooksWarning } from '../hooks/run.js';
import { SyscallError } from '../linux/errno.js';
import { writeIdMaps } from '../linux/idmap.js';
import { checkInheritedFds } from '../linux/inherited-fds.js';
import * as libc from '../linux/libc.js';
import { withHome } from '../linux/passwd.js';
import { runShim, type ShimRun, ShimStepError } from '../linux/shim.js';
import { buildPlans, rootfsPath } from '../plan/build.js';
import type { Config } from '../spec/config.js';
import type { State } from '../spec/state.js';
import { activationEnv } from './activation.js';
import { loadBundle } from './bundle.js';
import { checkContainerId } from './id.js';
import type { ContainerRecord } from './record.js';
import { processStartTime } from './status.js';
import { type ContainerStore, writeAtomically } from './store.js';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot: boolean;
  preserveFds: number;
  /** fds socket activation handed to tsrun (activation.ts): passed before the preserved ones. */
  listenFds: number;
  consoleSocket?: string;
  pidfdSocket?: string;
  /** --no-new-keyring: the container keeps the caller's session keyring. */
  noNewKeyring: boolean;
  rootless: boolean;
  /** --systemd-cgroup: linux.cgroupsPath is slice:prefix:name. */
  systemdCgroup: boolean;
  /** The caller stays attached (run in the foreground): the shim relays signals and the exit status. */
  attached: boolean;
  warn: (msg: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stateDocument(
  record: Pick<ContainerRecord, 'ociVersion' | 'id' | 'bundle' | 'annotations'>,
  status: State['status'],
  pid: number,
): string {
  const doc: State = { ociVersion: record.ociVersion, id: record.id, status, pid, bundle: record.bundle };
  if (record.annotations) doc.annotations = record.annotations;
  return JSON.stringify(doc);
}

/** Creates the container: when this returns, its process waits for `start` on the exec FIFO. */
export async function create(store: ContainerStore, opts: CreateOptions): Promise<ShimRun> {
  checkContainerId(opts.id);
  const bundle = loadBundle(opts.bundle);
  const { config } = bundle;
  if (opts.listenFds > 0 && config.process) config.process.env = [...(config.process.env ?? []), ...activationEnv(opts.listenFds)];
  const extraFds = opts.listenFds + opts.preserveFds;
  const rootfs = rootfsPath(config, bundle.dir);
  if (config.process) {
    // A masked /etc/passwd (or a masked directory above it) is empty to the process: no home from it.
    const masked = (config.linux?.maskedPaths ?? []).some((p) => `/etc/passwd/`.startsWith(p.endsWith('/') ? p : `${p}/`));
    config.process.env = withHome(config.process.env ?? [], masked ? undefined : rootfs, config.process.user?.uid ?? 0);
  }
  const fdsFlag = `${opts.listenFds > 0 ? `LISTEN_FDS=${opts.listenFds} and ` : ''}--preserve-fds ${opts.preserveFds}`;
  checkInheritedFds(extraFds, fdsFlag);
  store.checkAbsent(opts.id);
  const execFifo = store.execFifo(opts.id);
  const base = { ociVersion: config.ociVersion, id: opts.id, bundle: bundle.dir, annotations: config.annotations };
  const hostMounts = !(config.linux?.namespaces ?? []).some((n) => n.type === 'mount');
  // Everything the config asks for is checked before anything is made on the host, so a refused
  // config leaves nothing behind: the cgroup limits, then both plans (the container's compiled once
  // here for its checks, and again with the process's pid).
  const cgroup = placement(config, opts);
  cgroup?.check(config.linux?.resources ?? {});
  const plans = buildPlans({
    config,
    bundleDir: bundle.dir,
    rootfs,
    rootless: opts.rootless,
    noPivot: opts.noPivot,
    execFifo,
    preserveFds: extraFds,
    consoleSocket: opts.consoleSocket,
    pidfdSocket: opts.pidfdSocket,
    sessionKeyring: opts.noNewKeyring ? undefined : `_ses.${opts.id}`,
    cgroupPath: cgroup?.path,
    relay: opts.attached,
    // Attaching a device program takes privileges a rootless user lacks (its devices are the host's to guard).
    deviceFilter: opts.rootless ? undefined : cgroup?.deviceFilter(config.linux?.resources ?? {}),
    warn: onceEach(opts.warn),
  });
  plans.container((status) => stateDocument(base, status, 0));
  const dir = store.create(opts.id);
  let pid: number | undefined;
  try {
    return await store.locked(opts.id, async () => {
      // A first record, without a pid: `state` says "creating" while this holds the lock, and a
      // create that dies leaves a "stopped" container that delete can clean up.
      const record = {
        ...base,
        rootfs,
        pid: 0,
        pidStartTime: 0,
        created: new Date().toISOString(),
        owner: userInfo().username,
        hostMounts,
        cgroupPath: cgroup?.path,
        poststart: config.hooks?.poststart,
        poststop: config.hooks?.poststop,
        creating: true,
      };
      store.save(record);
      if (cgroup) {
        cgroup.create();
        // Its processes would stop at their first instruction and create would wait on them forever.
        if (cgroup.isFrozen())
          throw new UserError(
            `cgroup ${cgroup.path} is frozen (by itself or an ancestor): the container's process could not run; thaw it (freezer.state THAWED on v1, cgroup.freeze 0 on v2) or use another linux.cgroupsPath`,
          );
        const skipped = cgroup.apply(config.linux?.resources ?? {}, true);
        if (skipped.length > 0) opts.warn(`linux.resources not applied by the cgroup ${cgroup.driver} driver: ${skipped.join(', ')}`);
      }
      libc.mkfifo(execFifo, 0o622);
      // The container user, whoever it is, must be able to open the FIFO to signal start.
      chmodSync(execFifo, 0o622);
      const preserved = Array.from({ length: extraFds }, (_, i) => 3 + i);
      const run = await runShim(plans.host, {
        stdio: ['inherit', 'inherit', 'inherit', ...preserved],
        onPid: (reported) => {
          pid = reported;
          // Known from now on: a create killed past this point leaves a process delete can find and kill.
          store.save({ ...record, pid: reported, pidStartTime: processStartTime(reported) ?? 0 });
          // In its cgroup before it runs anything of the container's (it waits for this plan).
          cgroup?.addProcess(reported);
          if (plans.newNamespaces.has('user')) writeIdMaps(reported, config.linux?.uidMappings ?? [], config.linux?.gidMappings ?? []);
          return plans.container((status) => stateDocument(base, status, reported));
        },
        onSync: async () => {
          const state = stateDocument(base, 'creating', pid ?? 0);
          await runHooks('prestart', config.hooks?.prestart, state);
          await runHooks('createRuntime', config.hooks?.createRuntime, state);
        },
      });
      const startTime = pid === undefined ? undefined : processStartTime(pid);
      if (pid === undefined || startTime === undefined) throw new UserError('the container process exited during create');
      store.save({ ...record, pid, pidStartTime: startTime, creating: undefined });
      if (opts.pidFile) writeAtomically(opts.pidFile, String(pid), 0o644);
      return run;
    });
  } catch (err) {
    if (pid !== undefined) killQuietly(pid);
    if (hostMounts) unmountUnder(rootfs);
    if (pid !== undefined) await waitGone(pid, 2_000);
    try {
      cgroup?.remove();
    } catch (cleanupErr) {
      opts.warn((cleanupErr as Error).message);
    }
    rmSync(dir, { recursive: true, force: true });
    // A failed create continues the lifecycle at its end (runtime.md): the poststop hooks run.
    if (pid !== undefined) await runHooksWarning('poststop', config.hooks?.poststop, stateDocument(base, 'stopped', 0), opts.warn);
    if (err instanceof ShimStepError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * The cgroup the container goes in: the host's driver as root; rootless, a cgroup in the user's
 * delegated v2 subtree when there is one. Without a cgroup the limits are not applied, and a
 * warning says which.
 */
function placement(config: Config, opts: CreateOptions): CgroupManager | undefined {
  const mode = cgroupMode();
  const base = opts.rootless && mode === 'unified' ? delegatedCgroup() : opts.rootless ? undefined : '';
  if (base !== undefined) {
    const path = cgroupPath(config.linux?.cgroupsPath, opts.id, { systemd: opts.systemdCgroup, base });
    if (opts.systemdCgroup)
      opts.warn(`--systemd-cgroup: tsrun does not talk to systemd; the container's cgroup is ${path}, made through cgroupfs`);
    const manager = cgroupManager(path, mode);
    // delete and kill --all kill whatever is in the container's cgroup: it must hold nothing else.
    const others = manager?.pids().length ?? 0;
    if (others > 0) {
      throw new UserError(
        `config.json: linux.cgroupsPath: the cgroup ${path} already holds ${others} process(es): a container needs a cgroup of its own (delete and kill --all would kill them); choose another cgroupsPath, or stop what runs there`,
      );
    }
    if (manager) return manager;
  }
  const { devices, ...limits } = config.linux?.resources ?? {};
  const asked = Object.entries(limits)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  const why = !opts.rootless
    ? 'this host has no cgroup hierarchy'
    : mode === 'unified'
      ? 'rootless, and no delegated cgroup v2 subtree is writable by this user'
      : `rootless on a cgroup ${mode === 'none' ? '' : 'v1 '}host: v1 cannot be delegated safely`;
  if (asked.length > 0) opts.warn(`linux.resources not applied (${why}): ${asked.join(', ')}`);
  return undefined;
}

/** A warn that says each distinct message once (the container plan is compiled twice). */
function onceEach(warn: (msg: string) => void): (msg: string) => void {
  const said = new Set<string>();
  return (msg) => {
    if (said.has(msg)) return;
    said.add(msg);
    warn(msg);
  };
}

async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  for (let waited = 0; waited < timeoutMs && processStartTime(pid) !== undefined; waited += 5) await sleep(5);
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs the user process of a created container: opens the exec FIFO, which unblocks its init. */
export async function start(store: ContainerStore, id: string, warn: (msg: string) => void): Promise<void> {
  const record = await store.locked(id, async () => {
    const record = await store.load(id);
    const fifo = store.execFifo(id);
    const status = store.status(record, true);
    if (status !== 'created') throw new UserError(`cannot start a container that is ${status}`);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const byte = Buffer.alloc(1);
      const started = () => {
        try {
          return readSync(fd, byte) === 1;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          return false;
        }
      };
      for (;;) {
        if (started()) break;
        // Stopped: either it never wrote, or it wrote, ran and exited since that read (its byte is there now).
        if (store.status(record, true) === 'stopped') {
          if (started()) break;
          throw new UserError('the container process exited before it could start');
        }
        await sleep(1);
      }
    } finally {
      closeSync(fd);
    }
    rmSync(fifo, { force: true });
    return record;
  });
  try {
    await runHooks('poststart', record.poststart, stateDocument(record, 'running', record.pid));
  } catch (err) {
    // runtime-spec 1.3 (runtime.md, step 9): an error, and the container stopped; delete then runs
    // the poststop hooks. (runc 1.1 only warns.)
    const stopped = await store.locked(id, () => stopContainer(record));
    if (!stopped) warn(`container "${id}" did not stop after SIGKILL`);
    throw new UserError(`${(err as Error).message}: the container was stopped, as runtime-spec 1.3 asks after a failing poststart hook`);
  }
}

/** A signal by name (KILL, SIGKILL) or number; 0 checks that the process exists, as kill(2) does. */
export function parseSignal(signal: string): number {
  if (/^\d+$/.test(signal)) {
    const n = Number(signal);
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`).toUpperCase() as keyof typeof osConstants.signals;
    const n = osConstants.signals[name];
    if (n !== undefined) return n;
  }
  throw new UserError(`invalid signal "${signal}": use a name like KILL or SIGTERM, or a number from 0 to 64`);
}

function nsOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Every process of a container without a cgroup: those in its pid namespace when it has its own,
 * else the init and its descendants.
 */
export function containerPids(init: number): number[] {
  const pids = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
  const ns = nsOf(init);
  if (ns !== undefined && ns !== nsOf('self')) return pids.filter((p) => nsOf(p) === ns);
  const children = new Map<number, number[]>();
  for (const p of pids) {
    const parent = parentOf(p);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(init);
  return out;
}

/** Signals a process through a pidfd, after checking it is still the one recorded (not a reused pid). */
function signalProcess(pid: number, startTime: number | undefined, signal: number): boolean {
  let pidfd: number;
  try {
    pidfd = libc.pidfdOpen(pid);
  } catch {
    return false;
  }
  try {
    if (startTime !== undefined && processStartTime(pid) !== startTime) return false;
    libc.pidfdSendSignal(pidfd, signal);
    return true;
  } catch (err) {
    if (err instanceof SyscallError && err.code === 'ESRCH') return false;
    throw err;
  } finally {
    libc.close(pidfd);
  }
}

function signalContainer(record: ContainerRecord, signal: number, all: boolean): boolean {
  if (!all) return signalProcess(record.pid, record.pidStartTime, signal);
  if (processStartTime(record.pid) !== record.pidStartTime) return false;
  const cgroup = record.cgroupPath === undefined ? undefined : cgroupManager(record.cgroupPath);
  if (signal === osConstants.signals.SIGKILL && cgroup?.killAll()) return true;
  const pids = cgroup ? cgroup.pids() : containerPids(record.pid);
  // The init last: in a pid namespace its death takes the rest with it before they see the signal.
  let any = false;
  for (const p of pids.filter((p) => p !== record.pid)) any = signalProcess(p, undefined, signal) || any;
  return signalProcess(record.pid, record.pidStartTime, signal) || any;
}

/**
 * Signals the init (or with all, every process). A stopped container has nothing to signal: an
 * error, except for --all, which then succeeds doing nothing (runc 1.1; engines send it to clean up).
 */
export async function kill(store: ContainerStore, id: string, signalName: string, all: boolean): Promise<void> {
  const signal = parseSignal(signalName);
  await store.locked(id, async () => {
    const record = await store.load(id);
    const status = store.status(record, true);
    const signalled = status !== 'stopped' && signalContainer(record, signal, all);
    if (!signalled && !all) throw new UserError(`container "${id}" is stopped: container not running`);
  });
}

/** Waits until the init is gone (or a zombie nobody reaps), up to timeoutMs. */
async function waitStopped(record: ContainerRecord, timeoutMs: number): Promise<boolean> {
  for (let waited = 0; waited < timeoutMs; waited += 5) {
    if (processStartTime(record.pid) !== record.pidStartTime) return true;
    await sleep(5);
  }
  return false;
}

/** Kills every process of the container and waits for the init to go (up to 10 s); false if it does not. */
async function stopContainer(record: ContainerRecord): Promise<boolean> {
  signalContainer(record, osConstants.signals.SIGKILL, true);
  // A frozen task takes its SIGKILL only when thawed (cgroup v1).
  const cgroup = record.cgroupPath === undefined ? undefined : cgroupManager(record.cgroupPath);
  if (cgroup?.isFrozen()) cgroup.thaw();
  return waitStopped(record, 10_000);
}

/** Takes down the mounts a container without its own mount namespace left under its rootfs, deepest first. */
function unmountUnder(rootfs: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${rootfs}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    try {
      libc.umount2(point, libc.MNT_DETACH);
    } catch (err) {
      if (!(err instanceof SyscallError && err.code === 'EINVAL')) throw err;
    }
  }
}

export async function deleteContainer(store: ContainerStore, id: string, force: boolean, warn: (msg: string) => void): Promise<void> {
  const record = await store.locked(id, async () => {
    const record = await store.load(id);
    const status = store.status(record, true);
    if (status !== 'stopped') {
      // runtime-spec: deleting a container that is not stopped fails, a created one too (runc kills
      // and deletes that; engines follow a plain delete with delete --force anyway, see README).
      if (!force) throw new UserError(`cannot delete container "${id}" that is ${status}: stop it first, or use --force`);
      if (!(await stopContainer(record))) throw new UserError(`container "${id}" did not stop after SIGKILL`);
    }
    // A create that died may have left its process waiting for a plan or for start.
    if (record.creating && record.pid !== 0 && signalProcess(record.pid, record.pidStartTime, osConstants.signals.SIGKILL)) {
      await waitStopped(record, 10_000);
    }
    if (record.hostMounts) unmountUnder(record.rootfs);
    const cgroup = record.cgroupPath === undefined ? undefined : cgroupManager(record.cgroupPath);
    if (cgroup) {
      // Nothing may outlive the container in its cgroup (a shim of a create that died, say).
      if (!cgroup.killAll()) for (const p of cgroup.pids()) signalProcess(p, undefined, osConstants.signals.SIGKILL);
      // The rest of the container dies with its init, a moment later: the cgroup empties, then goes.
      for (let waited = 0; waited < 2_000 && cgroup.pids().length > 0; waited += 5) await sleep(5);
      cgroup.remove();
    }
    store.remove(id);
    return record;
  });
  await runHooksWarning('poststop', record.poststop, stateDocument(record, 'stopped', 0), warn);
}
