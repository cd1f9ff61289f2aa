import { constants } from 'node:os';
import { listenFdCount } from '../../container/activation.js';
import * as lifecycle from '../../container/lifecycle.js';
import { ContainerNotFoundError, ContainerStore } from '../../container/store.js';
import type { Context } from '../context.js';

export interface CreateFlags {
  bundle: string;
  pidFile?: string;
  pivot: boolean;
  preserveFds: number;
  consoleSocket?: string;
  pidfdSocket?: string;
  /** commander's --no-new-keyring: false when given. */
  newKeyring: boolean;
}

function createOptions(ctx: Context, id: string, flags: CreateFlags, attached: boolean, command: string): lifecycle.CreateOptions {
  return {
    id,
    bundle: flags.bundle,
    pidFile: flags.pidFile,
    noPivot: !flags.pivot,
    preserveFds: flags.preserveFds,
    listenFds: listenFdCount(process.env, process.pid),
    consoleSocket: flags.consoleSocket,
    pidfdSocket: flags.pidfdSocket,
    noNewKeyring: flags.newKeyring === false,
    rootless: ctx.rootless,
    systemdCgroup: ctx.options.systemdCgroup,
    attached,
    warn: ctx.warn(command),
  };
}

export async function create(ctx: Context, id: string, flags: CreateFlags): Promise<void> {
  await lifecycle.create(new ContainerStore(ctx.stateRoot), createOptions(ctx, id, flags, false, 'create'));
}

export async function start(ctx: Context, id: string): Promise<void> {
  await lifecycle.start(new ContainerStore(ctx.stateRoot), id, ctx.warn('start'));
}

export async function kill(ctx: Context, id: string, signal: string, all: boolean): Promise<void> {
  await lifecycle.kill(new ContainerStore(ctx.stateRoot), id, signal, all);
}

export async function deleteContainer(ctx: Context, id: string, force: boolean): Promise<void> {
  try {
    await lifecycle.deleteContainer(new ContainerStore(ctx.stateRoot), id, force, ctx.warn('delete'));
  } catch (err) {
    // Engines always follow `delete` with `delete --force`, also for a container already gone: that succeeds.
    if (force && err instanceof ContainerNotFoundError) return;
    throw err;
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

/** create + start; in the foreground, waits and returns the container's exit status (128+N for signal N). */
export type RunFlags = CreateFlags & { detach?: boolean; keep?: boolean };

export async function run(ctx: Context, id: string, flags: RunFlags): Promise<number> {
  const store = new ContainerStore(ctx.stateRoot);
  const shim = await lifecycle.create(store, createOptions(ctx, id, flags, !flags.detach, 'run'));
  const forward = (sig: NodeJS.Signals) => shim.child.kill(sig);
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    await lifecycle.start(store, id, ctx.warn('run')).catch(async (err: Error) => {
      // In the foreground the shim relays the process's end: say how it ended, if it has.
      const ended = flags.detach
        ? undefined
        : await Promise.race([shim.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 500))]);
      if (ended) err.message += ` (it ${ended.signal ? `was killed by ${ended.signal}` : `exited with status ${ended.code}`})`;
      throw err;
    });
    if (flags.detach) return 0;
    const { code, signal } = await shim.exited;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } catch (err) {
    if (!flags.detach) await lifecycle.deleteContainer(store, id, true, ctx.warn('run')).catch(() => {});
    throw err;
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
    if (!flags.detach && !flags.keep) await lifecycle.deleteContainer(store, id, true, ctx.warn('run')).catch(() => {});
  }
}
