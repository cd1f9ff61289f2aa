/** `tsrun exec`: runc's flags, or a runtime-spec process JSON with --process. */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { loadBundle } from '../../container/bundle.js';
import * as containerExec from '../../container/exec.js';
import { ContainerStore } from '../../container/store.js';
import { CAPABILITIES } from '../../linux/capabilities.js';
import { type Process, processSchema } from '../../spec/config.js';
import { dedupeEnv, envEntryProblem } from '../../spec/env.js';
import { parseDocument } from '../../spec/validate.js';
import type { Context } from '../context.js';
import { UserError } from '../errors.js';

export interface ExecFlags {
  process?: string;
  consoleSocket?: string;
  pidfdSocket?: string;
  cwd?: string;
  env?: string[];
  tty?: boolean;
  user?: string;
  additionalGids?: string[];
  detach?: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  newPrivs?: boolean;
  cap?: string[];
  preserveFds: number;
  cgroup?: string[];
  ignorePaused?: boolean;
}

const uint = (what: string, value: string) => {
  if (!/^\d+$/.test(value)) throw new UserError(`${what}: "${value}" is not a number`);
  return Number(value);
};

/** The process's env with --env entries after it: a later one replaces an earlier one of its name, in place. */
function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  for (const e of extra) {
    const problem = envEntryProblem(e);
    if (problem !== undefined) throw new UserError(`exec --env: ${problem}`);
  }
  return dedupeEnv([...base, ...extra]);
}

/**
 * The process to run: the --process document as it is, or the container's own process with the
 * command line's changes. Capabilities added with --cap go to the bounding, effective and
 * permitted sets, never to the inheritable one (CVE-2022-29162), so not to the ambient one either.
 */
export function execProcess(base: Process | undefined, args: string[], flags: ExecFlags): Process {
  if (flags.process !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.process, 'utf8');
    } catch (err) {
      throw new UserError(`--process: reading ${flags.process}: ${(err as NodeJS.ErrnoException).code}`);
    }
    return parseDocument(processSchema, text, flags.process);
  }
  if (args.length === 0) throw new UserError('exec: name the command to run (or give --process FILE)');
  const proc: Process = { ...(base ?? { cwd: '/' }), args, terminal: flags.tty === true };
  if (flags.cwd !== undefined) proc.cwd = flags.cwd;
  if (flags.env?.length) proc.env = mergeEnv(proc.env ?? [], flags.env);
  if (flags.user !== undefined) {
    const [uid, gid] = flags.user.split(':');
    proc.user = { ...proc.user, uid: uint('--user', uid ?? ''), gid: gid === undefined ? 0 : uint('--user', gid) };
  }
  if (flags.additionalGids?.length) {
    proc.user = { uid: 0, gid: 0, ...proc.user, additionalGids: flags.additionalGids.map((g) => uint('--additional-gids', g)) };
  }
  if (flags.newPrivs === false) proc.noNewPrivileges = true;
  if (flags.apparmor !== undefined) proc.apparmorProfile = flags.apparmor;
  if (flags.processLabel !== undefined) proc.selinuxLabel = flags.processLabel;
  if (flags.cap?.length) {
    const added = flags.cap.map((c) => (c.startsWith('CAP_') ? c : `CAP_${c.toUpperCase()}`));
    const unknown = added.filter((c) => CAPABILITIES[c] === undefined);
    if (unknown.length > 0) throw new UserError(`--cap: unknown capability ${unknown.join(', ')}`);
    const caps = proc.capabilities ?? {};
    const plus = (set: string[] | undefined) => [...new Set([...(set ?? []), ...added])];
    proc.capabilities = {
      ...caps,
      bounding: plus(caps.bounding),
      effective: plus(caps.effective),
      permitted: plus(caps.permitted),
    };
  }
  return proc;
}

/** Runs the process; in the foreground returns its exit status (128+N when killed by signal N). */
export async function exec(ctx: Context, id: string, args: string[], flags: ExecFlags): Promise<number> {
  const [subCgroup, ...more] = flags.cgroup ?? [];
  if (more.length > 0 || subCgroup?.includes(':'))
    throw new UserError('exec --cgroup: give one sub-cgroup path, the same in every hierarchy (per-controller paths are not supported)');
  if (subCgroup?.split('/').includes('..')) throw new UserError(`exec --cgroup: "${subCgroup}" may not contain ".."`);
  const store = new ContainerStore(ctx.stateRoot);
  const record = await store.load(id);
  const base = flags.process === undefined ? loadBundle(record.bundle).config.process : undefined;
  const run = await containerExec.exec(store, {
    id,
    process: execProcess(base, args, flags),
    detach: flags.detach === true,
    pidFile: flags.pidFile,
    consoleSocket: flags.consoleSocket,
    pidfdSocket: flags.pidfdSocket,
    preserveFds: flags.preserveFds,
    ignorePaused: flags.ignorePaused === true,
    subCgroup,
    rootless: ctx.rootless,
    warn: ctx.warn('exec'),
  });
  if (flags.detach) return 0;
  const forward = (sig: NodeJS.Signals) => run.child.kill(sig);
  const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
  for (const sig of signals) process.on(sig, forward);
  try {
    const { code, signal } = await run.exited;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } finally {
    for (const sig of signals) process.off(sig, forward);
  }
}
