import { describe, expect, it } from 'vitest';
import { runShim, ShimStepError } from '../src/linux/shim.js';
import { encodePlan, exitStep, PLAN_MAGIC, type ShimOp, unshareStep } from '../src/plan/encode.js';

const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWUTS = 0x04000000n;

describe('plan encoding', () => {
  it('lays out the header and steps as native-shim/protocol.h reads them', () => {
    const plan = encodePlan([unshareStep(CLONE_NEWUTS, 'uts'), exitStep(3)]);
    expect(plan.readUInt32LE(0)).toBe(PLAN_MAGIC);
    expect(plan.readUInt32LE(8)).toBe(2);
    expect(plan.readUInt32LE(12)).toBe(plan.length - 16);
    expect(plan.readUInt16LE(16)).toBe(1);
    expect(plan.readUInt32LE(20)).toBe(8);
    expect(plan.readBigUInt64LE(24)).toBe(CLONE_NEWUTS);
    expect(plan.readUInt16LE(32)).toBe(2);
    expect(plan.readUInt32LE(40)).toBe(3);
  });
});

describe('the sealed shim', () => {
  it('runs a plan step by step and exits with the status the plan gives', async () => {
    const run = await runShim([unshareStep(CLONE_NEWUSER, 'new user namespace'), exitStep(7)]);
    expect(run).toEqual({ completed: 1, exitCode: 7, signal: null });
  });

  it('reports a failed step with its errno and the step TypeScript named', async () => {
    const bogusFlags = 0x1n; // not a namespace flag: unshare says EINVAL
    const failure = runShim([unshareStep(bogusFlags, 'unshare an impossible namespace'), exitStep(0)]);
    await expect(failure).rejects.toThrow(ShimStepError);
    await expect(failure).rejects.toThrow('unshare an impossible namespace: unshare: EINVAL');
  });

  it('refuses an unknown op instead of guessing', async () => {
    const unknown = { op: 99 as ShimOp, payload: new Uint8Array(), what: 'mystery' };
    await expect(runShim([unknown])).rejects.toThrow('shim refused the plan at step 0: unknown op');
  });
});
