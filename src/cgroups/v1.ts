/**
 * The cgroup v1 driver (legacy and hybrid hosts): one directory per controller hierarchy, the
 * container's processes in each, limits written to the controllers' files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../cli/errors.js';
import { rdmaLine } from './convert.js';
import { cgroupMounts } from './detect.js';
import { deviceRules, v1RuleLine } from './devices.js';
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
import { CgroupV2 } from './v2.js';

/**
 * Controller (or "name=<name>" for a named hierarchy like systemd's) → mount point of its v1
 * hierarchy; co-mounted controllers share one.
 */
export function v1Hierarchies(mountinfo?: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of cgroupMounts(mountinfo)) {
    if (m.fstype !== 'cgroup') continue;
    for (const option of m.options.split(',').filter(Boolean)) out.set(option, m.point);
  }
  return out;
}

/** Engines fill the numbers they do not set with 0 (Docker does): 0 means "leave as it is", as runc reads it. */
const given = (v: number | bigint | undefined): v is number | bigint => v !== undefined && Number(v) !== 0;

const USER_HZ = 100; // cpuacct.stat counts in clock ticks
const NS_PER_TICK = 1e9 / USER_HZ;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class CgroupV1 implements CgroupManager {
  readonly driver = 'v1';
  private readonly dirs: Map<string, string>;
  /** The container's cgroup in the v2 tree of a hybrid host: cgroup.kill, and the controllers only v2 has there. */
  private readonly unified: CgroupV2 | undefined;
  /** During check(): apply() goes through every limit, writing nothing. */
  private checking = false;

  /** path: the container's cgroup path, absolute within each hierarchy (e.g. /tsrun/c1). */
  constructor(
    readonly path: string,
    unifiedMount?: string,
    hierarchies = v1Hierarchies(),
  ) {
    this.dirs = new Map([...hierarchies].map(([controller, point]) => [controller, join(point, path)]));
    this.unified = unifiedMount === undefined ? undefined : new CgroupV2(path, unifiedMount);
  }

  private dir(controller: string): string | undefined {
    return this.dirs.get(controller);
  }

  private write(controller: string, file: string, value: string): void {
    const dir = this.dir(controller);
    if (dir === undefined) throw new UserError(`cgroup: the ${controller} controller is not mounted on this host (needed for ${file})`);
    if (!this.checking) writeCgroupFile(dir, file, value);
  }

  /** Makes the directories; a new cpuset cgroup starts with its parent's cpus and mems (else no process may join). */
  create(): void {
    this.unified?.create();
    for (const dir of this.dirs.values()) {
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
  apply(resources: Resources, atCreate = false): string[] {
    const skipped: string[] = [];
    const { memory, pids, cpu, blockIO } = resources;
    if (memory) {
      if (given(memory.limit)) this.write('memory', 'memory.limit_in_bytes', String(memory.limit));
      if (given(memory.reservation)) this.write('memory', 'memory.soft_limit_in_bytes', String(memory.reservation));
      if (given(memory.swap)) this.write('memory', 'memory.memsw.limit_in_bytes', String(memory.swap));
      if (memory.swappiness !== undefined) this.write('memory', 'memory.swappiness', String(memory.swappiness));
      if (memory.disableOOMKiller) this.write('memory', 'memory.oom_control', '1');
      if (memory.useHierarchy !== undefined) this.write('memory', 'memory.use_hierarchy', memory.useHierarchy ? '1' : '0');
      // The TCP buffer limit still holds in v1 (runc 1.1.5 ignores it: the spec wins); kernel memory limits
      // are no longer enforced (the kernel takes memory.kmem.limit_in_bytes and ignores it).
      if (given(memory.kernelTCP)) this.write('memory', 'memory.kmem.tcp.limit_in_bytes', String(memory.kernelTCP));
      if (memory.kernel !== undefined) skipped.push('memory.kernel (kernel memory limits are gone from the kernel)');
    }
    if (pids) this.write('pids', 'pids.max', Number(pids.limit) > 0 ? String(pids.limit) : 'max');
    if (cpu) {
      if (given(cpu.shares)) this.write('cpu', 'cpu.shares', String(cpu.shares));
      if (given(cpu.period)) this.write('cpu', 'cpu.cfs_period_us', String(cpu.period));
      if (given(cpu.quota)) this.write('cpu', 'cpu.cfs_quota_us', String(cpu.quota));
      if (given(cpu.burst)) this.write('cpu', 'cpu.cfs_burst_us', String(cpu.burst));
      if (given(cpu.realtimePeriod)) this.write('cpu', 'cpu.rt_period_us', String(cpu.realtimePeriod));
      if (given(cpu.realtimeRuntime)) this.write('cpu', 'cpu.rt_runtime_us', String(cpu.realtimeRuntime));
      if (cpu.cpus) this.write('cpuset', 'cpuset.cpus', cpu.cpus);
      if (cpu.mems) this.write('cpuset', 'cpuset.mems', cpu.mems);
      if (cpu.idle !== undefined) skipped.push('cpu.idle (cgroup v2 only)');
    }
    if (blockIO) this.applyBlockIO(blockIO);
    if (resources.network?.classID !== undefined) this.write('net_cls', 'net_cls.classid', String(resources.network.classID));
    for (const p of resources.network?.priorities ?? []) this.write('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
    // hugetlb and rdma in their v1 hierarchies; on a hybrid host that lacks one, in the v2 tree if it has the controller.
    const v2Only: Resources = {};
    for (const h of resources.hugepageLimits ?? []) {
      if (this.dir('hugetlb') || !this.unified) this.write('hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit));
      else v2Only.hugepageLimits = [...(v2Only.hugepageLimits ?? []), h];
    }
    for (const [device, r] of Object.entries(resources.rdma ?? {})) {
      if (this.dir('rdma') || !this.unified) this.write('rdma', 'rdma.max', rdmaLine(device, r));
      else v2Only.rdma = { ...v2Only.rdma, [device]: r };
    }
    if (resources.unified !== undefined) {
      if (!this.unified) throw new UserError('config.json: linux.resources.unified needs cgroup v2, and this host has cgroup v1 only');
      v2Only.unified = resources.unified;
    }
    if (Object.keys(v2Only).length > 0) {
      if (this.checking) this.unified?.check(v2Only);
      else this.unified?.apply(v2Only);
    }
    // At create the whole list; an update leaves the device rules as they are.
    if (atCreate && this.dir('devices')) {
      for (const rule of deviceRules(resources)) this.write('devices', rule.allow ? 'devices.allow' : 'devices.deny', v1RuleLine(rule));
    }
    return skipped;
  }

  check(resources: Resources): void {
    this.checking = true;
    try {
      this.apply(resources, true);
    } finally {
      this.checking = false;
    }
  }

  /** blkio: the weight (blkio.weight, or BFQ's blkio.bfq.weight), per-device weights and throttles. */
  private applyBlockIO(blockIO: NonNullable<Resources['blockIO']>): void {
    const dir = this.dir('blkio') ?? '';
    const bfq = !existsSync(join(dir, 'blkio.weight')) && existsSync(join(dir, 'blkio.bfq.weight'));
    const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
    if (given(blockIO.weight)) this.write('blkio', weightFile, String(blockIO.weight));
    if (given(blockIO.leafWeight)) this.write('blkio', 'blkio.leaf_weight', String(blockIO.leafWeight));
    for (const d of blockIO.weightDevice ?? []) {
      if (given(d.weight)) this.write('blkio', `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`);
      if (given(d.leafWeight)) this.write('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`);
    }
    const throttles = [
      ['blkio.throttle.read_bps_device', blockIO.throttleReadBpsDevice],
      ['blkio.throttle.write_bps_device', blockIO.throttleWriteBpsDevice],
      ['blkio.throttle.read_iops_device', blockIO.throttleReadIOPSDevice],
      ['blkio.throttle.write_iops_device', blockIO.throttleWriteIOPSDevice],
    ] as const;
    for (const [file, list] of throttles) for (const d of list ?? []) this.write('blkio', file, `${d.major}:${d.minor} ${d.rate ?? 0}`);
  }

  deviceFilter(): undefined {
    return undefined; // the v1 lists are written by apply
  }

  addProcess(pid: number): void {
    for (const dir of this.dirs.values()) writeCgroupFile(dir, 'cgroup.procs', String(pid));
    this.unified?.addProcess(pid);
  }

  pids(): number[] {
    const dir = this.dir('pids') ?? this.dirs.values().next().value;
    if (dir === undefined) return this.unified?.pids() ?? [];
    return (readCgroupFile(dir, 'cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
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
    return this.unified?.killAll() ?? false;
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
    this.unified?.remove();
    for (const dir of this.dirs.values()) {
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
