/**
 * The cgroup v1 driver (legacy and hybrid hosts): one directory per controller hierarchy, the
 * container's processes in each, limits written to the controllers' files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../cli/errors.js';
import type { Linux } from '../spec/config.js';

type Resources = NonNullable<Linux['resources']>;

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

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

export class CgroupV1 {
  private readonly dirs: Map<string, string>;

  /** path: the container's cgroup path, absolute within each hierarchy (e.g. /tsrun/c1). */
  constructor(
    readonly path: string,
    hierarchies = v1Hierarchies(),
  ) {
    this.dirs = new Map([...hierarchies].map(([controller, point]) => [controller, join(point, path)]));
  }

  private dir(controller: string): string | undefined {
    return this.dirs.get(controller);
  }

  private write(controller: string, file: string, value: string): void {
    const dir = this.dir(controller);
    if (dir === undefined) throw new UserError(`cgroup: the ${controller} controller is not mounted on this host (needed for ${file})`);
    try {
      writeFileSync(join(dir, file), value);
    } catch (err) {
      throw new UserError(`cgroup: writing ${JSON.stringify(value)} to ${join(dir, file)}: ${code(err)}`);
    }
  }

  /** Makes the directories; a new cpuset cgroup starts with its parent's cpus and mems (else no process may join). */
  create(): void {
    for (const [controller, dir] of this.dirs) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (err) {
        throw new UserError(`cgroup: creating ${dir}: ${code(err)}`);
      }
      if (controller === 'cpuset') {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          this.inheritCpuset(dir, file);
        }
      }
    }
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
      if (cpu.realtimePeriod !== undefined) this.write('cpu', 'cpu.rt_period_us', String(cpu.realtimePeriod));
      if (cpu.realtimeRuntime !== undefined) this.write('cpu', 'cpu.rt_runtime_us', String(cpu.realtimeRuntime));
      if (cpu.cpus) this.write('cpuset', 'cpuset.cpus', cpu.cpus);
      if (cpu.mems) this.write('cpuset', 'cpuset.mems', cpu.mems);
    }
    if (blockIO?.weight !== undefined) this.write('blkio', 'blkio.weight', String(blockIO.weight));
    for (const key of ['hugepageLimits', 'network', 'rdma', 'unified'] as const) {
      if (resources[key] !== undefined) skipped.push(key);
    }
    if (blockIO && Object.keys(blockIO).some((k) => k !== 'weight')) skipped.push('blockIO (per-device settings)');
    if (resources.devices?.some((d) => d.allow)) skipped.push('devices (allow rules)');
    return skipped;
  }

  /** Puts a process into every hierarchy, before it can run anything of the container's. */
  addProcess(pid: number): void {
    for (const controller of this.dirs.keys()) this.write(controller, 'cgroup.procs', String(pid));
  }

  /** Every process in the container's cgroup. */
  pids(): number[] {
    const dir = this.dir('pids') ?? this.dirs.values().next().value;
    if (dir === undefined || !existsSync(dir)) return [];
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }

  /** Removes the directories (they must be empty of processes), deepest first. */
  remove(): void {
    for (const dir of this.dirs.values()) {
      if (!existsSync(dir)) continue;
      for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) rmdirSync(join(dir, sub.name));
      try {
        rmdirSync(dir);
      } catch (err) {
        if (code(err) !== 'ENOENT') throw new UserError(`cgroup: removing ${dir}: ${code(err)}`);
      }
    }
  }
}

/** The container's cgroup path: linux.cgroupsPath (relative ones under /), else /tsrun/<id>. */
export function cgroupPath(cgroupsPath: string | undefined, id: string): string {
  if (!cgroupsPath) return `/tsrun/${id}`;
  if (cgroupsPath.includes('..')) throw new UserError(`config.json: linux.cgroupsPath: "${cgroupsPath}" may not contain ".."`);
  return cgroupsPath.startsWith('/') ? cgroupsPath : `/${cgroupsPath}`;
}
