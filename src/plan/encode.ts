/**
 * The plan the native shim executes, in the wire format of native-shim/protocol.h:
 * a header, then steps of (u16 op, u16 reserved, u32 length, payload), all little-endian.
 */
export const PLAN_MAGIC = 0x4c505354; // "TSPL"
export const PLAN_VERSION = 1;

export enum ShimOp {
  Unshare = 1,
  Exit = 2,
}

/** One step as TypeScript describes it; `what` is the human name used in error messages. */
export interface PlanStep {
  op: ShimOp;
  payload: Uint8Array;
  what: string;
}

export function unshareStep(flags: bigint, what: string): PlanStep {
  const payload = Buffer.alloc(8);
  payload.writeBigUInt64LE(flags);
  return { op: ShimOp.Unshare, payload, what };
}

export function exitStep(status: number): PlanStep {
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(status);
  return { op: ShimOp.Exit, payload, what: 'exit' };
}

const HEADER_SIZE = 16;
const STEP_HEADER_SIZE = 8;

export function encodePlan(steps: readonly PlanStep[]): Buffer {
  const size = steps.reduce((n, s) => n + STEP_HEADER_SIZE + s.payload.length, 0);
  const out = Buffer.alloc(HEADER_SIZE + size);
  out.writeUInt32LE(PLAN_MAGIC, 0);
  out.writeUInt32LE(PLAN_VERSION, 4);
  out.writeUInt32LE(steps.length, 8);
  out.writeUInt32LE(size, 12);
  let off = HEADER_SIZE;
  for (const step of steps) {
    out.writeUInt16LE(step.op, off);
    out.writeUInt32LE(step.payload.length, off + 4);
    out.set(step.payload, off + STEP_HEADER_SIZE);
    off += STEP_HEADER_SIZE + step.payload.length;
  }
  return out;
}
