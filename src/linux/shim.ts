import { type ChildProcess, type IOType, spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { assetBytes } from '../assets.js';
import { encodePlan, type PlanStep, ShimOp } from '../plan/encode.js';
import { errnoName } from './errno.js';
import * as libc from './libc.js';

const ALL_SEALS = libc.F_SEAL_SEAL | libc.F_SEAL_SHRINK | libc.F_SEAL_GROW | libc.F_SEAL_WRITE;

enum Report {
  StepOk = 1,
  StepFailed = 2,
  PlanInvalid = 3,
  Pid = 4,
  Sync = 5,
  Ready = 6,
}
const REPORT_HEADER_SIZE = 16;

/** A step the shim could not do: which step, the errno (0 when the detail says it all), and what the shim was doing. */
export class ShimStepError extends Error {
  constructor(
    readonly step: PlanStep,
    readonly errno: number,
    readonly detail: string,
  ) {
    super(errno === 0 ? `${step.what}: ${detail}` : `${step.what}: ${detail}: ${errnoName(errno)}`);
    this.name = 'ShimStepError';
  }
}

/** A plan as the shim reads it from the socket: u32 length, then the encoded plan. */
function framed(plan: readonly PlanStep[]): Buffer {
  const encoded = encodePlan(plan);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(encoded.length);
  return Buffer.concat([length, encoded]);
}

let shimFd: number | undefined;

/**
 * The shim lives in a sealed memfd: nothing can rewrite it, and a container process that opens
 * /proc/<pid>/exe reaches only this anonymous copy, never a host binary.
 */
export function sealedShimFd(): number {
  if (shimFd === undefined) {
    const fd = libc.memfdCreate('tsrun-shim', libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    writeSync(fd, assetBytes('shim'));
    libc.fcntl(fd, libc.F_ADD_SEALS, ALL_SEALS);
    shimFd = fd;
  }
  return shimFd;
}

/** One of the shim's stdio slots: a Node stdio kind or an fd of this process to pass. */
export type IOSlot = IOType | number;

export interface ShimOptions {
  /** What the shim's fds 0, 1, 2, … are; the sync socket comes right after them. */
  stdio?: IOSlot[];
  /**
   * Called when the shim reports the container process's pid. The plan that process runs next
   * (after a nextPlan step) is what this returns: it can name the pid, which the first plan could not.
   */
  onPid?: (pid: number) => Promise<readonly PlanStep[]> | readonly PlanStep[];
  /** Called at each sync step; the shim waits until it returns, and fails the step if it throws. */
  onSync?: (step: PlanStep) => Promise<void> | void;
}

export interface ShimRun {
  /** The container process pid, once reported. */
  pid: number | undefined;
  /** Whether the plan reached its ready step (the shim no longer reports after it). */
  ready: boolean;
  /** The shim process itself (in relay mode it lives as long as the container process). */
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a plan in a fresh shim process. Resolves once the plan reports ready (or, for a plan
 * without a ready step, once the shim is done); rejects with ShimStepError when a step fails.
 */
export function runShim(plan: readonly PlanStep[], opts: ShimOptions = {}): Promise<ShimRun> {
  const stdio: IOSlot[] = [...(opts.stdio ?? ['ignore', 'ignore', 'inherit']), 'pipe'];
  const syncIndex = stdio.length - 1;
  const child: ChildProcess = spawn(`/proc/self/fd/${sealedShimFd()}`, [String(syncIndex)], { argv0: 'tsrun-shim', stdio, env: {} });
  const sync = child.stdio[syncIndex] as Duplex;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const run: ShimRun = { pid: undefined, ready: false, child, exited };

  return new Promise<ShimRun>((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(run);
    };
    // Reports name steps of the plan being run: the first, then the one onPid sends.
    let current = plan;
    // Handlers run one at a time, in report order; each answers the wait that follows its report.
    let queue = Promise.resolve();
    const answer = (handler: () => Promise<Buffer>) => {
      queue = queue.then(async () => {
        try {
          sync.write(await handler());
        } catch (err) {
          sync.write(Buffer.of(1));
          settle(err as Error);
        }
      });
    };
    let buffered = Buffer.alloc(0);
    // For crash-consistency tests: die, as a SIGKILL would have it, once this many reports came in.
    let crashAfter = Number(process.env.TSRUN_DEBUG_CRASH_AFTER_REPORTS ?? 0);
    sync.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= REPORT_HEADER_SIZE) {
        if (crashAfter > 0 && --crashAfter === 0) process.kill(process.pid, 'SIGKILL');
        const detailLength = buffered.readUInt32LE(12);
        if (buffered.length < REPORT_HEADER_SIZE + detailLength) break;
        const kind = buffered.readUInt32LE(0);
        const index = buffered.readUInt32LE(4);
        const value = buffered.readInt32LE(8);
        const detail = buffered.subarray(REPORT_HEADER_SIZE, REPORT_HEADER_SIZE + detailLength).toString();
        buffered = buffered.subarray(REPORT_HEADER_SIZE + detailLength);
        const step = current[index];
        if (kind === Report.StepFailed && step) settle(new ShimStepError(step, value, detail));
        else if (kind === Report.PlanInvalid) settle(new Error(`shim refused the plan at step ${index}: ${detail}`));
        else if (kind === Report.Pid) {
          run.pid = value;
          answer(async () => {
            const next = (await opts.onPid?.(value)) ?? [];
            current = next;
            return framed(next);
          });
        } else if (kind === Report.Sync && step)
          answer(async () => {
            await opts.onSync?.(step);
            return Buffer.of(0);
          });
        else if (kind === Report.Ready) {
          run.ready = true;
          queue.then(() => settle());
        }
      }
    });
    sync.on('error', () => {});
    sync.write(framed(plan));
    // Every holder of the socket (the shim, and the container process it cloned) is gone or done.
    sync.on('end', () =>
      queue.then(() => {
        const expectsReady = current.some((p) => p.op === ShimOp.Ready);
        if (run.ready || !expectsReady) settle();
        else settle(new Error('the container process exited before it was ready'));
      }),
    );
    exited.catch((err: Error) => settle(err));
  });
}
