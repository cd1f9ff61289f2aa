/** The cgroup subcommands, as runc has them: pause, resume, ps, update, events. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Resources } from '../../cgroups/manager.js';
import * as ops from '../../container/operations.js';
import { ContainerNotFoundError, ContainerStore } from '../../container/store.js';
import { resourcesSchema } from '../../spec/config.js';
import { parseDocument } from '../../spec/validate.js';
import type { Context } from '../context.js';
import { UserError } from '../errors.js';

export async function pause(ctx: Context, id: string): Promise<void> {
  await ops.pause(new ContainerStore(ctx.stateRoot), id);
}

export async function resume(ctx: Context, id: string): Promise<void> {
  await ops.resume(new ContainerStore(ctx.stateRoot), id);
}

/**
 * `ps`: with --format json the pids as a JSON array; as a table, the lines of `ps` (run with the
 * given arguments, -ef by default) whose PID column is one of the container's.
 */
export async function ps(ctx: Context, id: string, psArgs: string[], format: 'table' | 'json'): Promise<void> {
  const pids = await ops.processes(new ContainerStore(ctx.stateRoot), id);
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(pids)}\n`);
    return;
  }
  const r = spawnSync('ps', psArgs.length > 0 ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new UserError(`running ps ${psArgs.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
  const [header = '', ...lines] = r.stdout.split('\n');
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new UserError(`ps ${psArgs.join(' ')} printed no PID column`);
  const wanted = new Set(pids);
  const rows = lines.filter((line) => wanted.has(Number(line.trim().split(/\s+/)[column])));
  process.stdout.write(`${[header, ...rows].join('\n')}\n`);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** A byte count as runc's update takes it: 1024, 512m, 1.5g, 2GiB, -1. */
export function parseSize(flag: string, value: string): number {
  if (value === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new UserError(`--${flag}: "${value}" is not a size (like 1024, 512m, 2g or -1)`);
  return Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
}

function parseInteger(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value)) throw new UserError(`--${flag}: "${value}" is not an integer`);
  return Number(value);
}

export type UpdateFlags = Record<string, string | undefined> & { resources?: string };

/** The resources an update asks for: --resources JSON (a file, or - for stdin), then the single-value flags over it. */
export function updateResources(flags: UpdateFlags): Resources {
  let base: Resources = {};
  if (flags.resources !== undefined) {
    const source = flags.resources === '-' ? 'stdin' : flags.resources;
    let text: string;
    try {
      text = readFileSync(flags.resources === '-' ? 0 : flags.resources, 'utf8');
    } catch (err) {
      throw new UserError(`--resources: reading ${source}: ${(err as NodeJS.ErrnoException).code}`);
    }
    base = parseDocument(resourcesSchema, text, `--resources ${source}`);
  }
  // Options arrive camelCased (pidsLimit); messages name them as typed (--pids-limit).
  const typed = (flag: string) => flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const int = (flag: string) => (flags[flag] === undefined ? undefined : parseInteger(typed(flag), flags[flag] as string));
  const size = (flag: string) => (flags[flag] === undefined ? undefined : parseSize(typed(flag), flags[flag] as string));
  for (const flag of ['l3CacheSchema', 'memBwSchema']) {
    if (flags[flag] !== undefined)
      throw new UserError('Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by this build of tsrun');
  }
  const prune = <T extends object>(o: T): T | undefined => {
    const kept = Object.entries(o).filter(([, v]) => v !== undefined);
    return kept.length ? (Object.fromEntries(kept) as T) : undefined;
  };
  const cpu = prune({
    period: int('cpuPeriod'),
    quota: int('cpuQuota'),
    burst: int('cpuBurst'),
    shares: int('cpuShare'),
    realtimePeriod: int('cpuRtPeriod'),
    realtimeRuntime: int('cpuRtRuntime'),
    cpus: flags.cpusetCpus,
    mems: flags.cpusetMems,
    idle: int('cpuIdle'),
  });
  const memory = prune({
    limit: size('memory'),
    reservation: size('memoryReservation'),
    swap: size('memorySwap'),
    kernel: size('kernelMemory'),
    kernelTCP: size('kernelMemoryTcp'),
  });
  const pidsLimit = int('pidsLimit');
  const weight = int('blkioWeight');
  return {
    ...base,
    ...(cpu && { cpu: { ...base.cpu, ...cpu } }),
    ...(memory && { memory: { ...base.memory, ...memory } }),
    ...(pidsLimit !== undefined && { pids: { limit: pidsLimit } }),
    ...(weight !== undefined && { blockIO: { ...base.blockIO, weight } }),
  };
}

export async function update(ctx: Context, id: string, flags: UpdateFlags): Promise<void> {
  const skipped = await ops.update(new ContainerStore(ctx.stateRoot), id, updateResources(flags));
  if (skipped.length > 0) ctx.warn('update')(`not applied on this host: ${skipped.join(', ')}`);
}

/** A Go-style duration (5s, 100ms, 1m30s) in milliseconds. */
export function parseDuration(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value)
    throw new UserError(`--interval: "${value}" is not a duration (like 5s, 500ms or 1m)`);
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? 's'] ?? 0), 0);
  if (ms <= 0) throw new UserError(`--interval: "${value}" must be longer than zero`);
  return ms;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `events`: with --stats one stats event; otherwise a stats event every interval and an oom event
 * whenever the OOM killer strikes in the container, one JSON object per line, until it stops.
 */
export async function events(ctx: Context, id: string, opts: { stats?: boolean; interval: string }): Promise<void> {
  const store = new ContainerStore(ctx.stateRoot);
  const print = (type: string, data?: unknown) =>
    process.stdout.write(`${JSON.stringify({ type, id, ...(data === undefined ? {} : { data }) })}\n`);
  let m = await ops.measure(store, id);
  if (opts.stats) {
    print('stats', m.stats);
    return;
  }
  const interval = parseDuration(opts.interval);
  const POLL_MS = 100;
  let oomKills = m.oomKills;
  for (let elapsed = interval; !m.stopped; elapsed += POLL_MS) {
    if (elapsed >= interval) {
      print('stats', m.stats);
      elapsed = 0;
    }
    if (m.oomKills > oomKills) print('oom');
    oomKills = m.oomKills;
    await sleep(POLL_MS);
    try {
      m = await ops.measure(store, id);
    } catch (err) {
      if (err instanceof ContainerNotFoundError) return; // deleted meanwhile: the stream ends
      throw err;
    }
  }
  if (m.oomKills > oomKills) print('oom');
}
