/**
 * The cgroup v1 driver (legacy and hybrid hosts): one directory per controller hierarchy, the
 * container's processes in each, limits written to the controllers' files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../cli/errors.js';
import {
  type CgroupManager,
  type CgroupStats,
  errCode,
  type Resources,
  readCgroupFile,
  readKeyed,
  readNumber,
  writeCgroupFile,
} from './manager.js';

/** Controller name → mount point of its v1 hierarchy (co-mounted controllers share one). */
export function v1Hierarchies(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const [fstype, , superOptions] = (right ?? '').split(' ');
    const point = (left ?? '').split(' ')[4];
    if (fstype !== 'cgroup' || point === undefined) continue;
    for (const option of (superOptions ?? '').split(',')) {
      if (['rw', 'ro'].includes(option) || option.startsWith('name=') || option.includes('=')) continue;
      out.set(option, point);
    }
  }
  return out;
}

const USER_HZ = 100; // cpuacct.stat counts in clock ticks
const NS_PER_TICK = 1e9 / USER_HZ;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class CgroupV1 implements CgroupManager {
  readonly driver = 'v1';
  private readonly dirs: Map<string, string>;
  /** The container's directory in the v2 tree of a hybrid host (placement, cgroup.kill). */
  private readonly unified: string | undefined;

  /** path: the container's cgroup path, absolute within each hierarchy (e.g. /tsrun/c1). */
  constructor(
    readonly path: string,
    unifiedMount?: string,
    hierarchies = v1Hierarchies(),
  ) {
    this.dirs = new Map([...hierarchies].map(([controller, point]) => [controller, join(point, path)]));
    this.unified = unifiedMount === undefined ? undefined : join(unifiedMount, path);
  }

  private dir(controller: string): string | undefined {
    return this.dirs.get(controller);
  }

  private write(controller: string, file: string, value: string): void {
    const dir = this.dir(controller);
    if (dir === undefined) throw new UserError(`cgroup: the ${controller} controller is not mounted on this host (needed for ${file})`);
    writeCgroupFile(dir, file, value);
  }

  private allDirs(): string[] {
    return [...this.dirs.values(), ...(this.unified ? [this.unified] : [])];
  }

  /** Makes the directories; a new cpuset cgroup starts with its parent's cpus and mems (else no process may join). */
  create(): void {
    for (const dir of this.allDirs()) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (err) {
        throw new UserError(`cgroup: creating ${dir}: ${errCode(err)}`);
      }
    }
    const cpuset = this.dir('cpuset');
    if (cpuset) for (const file of ['cpuset.cpus', 'cpuset.mems']) this.inheritCpuset(cpuset, file);
  }

  private inheritCpuset(dir: string, file: string): void {
    if (readFileSync(join(dir, file), 'utf8').trim() !== '') return;
    const parent = dirname(dir);
    this.inheritCpuset(parent, file);
    writeFileSync(join(dir, file), readFileSync(join(parent, file), 'utf8').trim());
  }

  /** Writes the limits of linux.resources this driver knows; returns the ones it does not apply. */
  apply(resources: Resources): string[] {
    const skipped: string[] = [];
    const { memory, pids, cpu, blockIO } = resources;
    if (memory) {
      if (memory.limit !== undefined) this.write('memory', 'memory.limit_in_bytes', String(memory.limit));
      if (memory.reservation !== undefined) this.write('memory', 'memory.soft_limit_in_bytes', String(memory.reservation));
      if (memory.swap !== undefined) this.write('memory', 'memory.memsw.limit_in_bytes', String(memory.swap));
      if (memory.swappiness !== undefined) this.write('memory', 'memory.swappiness', String(memory.swappiness));
      if (memory.disableOOMKiller) this.write('memory', 'memory.oom_control', '1');
      if (memory.kernel !== undefined || memory.kernelTCP !== undefined) skipped.push('memory.kernel/kernelTCP (removed from the kernel)');
    }
    if (pids) this.write('pids', 'pids.max', Number(pids.limit) > 0 ? String(pids.limit) : 'max');
    if (cpu) {
      if (cpu.shares !== undefined) this.write('cpu', 'cpu.shares', String(cpu.shares));
      if (cpu.period !== undefined) this.write('cpu', 'cpu.cfs_period_us', String(cpu.period));
      if (cpu.quota !== undefined) this.write('cpu', 'cpu.cfs_quota_us', String(cpu.quota));
      if (cpu.burst !== undefined) this.write('cpu', 'cpu.cfs_burst_us', String(cpu.burst));
      if (cpu.realtimePeriod !== undefined) this.write('cpu', 'cpu.rt_period_us', String(cpu.realtimePeriod));
      if (cpu.realtimeRuntime !== undefined) this.write('cpu', 'cpu.rt_runtime_us', String(cpu.realtimeRuntime));
      if (cpu.cpus) this.write('cpuset', 'cpuset.cpus', cpu.cpus);
      if (cpu.mems) this.write('cpuset', 'cpuset.mems', cpu.mems);
      if (cpu.idle !== undefined) skipped.push('cpu.idle (cgroup v2 only)');
    }
    if (blockIO?.weight !== undefined) this.write('blkio', 'blkio.weight', String(blockIO.weight));
    for (const key of ['hugepageLimits', 'network', 'rdma', 'unified'] as const) {
      if (resources[key] !== undefined) skipped.push(key);
    }
    if (blockIO && Object.keys(blockIO).some((k) => k !== 'weight')) skipped.push('blockIO (per-device settings)');
    if (resources.devices?.some((d) => d.allow)) skipped.push('devices (allow rules)');
    return skipped;
  }

  addProcess(pid: number): void {
    for (const dir of this.allDirs()) writeCgroupFile(dir, 'cgroup.procs', String(pid));
  }

  pids(): number[] {
    const dir = this.dir('pids') ?? this.unified ?? this.dirs.values().next().value;
    const text = dir === undefined ? undefined : readCgroupFile(dir, 'cgroup.procs');
    return (text ?? '').split('\n').filter(Boolean).map(Number);
  }

  async freeze(): Promise<void> {
    this.write('freezer', 'freezer.state', 'FROZEN');
    // FREEZING until every task has stopped; a task in an uninterruptible sleep can hold it there.
    for (let waited = 0; waited < 5_000; waited += 10) {
      if (this.isFrozen()) return;
      await sleep(10);
    }
    this.thaw();
    throw new UserError(
      `cgroup: ${join(this.dir('freezer') ?? '', 'freezer.state')} did not reach FROZEN within 5 s (a task in uninterruptible sleep?); thawed again`,
    );
  }

  thaw(): void {
    this.write('freezer', 'freezer.state', 'THAWED');
  }

  isFrozen(): boolean {
    const dir = this.dir('freezer');
    return dir !== undefined && readCgroupFile(dir, 'freezer.state')?.trim() === 'FROZEN';
  }

  killAll(): boolean {
    if (this.unified === undefined || readCgroupFile(this.unified, 'cgroup.kill') === undefined) return false;
    writeCgroupFile(this.unified, 'cgroup.kill', '1');
    return true;
  }

  stats(): CgroupStats {
    const out: CgroupStats = {};
    const cpuacct = this.dir('cpuacct');
    const total = cpuacct === undefined ? undefined : readNumber(cpuacct, 'cpuacct.usage');
    if (cpuacct && total !== undefined) {
      const ticks = readKeyed(cpuacct, 'cpuacct.stat') ?? {};
      const percpu = readCgroupFile(cpuacct, 'cpuacct.usage_percpu')?.trim().split(/\s+/).map(Number);
      const throttled = this.dir('cpu') ? readKeyed(this.dir('cpu') as string, 'cpu.stat') : undefined;
      out.cpu = {
        usage: { total, percpu, kernel: (ticks.system ?? 0) * NS_PER_TICK, user: (ticks.user ?? 0) * NS_PER_TICK },
        ...(throttled && {
          throttling: {
            periods: throttled.nr_periods ?? 0,
            throttledPeriods: throttled.nr_throttled ?? 0,
            throttledTime: throttled.throttled_time ?? 0,
          },
        }),
      };
    }
    const memory = this.dir('memory');
    const usage = memory === undefined ? undefined : readNumber(memory, 'memory.usage_in_bytes');
    if (memory && usage !== undefined) {
      const swapUsage = readNumber(memory, 'memory.memsw.usage_in_bytes');
      out.memory = {
        usage: {
          usage,
          max: readNumber(memory, 'memory.max_usage_in_bytes'),
          limit: readNumber(memory, 'memory.limit_in_bytes') ?? -1,
          failcnt: readNumber(memory, 'memory.failcnt'),
        },
        ...(swapUsage !== undefined && { swap: { usage: swapUsage, limit: readNumber(memory, 'memory.memsw.limit_in_bytes') ?? -1 } }),
        raw: readKeyed(memory, 'memory.stat'),
      };
    }
    const pids = this.dir('pids');
    const current = pids === undefined ? undefined : readNumber(pids, 'pids.current');
    if (pids && current !== undefined) out.pids = { current, limit: readNumber(pids, 'pids.max') ?? -1 };
    return out;
  }

  oomKills(): number {
    const memory = this.dir('memory');
    return (memory === undefined ? undefined : readKeyed(memory, 'memory.oom_control')?.oom_kill) ?? 0;
  }

  /** Removes the directories, deepest first (sub-cgroups the container made, then its own). */
  remove(): void {
    for (const dir of this.allDirs()) {
      if (!existsSync(dir)) continue;
      for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) rmdirSync(join(dir, sub.name));
      try {
        rmdirSync(dir);
      } catch (err) {
        if (errCode(err) !== 'ENOENT') throw new UserError(`cgroup: removing ${dir}: ${errCode(err)}`);
      }
    }
  }
}
