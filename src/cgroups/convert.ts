/**
 * The spec's v1 values in v2 terms (config-linux.md lets a runtime convert; engines still send v1
 * fields on v2 hosts). The formulas map the ends of each v1 range onto the ends of the v2 range.
 */
import { UserError } from '../cli/errors.js';

/** cpu.shares [2, 262144] → cpu.weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  const clamped = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((clamped - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000]. */
export function blkioToIoWeight(weight: number): number {
  const clamped = Math.min(Math.max(weight, 10), 1000);
  return 1 + Math.floor(((clamped - 10) * 9999) / 990);
}

/**
 * memory.swap in v1 is memory plus swap; v2's memory.swap.max is swap alone. -1 means no limit.
 * Returns the memory.swap.max value ("max" or bytes), or undefined when swap is not set.
 */
export function swapToV2(limit: number | undefined, swap: number | undefined): string | undefined {
  if (swap === undefined || swap === 0) return limit === -1 && swap === 0 ? 'max' : undefined;
  if (swap === -1) return 'max';
  if (limit === undefined || limit <= 0)
    throw new UserError(`linux.resources.memory.swap (${swap}) needs memory.limit on cgroup v2, where the swap limit excludes memory`);
  if (swap < limit)
    throw new UserError(`linux.resources.memory.swap (${swap}) is memory plus swap, so it may not be below memory.limit (${limit})`);
  return String(swap - limit);
}

/** A limit as a v2 file wants it: -1 (and any negative) means "max". */
export const v2Limit = (value: number | bigint): string => (Number(value) < 0 ? 'max' : String(value));

/** An rdma.max line (the same in v1 and v2): "<device> hca_handle=N hca_object=M". */
export function rdmaLine(device: string, r: { hcaHandles?: number; hcaObjects?: number }): string {
  const handles = r.hcaHandles === undefined ? '' : ` hca_handle=${r.hcaHandles}`;
  const objects = r.hcaObjects === undefined ? '' : ` hca_object=${r.hcaObjects}`;
  return `${device}${handles}${objects}`;
}
