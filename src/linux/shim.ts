import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { assetBytes } from '../assets.js';
import { encodePlan, type PlanStep } from '../plan/encode.js';
import { errnoName } from './errno.js';
import * as libc from './libc.js';

const ALL_SEALS = libc.F_SEAL_SEAL | libc.F_SEAL_SHRINK | libc.F_SEAL_GROW | libc.F_SEAL_WRITE;
/** The fd number the shim finds its sync socket on (the 4th stdio slot of the spawn). */
const SYNC_FD = 3;

const REPORT_STEP_OK = 1;
const REPORT_STEP_FAILED = 2;
const REPORT_PLAN_INVALID = 3;
const REPORT_HEADER_SIZE = 16;

/** A step the shim could not do: which step, the errno, and what the shim was doing. */
export class ShimStepError extends Error {
  constructor(
    readonly step: PlanStep,
    readonly errno: number,
    readonly detail: string,
  ) {
    super(`${step.what}: ${detail}: ${errnoName(errno)}`);
    this.name = 'ShimStepError';
  }
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

export interface ShimRun {
  /** Steps the shim reported as done, in order. */
  completed: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** Reads the shim's reports: resolves with the count of finished steps, rejects on a failed step. */
function readReports(sync: Readable, steps: readonly PlanStep[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let completed = 0;
    sync.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= REPORT_HEADER_SIZE) {
        const detailLength = buffered.readUInt32LE(12);
        if (buffered.length < REPORT_HEADER_SIZE + detailLength) break;
        const kind = buffered.readUInt32LE(0);
        const index = buffered.readUInt32LE(4);
        const errno = buffered.readInt32LE(8);
        const detail = buffered.subarray(REPORT_HEADER_SIZE, REPORT_HEADER_SIZE + detailLength).toString();
        buffered = buffered.subarray(REPORT_HEADER_SIZE + detailLength);
        const step = steps[index];
        if (kind === REPORT_STEP_OK) completed++;
        else if (kind === REPORT_STEP_FAILED && step) reject(new ShimStepError(step, errno, detail));
        else if (kind === REPORT_PLAN_INVALID) reject(new Error(`shim refused the plan at step ${index}: ${detail}`));
      }
    });
    sync.on('end', () => resolve(completed));
    sync.on('error', reject);
  });
}

/** Runs a plan in a fresh shim process and waits for it to exit. */
export async function runShim(steps: readonly PlanStep[]): Promise<ShimRun> {
  const child = spawn(`/proc/self/fd/${sealedShimFd()}`, [String(SYNC_FD)], {
    argv0: 'tsrun-shim',
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    env: {},
  });
  const sync = child.stdio[SYNC_FD] as Readable & Writable;
  const exited = new Promise<Pick<ShimRun, 'exitCode' | 'signal'>>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  const plan = encodePlan(steps);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(plan.length);
  sync.write(Buffer.concat([length, plan]));
  const [completed, exit] = await Promise.all([readReports(sync, steps), exited]);
  return { completed, ...exit };
}
