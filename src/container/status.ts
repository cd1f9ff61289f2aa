import { existsSync, readFileSync } from 'node:fs';
import { cgroupManager } from '../cgroups/select.js';
import type { ContainerStatus } from '../spec/state.js';
import type { ContainerRecord } from './record.js';

/** Start time (clock ticks since boot) of a live process, or undefined when there is none. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: fields after it start past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/**
 * Derives status from facts: the init is alive with its recorded start time, the exec FIFO is
 * present (created), the cgroup is frozen (paused).
 */
export function deriveStatus(record: ContainerRecord, execFifoPath: string): ContainerStatus {
  if (record.pid === 0 || processStartTime(record.pid) !== record.pidStartTime) return 'stopped';
  if (existsSync(execFifoPath)) return 'created';
  const frozen = record.cgroupPath !== undefined && cgroupManager(record.cgroupPath)?.isFrozen();
  return frozen ? 'paused' : 'running';
}
