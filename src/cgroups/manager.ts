/** One interface over the two cgroup drivers (select.ts chooses), and helpers they share. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../cli/errors.js';
import type { Linux } from '../spec/config.js';

export type Resources = NonNullable<Linux['resources']>;

/** Usage figures in runc's `events` layout (what operators' tools read). */
export interface CgroupStats {
  cpu?: {
    usage: { total: number; percpu?: number[]; kernel: number; user: number };
    throttling?: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  memory?: {
    usage: { usage: number; max?: number; limit: number; failcnt?: number };
    swap?: { usage: number; limit: number };
    raw?: Record<string, number>;
  };
  pids?: { current: number; limit: number };
  hugetlb?: Record<string, { usage: number; max?: number; failcnt: number }>;
}

export interface CgroupManager {
  readonly driver: 'v1' | 'v2';
  /** The container's cgroup path, the same in every hierarchy. */
  readonly path: string;
  create(): void;
  /**
   * Writes linux.resources (at create also the device rules); returns what this host cannot apply
   * (for one warning line).
   */
  apply(resources: Resources, atCreate?: boolean): string[];
  /**
   * Throws what apply(resources, true) would refuse for the config's sake (a controller the host
   * lacks, a v2 file on a v1 host …), writing nothing: create checks before it makes anything.
   */
  check(resources: Resources): void;
  /**
   * The eBPF device program to attach to the cgroup (v2; v1 writes its lists in apply), with the
   * directory to attach it to.
   */
  deviceFilter(resources: Resources): { cgroupDir: string; program: Uint8Array } | undefined;
  /** Puts a process in the cgroup, before it runs anything of the container's. */
  addProcess(pid: number): void;
  pids(): number[];
  /** Freezes every process, returning once they are frozen. */
  freeze(): Promise<void>;
  thaw(): void;
  isFrozen(): boolean;
  /** Kills every process at once through cgroup.kill; false when the kernel has no cgroup.kill. */
  killAll(): boolean;
  stats(): CgroupStats;
  /** How many processes the OOM killer has killed in the cgroup so far. */
  oomKills(): number;
  /** Removes the cgroup (empty of processes by then). */
  remove(): void;
}

export const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Writes a cgroup file; a refusal names the file, the value and the errno. */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  const path = join(dir, file);
  try {
    writeFileSync(path, value);
  } catch (err) {
    // cgroupfs answers EACCES, not ENOENT, for a file it does not have.
    if (existsSync(dir) && !existsSync(path))
      throw new UserError(`cgroup: cannot write ${JSON.stringify(value)} to ${path}: this kernel has no such file`);
    throw new UserError(`cgroup: writing ${JSON.stringify(value)} to ${path}: ${errCode(err)}`);
  }
}

/** A cgroup file's text, or undefined when it does not exist here. */
export function readCgroupFile(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** A cgroup file holding one number ("max" reads as -1); undefined when absent. */
export function readNumber(dir: string, file: string): number | undefined {
  const text = readCgroupFile(dir, file)?.trim();
  if (text === undefined || text === '') return undefined;
  return text === 'max' ? -1 : Number(text);
}

/** "key value" lines (memory.stat, cpu.stat, memory.events …) as numbers. */
export function readKeyed(dir: string, file: string): Record<string, number> | undefined {
  const text = readCgroupFile(dir, file);
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) out[key] = Number(value);
  }
  return out;
}

/** The mount point of the v2 hierarchy, from mountinfo. */
export function v2MountPoint(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if ((right ?? '').startsWith('cgroup2 ')) return (left ?? '').split(' ')[4];
  }
  return undefined;
}
