/**
 * The cgroup v2 driver (unified hosts): one directory, the controllers the limits need enabled in
 * every ancestor's cgroup.subtree_control, v1-style values converted, freezing through
 * cgroup.freeze and killing through cgroup.kill.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { UserError } from '../cli/errors.js';
import { blkioToIoWeight, rdmaLine, sharesToWeight, swapToV2, v2Limit } from './convert.js';
import { deviceFilterProgram } from './device-filter.js';
import { deviceRules } from './devices.js';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NS_PER_USEC = 1000;

/** Files that belong to the runtime, not to linux.resources.unified. */
const RESERVED = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.freeze', 'cgroup.kill', 'cgroup.type']);

export class CgroupV2 implements CgroupManager {
  readonly driver = 'v2';
  readonly dir: string;
  /** During check(): apply() goes through every limit, writing nothing. */
  private checking = false;

  /** path: the container's cgroup path below mount (the v2 hierarchy's mount point). */
  constructor(
    readonly path: string,
    private readonly mount: string,
  ) {
    this.dir = join(mount, path);
  }

  private controllers(dir = this.dir): string[] {
    return (readCgroupFile(dir, 'cgroup.controllers') ?? '').trim().split(/\s+/).filter(Boolean);
  }

  /** Makes the directory, with every controller the hierarchy offers enabled down to it. */
  create(): void {
    const segments = relative(this.mount, this.dir).split('/').filter(Boolean);
    const ancestors = segments.map((_, i) => join(this.mount, ...segments.slice(0, i)));
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new UserError(`cgroup: creating ${this.dir}: ${errCode(err)}`);
    }
    for (const dir of ancestors) {
      for (const controller of this.controllers(dir)) {
        // One at a time: a controller the kernel will not enable here (processes in this cgroup,
        // say) must not stop the others; a limit that needs it then says what is missing.
        try {
          writeCgroupFile(dir, 'cgroup.subtree_control', `+${controller}`);
        } catch {
          // reported by need() when a limit needs it
        }
      }
    }
  }

  /** The controllers of the cgroup; before create(), those it will get: its nearest existing ancestor's. */
  private available(): string[] {
    let dir = this.dir;
    while (!existsSync(dir) && dir.length > this.mount.length) dir = dirname(dir);
    return this.controllers(dir);
  }

  private need(controller: string, what: string): void {
    const available = this.available();
    if (available.includes(controller)) return;
    throw new UserError(
      `cgroup: ${what} needs the ${controller} controller, which is not available in ${this.dir} (it has: ${available.join(' ') || 'none'})`,
    );
  }

  private write(controller: string, file: string, value: string): void {
    this.need(controller, file);
    if (!this.checking) writeCgroupFile(this.dir, file, value);
  }

  check(resources: Resources): void {
    this.checking = true;
    try {
      this.apply(resources);
    } finally {
      this.checking = false;
    }
  }

  apply(resources: Resources): string[] {
    const skipped: string[] = [];
    const { memory, pids, cpu, blockIO } = resources;
    if (memory) {
      const limit = memory.limit === undefined ? undefined : Number(memory.limit);
      if (limit) {
        if (memory.checkBeforeUpdate && limit > 0 && (readNumber(this.dir, 'memory.current') ?? 0) > limit)
          throw new UserError(
            `cgroup: memory.limit ${limit} is below the current usage of ${join(this.dir, 'memory.current')} (checkBeforeUpdate)`,
          );
        this.write('memory', 'memory.max', v2Limit(limit));
      }
      if (memory.reservation) this.write('memory', 'memory.low', v2Limit(memory.reservation));
      const swap = swapToV2(limit, memory.swap === undefined ? undefined : Number(memory.swap));
      if (swap !== undefined) this.write('memory', 'memory.swap.max', swap);
      if (memory.swappiness !== undefined) skipped.push('memory.swappiness (cgroup v1 only)');
      if (memory.disableOOMKiller) skipped.push('memory.disableOOMKiller (cgroup v1 only)');
      if (memory.kernel !== undefined || memory.kernelTCP !== undefined) skipped.push('memory.kernel/kernelTCP (removed from the kernel)');
    }
    if (pids) this.write('pids', 'pids.max', Number(pids.limit) > 0 ? String(pids.limit) : 'max');
    if (cpu) {
      if (cpu.shares !== undefined && Number(cpu.shares) > 0) this.write('cpu', 'cpu.weight', String(sharesToWeight(Number(cpu.shares))));
      if (Number(cpu.quota ?? 0) !== 0 || Number(cpu.period ?? 0) !== 0) {
        // An update may give one of the two: the other keeps its current value.
        const [curQuota, curPeriod] = (readCgroupFile(this.dir, 'cpu.max') ?? 'max 100000').trim().split(' ');
        const quota = Number(cpu.quota ?? 0) === 0 ? curQuota : v2Limit(cpu.quota ?? 0);
        this.write('cpu', 'cpu.max', `${quota} ${Number(cpu.period ?? 0) || curPeriod || 100000}`);
      }
      if (cpu.burst) this.write('cpu', 'cpu.max.burst', String(cpu.burst));
      if (cpu.idle !== undefined) this.write('cpu', 'cpu.idle', String(cpu.idle));
      if (cpu.cpus) this.write('cpuset', 'cpuset.cpus', cpu.cpus);
      if (cpu.mems) this.write('cpuset', 'cpuset.mems', cpu.mems);
      if (cpu.realtimePeriod !== undefined || cpu.realtimeRuntime !== undefined) skipped.push('cpu.realtime* (cgroup v1 only)');
    }
    if (blockIO) {
      if (blockIO.weight) this.write('io', 'io.weight', `default ${blkioToIoWeight(blockIO.weight)}`);
      for (const d of blockIO.weightDevice ?? []) {
        if (d.weight) this.write('io', 'io.weight', `${d.major}:${d.minor} ${blkioToIoWeight(d.weight)}`);
      }
      const throttles = [
        ['rbps', blockIO.throttleReadBpsDevice],
        ['wbps', blockIO.throttleWriteBpsDevice],
        ['riops', blockIO.throttleReadIOPSDevice],
        ['wiops', blockIO.throttleWriteIOPSDevice],
      ] as const;
      for (const [key, list] of throttles) {
        for (const d of list ?? [])
          this.write('io', 'io.max', `${d.major}:${d.minor} ${key}=${d.rate === undefined ? 'max' : v2Limit(d.rate)}`);
      }
      if (blockIO.leafWeight !== undefined) skipped.push('blockIO.leafWeight (cgroup v1 only)');
    }
    for (const h of resources.hugepageLimits ?? []) this.write('hugetlb', `hugetlb.${h.pageSize}.max`, String(h.limit));
    for (const [device, r] of Object.entries(resources.rdma ?? {})) this.write('rdma', 'rdma.max', rdmaLine(device, r));
    for (const [key, value] of Object.entries(resources.unified ?? {})) this.writeUnified(key, value);
    if (resources.network) skipped.push('network (cgroup v1 only)');
    return skipped;
  }

  /** A linux.resources.unified entry: a file of this cgroup, of a controller it has. */
  private writeUnified(key: string, value: string): void {
    const where = `linux.resources.unified["${key}"]`;
    if (!/^[a-z0-9_]+\.[a-zA-Z0-9_.]+$/.test(key) || RESERVED.has(key))
      throw new UserError(`config.json: ${where}: not a cgroup v2 interface file tsrun may write`);
    const controller = key.slice(0, key.indexOf('.'));
    if (controller !== 'cgroup') this.need(controller, where);
    if (this.checking) return;
    if (!existsSync(join(this.dir, key))) throw new UserError(`config.json: ${where}: ${join(this.dir, key)} does not exist`);
    writeCgroupFile(this.dir, key, value);
  }

  deviceFilter(resources: Resources) {
    return { cgroupDir: this.dir, program: deviceFilterProgram(deviceRules(resources)) };
  }

  addProcess(pid: number): void {
    writeCgroupFile(this.dir, 'cgroup.procs', String(pid));
  }

  /** Every process in the cgroup and the cgroups below it. */
  pids(dir = this.dir): number[] {
    const own = (readCgroupFile(dir, 'cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
    const subs = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
    return [...own, ...subs.flatMap((e) => this.pids(join(dir, e.name)))];
  }

  async freeze(): Promise<void> {
    writeCgroupFile(this.dir, 'cgroup.freeze', '1');
    for (let waited = 0; waited < 5_000; waited += 10) {
      if (this.isFrozen()) return;
      await sleep(10);
    }
    this.thaw();
    throw new UserError(`cgroup: ${join(this.dir, 'cgroup.events')} did not report frozen within 5 s; thawed again`);
  }

  thaw(): void {
    writeCgroupFile(this.dir, 'cgroup.freeze', '0');
  }

  isFrozen(): boolean {
    return readKeyed(this.dir, 'cgroup.events')?.frozen === 1;
  }

  killAll(): boolean {
    if (readCgroupFile(this.dir, 'cgroup.kill') === undefined) return false;
    writeCgroupFile(this.dir, 'cgroup.kill', '1');
    return true;
  }

  stats(): CgroupStats {
    const out: CgroupStats = {};
    const cpu = readKeyed(this.dir, 'cpu.stat');
    if (cpu) {
      out.cpu = {
        usage: {
          total: (cpu.usage_usec ?? 0) * NS_PER_USEC,
          kernel: (cpu.system_usec ?? 0) * NS_PER_USEC,
          user: (cpu.user_usec ?? 0) * NS_PER_USEC,
        },
        ...(cpu.nr_periods !== undefined && {
          throttling: {
            periods: cpu.nr_periods,
            throttledPeriods: cpu.nr_throttled ?? 0,
            throttledTime: (cpu.throttled_usec ?? 0) * NS_PER_USEC,
          },
        }),
      };
    }
    const usage = readNumber(this.dir, 'memory.current');
    if (usage !== undefined) {
      const swap = readNumber(this.dir, 'memory.swap.current');
      out.memory = {
        usage: {
          usage,
          max: readNumber(this.dir, 'memory.peak'),
          limit: readNumber(this.dir, 'memory.max') ?? -1,
          failcnt: readKeyed(this.dir, 'memory.events')?.max,
        },
        ...(swap !== undefined && { swap: { usage: swap, limit: readNumber(this.dir, 'memory.swap.max') ?? -1 } }),
        raw: readKeyed(this.dir, 'memory.stat'),
      };
    }
    const current = readNumber(this.dir, 'pids.current');
    if (current !== undefined) out.pids = { current, limit: readNumber(this.dir, 'pids.max') ?? -1 };
    const sizes = existsSync(this.dir)
      ? readdirSync(this.dir)
          .map((f) => /^hugetlb\.([0-9]+[KMG]B)\.current$/.exec(f)?.[1])
          .filter((s): s is string => s !== undefined)
      : [];
    if (sizes.length > 0) {
      out.hugetlb = Object.fromEntries(
        sizes.map((size) => [
          size,
          { usage: readNumber(this.dir, `hugetlb.${size}.current`) ?? 0, failcnt: readKeyed(this.dir, `hugetlb.${size}.events`)?.max ?? 0 },
        ]),
      );
    }
    return out;
  }

  oomKills(): number {
    return readKeyed(this.dir, 'memory.events')?.oom_kill ?? 0;
  }

  remove(dir = this.dir): void {
    if (!existsSync(dir)) return;
    for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) this.remove(join(dir, sub.name));
    try {
      rmdirSync(dir);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw new UserError(`cgroup: removing ${dir}: ${errCode(err)}`);
    }
  }
}
