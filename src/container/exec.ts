/** `exec`: a new process in a created or running container, in its namespaces and its cgroup. */
import { readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { cgroupManager } from '../cgroups/select.js';
import { UserError } from '../cli/errors.js';
import { checkInheritedFds } from '../linux/inherited-fds.js';
import * as libc from '../linux/libc.js';
import { NAMESPACES } from '../linux/namespaces.js';
import { withHome } from '../linux/passwd.js';
import { runShim, type ShimRun, ShimStepError } from '../linux/shim.js';
import { buildExecPlans } from '../plan/exec.js';
import type { Process } from '../spec/config.js';
import { loadBundle } from './bundle.js';
import { killQuietly } from './lifecycle.js';
import { processStartTime } from './status.js';
import { type ContainerStore, writeAtomically } from './store.js';

export interface ExecOptions {
  id: string;
  /** The process to run; undefined fields come from nothing (callers merge with the container's process). */
  process: Process;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  pidfdSocket?: string;
  preserveFds: number;
  ignorePaused: boolean;
  /** --cgroup: a sub-cgroup of the container's (which must exist) to put the process in. */
  subCgroup?: string;
  rootless: boolean;
  warn: (msg: string) => void;
}

/** The CLONE_NEW* flags of the namespaces the process has and this one does not share. */
function ownNamespaces(pid: number): number {
  let flags = 0;
  for (const [type, ns] of Object.entries(NAMESPACES)) {
    const file = ns.file;
    try {
      if (readlinkSync(`/proc/${pid}/ns/${file}`) !== readlinkSync(`/proc/self/ns/${file}`)) flags |= Number(ns.flag);
    } catch {
      throw new UserError(`exec: reading /proc/${pid}/ns/${file} (the ${type} namespace of the container process) failed`);
    }
  }
  return flags;
}

export async function exec(store: ContainerStore, opts: ExecOptions): Promise<ShimRun> {
  const record = await store.load(opts.id);
  const status = store.status(record);
  if (status === 'paused' && !opts.ignorePaused)
    throw new UserError(`cannot exec in a paused container "${opts.id}": resume it first, or use --ignore-paused`);
  if (status !== 'running' && status !== 'created' && status !== 'paused')
    throw new UserError(`cannot exec in a ${status} container "${opts.id}": container not running`);
  checkInheritedFds(opts.preserveFds, `--preserve-fds ${opts.preserveFds}`);
  const { config } = loadBundle(record.bundle);
  // A pidfd pins the init: once its start time checks out, nothing can swap another process in.
  const pidfd = libc.pidfdOpen(record.pid);
  try {
    if (processStartTime(record.pid) !== record.pidStartTime) throw new UserError(`container "${opts.id}": container not running`);
    const preserved = Array.from({ length: opts.preserveFds }, (_, i) => 3 + i);
    const plans = buildExecPlans({
      plan: {
        config: {
          ...config,
          process: { ...opts.process, env: withHome(opts.process.env ?? [], `/proc/${record.pid}/root`, opts.process.user?.uid ?? 0) },
        },
        bundleDir: record.bundle,
        rootfs: record.rootfs,
        rootless: opts.rootless,
        noPivot: false,
        execFifo: '',
        preserveFds: opts.preserveFds,
        consoleSocket: opts.consoleSocket,
        pidfdSocket: opts.pidfdSocket,
        relay: !opts.detach,
        warn: opts.warn,
      },
      initPid: record.pid,
      pidfd: 3 + opts.preserveFds,
      namespaces: ownNamespaces(record.pid),
    });
    if (opts.subCgroup !== undefined && record.cgroupPath === undefined)
      throw new UserError(`exec --cgroup: container "${opts.id}" has no cgroup (rootless without a delegated cgroup v2 subtree)`);
    const path = record.cgroupPath === undefined ? undefined : posix.join(record.cgroupPath, opts.subCgroup ?? '');
    const cgroup = path === undefined ? undefined : cgroupManager(path);
    let started: number | undefined;
    const run = await runShim(plans.host, {
      stdio: ['inherit', 'inherit', 'inherit', ...preserved, pidfd],
      onPid: (pid) => {
        started = pid;
        cgroup?.addProcess(pid);
        const state = { ociVersion: record.ociVersion, id: record.id, status, pid: record.pid, bundle: record.bundle };
        return plans.process(JSON.stringify(state));
      },
    }).catch((err: unknown) => {
      // A process that never got its plan must not stay behind, waiting in the container.
      if (started !== undefined) killQuietly(started);
      throw err instanceof ShimStepError ? new UserError(err.message) : err;
    });
    if (run.pid === undefined) throw new UserError('exec: the process exited before it started');
    if (opts.pidFile) writeAtomically(opts.pidFile, String(run.pid), 0o644);
    return run;
  } finally {
    libc.close(pidfd);
  }
}
