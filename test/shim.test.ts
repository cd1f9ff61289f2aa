import { describe, expect, it } from 'vitest';
import { NAMESPACES } from '../src/linux/namespaces.js';
import { runShim, ShimStepError } from '../src/linux/shim.js';
import { encodePlan, ParentMode, PLAN_MAGIC, PLAN_VERSION, type ShimOp, steps } from '../src/plan/encode.js';

describe('plan encoding', () => {
  it('lays out the header and fields as native-shim/protocol.h reads them', () => {
    const plan = encodePlan([steps.unshare(NAMESPACES.uts.flag, 'uts'), steps.sethostname('box')]);
    expect(plan.readUInt32LE(0)).toBe(PLAN_MAGIC);
    expect(plan.readUInt32LE(4)).toBe(PLAN_VERSION);
    expect(plan.readUInt32LE(8)).toBe(2);
    expect(plan.readUInt32LE(12)).toBe(plan.length - 16);
    expect(plan.readUInt16LE(16)).toBe(1);
    expect(plan.readUInt32LE(20)).toBe(8);
    expect(plan.readBigUInt64LE(24)).toBe(NAMESPACES.uts.flag);
    expect(plan.readUInt16LE(32)).toBe(13);
    expect(plan.readUInt32LE(36)).toBe(4 + 3 + 1);
    expect(plan.readUInt32LE(40)).toBe(3);
    expect(plan.subarray(44, 48).toString('latin1')).toBe('box\0');
  });

  it('refuses a string with a NUL byte', () => {
    expect(() => steps.sethostname('a\0b')).toThrow(/NUL/);
  });
});

describe('the sealed shim', () => {
  it('runs a plan step by step', async () => {
    const run = await runShim([steps.unshare(NAMESPACES.user.flag, 'new user namespace'), steps.exit(7)]);
    expect(await run.exited).toEqual({ code: 7, signal: null });
  });

  it('reports a failed step with its errno and the step TypeScript named', async () => {
    const bogusFlags = 0x1n; // not a namespace flag: unshare says EINVAL
    const failure = runShim([steps.unshare(bogusFlags, 'unshare an impossible namespace'), steps.exit(0)]);
    await expect(failure).rejects.toThrow(ShimStepError);
    await expect(failure).rejects.toThrow('unshare an impossible namespace: unshare: EINVAL');
  });

  it('refuses an unknown op instead of guessing', async () => {
    const unknown = { op: 99 as ShimOp, payload: new Uint8Array(), what: 'mystery' };
    await expect(runShim([unknown])).rejects.toThrow('shim refused the plan at step 0: unknown op');
  });

  it('hands the cloned process the plan built after its pid is known', async () => {
    let seen = 0;
    const run = await runShim([steps.clone(NAMESPACES.uts.flag, ParentMode.Relay), steps.nextPlan()], {
      onPid: (pid) => {
        seen = pid;
        return [steps.sethostname(`p${pid}`), steps.exit(3)];
      },
    });
    expect(run.pid).toBe(seen);
    expect(seen).toBeGreaterThan(1);
    // The relaying parent exits with the child's status.
    expect(await run.exited).toEqual({ code: 3, signal: null });
  });

  it('a step failure in the cloned process names that step', async () => {
    const failure = runShim([steps.clone(0n, ParentMode.Exit), steps.nextPlan()], {
      onPid: () => [steps.chdir('/nonexistent/tsrun-test')],
    });
    await expect(failure).rejects.toThrow(
      'change to the working directory "/nonexistent/tsrun-test": chdir /nonexistent/tsrun-test: ENOENT',
    );
  });
});
