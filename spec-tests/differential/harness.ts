/**
 * The differential harness: one config, two identical bundles, `runc run` and `tsrun run` of each
 * (foreground, no terminal, separate --root state dirs under the spec-tests' work dir), the probe's
 * `diff` report of each parsed and normalised, and the two compared field by field.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { Config } from '../../src/spec/config.js';
import { ownBundle, writeConfig } from '../support/containers.js';
import { asUser, type Identity, scratchDir } from '../support/tsrun.js';

export const RUNC = process.env.TSRUN_DIFF_RUNC ?? '/usr/bin/runc';
export type Runtime = 'runc' | 'tsrun';
export const RUNTIMES: Runtime[] = ['runc', 'tsrun'];

/** A case: who runs it, the config, and how it was made (printed with every difference). */
export interface Case {
  name: string;
  as: Identity;
  base: string;
  mutations: string[];
  config: Config;
  /** The seed and index a generated case was made from. */
  seed?: number;
  index?: number;
}

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Strings in the config replaced per bundle when it is written. */
export const BUNDLE = '@BUNDLE@';

let serial = 0;

/** Runs one runtime command line as the identity, output to files; never waits more than timeoutMs. */
export function runtimeCommand(rt: Runtime, as: Identity, args: string[], cwd: string, timeoutMs = 20_000): Promise<Outcome> {
  const bin = rt === 'runc' ? RUNC : inject('tsrunBin');
  const [file, argv] = as === 'root' ? [bin, args] : ['setpriv', [...asUser(), bin, ...args]];
  const dir = join(inject('workDir'), `diff-out-${process.pid}-${++serial}`);
  mkdirSync(dir);
  const [outFile, errFile] = [join(dir, 'stdout'), join(dir, 'stderr')];
  const [out, err] = [openSync(outFile, 'w'), openSync(errFile, 'w')];
  // A session of its own: on a timeout the whole group goes (a created container's init included).
  const child = spawn(file, argv, {
    cwd,
    detached: true,
    stdio: ['ignore', out, err],
    env: as === 'root' ? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } : undefined,
  });
  closeSync(out);
  closeSync(err);
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const r = { code, stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8'), timedOut };
      rmSync(dir, { recursive: true, force: true });
      resolve(r);
    });
  });
}

/** Synchronous `delete --force` (cleanup in finally blocks), only when the state dir still has the container. */
export function forceDelete(rt: Runtime, as: Identity, root: string, id: string): void {
  if (!existsSync(join(root, id))) return;
  const bin = rt === 'runc' ? RUNC : inject('tsrunBin');
  const args = ['--root', root, 'delete', '--force', id];
  const [file, argv] = as === 'root' ? [bin, args] : ['setpriv', [...asUser(), bin, ...args]];
  spawnSync(file, argv, { stdio: 'ignore', timeout: 20_000 });
}

export const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nu1000:x:1000:1000::/home/u1000:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\ntty:x:5:\nu1000:x:1000:\nnogroup:x:65534:\n';

export interface DiffBundle {
  dir: string;
  root: string;
  id: string;
  cgroupsPath: string;
}

/**
 * A bundle: the probe at /probe, a small /etc (passwd, group, a dangling link /etc/dangling), /root
 * (0700), /home/u1000 (owned by 1000 as root; the user's as rootless), and beside the rootfs a
 * directory `share` (with a file) for bind mounts. The config gets the bundle's cgroupsPath and
 * every "@BUNDLE@" replaced by the bundle's path.
 */
export function makeDiffBundle(c: Case, rt: Runtime, tag: string): DiffBundle {
  const dir = scratchDir(c.as);
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  copyFileSync(inject('probe'), join(rootfs, 'probe'));
  chmodSync(join(rootfs, 'probe'), 0o755);
  writeFileSync(join(rootfs, 'etc', 'passwd'), PASSWD);
  writeFileSync(join(rootfs, 'etc', 'group'), GROUP);
  symlinkSync('../foo/bar/not/here', join(rootfs, 'etc', 'dangling'));
  mkdirSync(join(rootfs, 'root'), { mode: 0o700 });
  chmodSync(join(rootfs, 'root'), 0o700);
  mkdirSync(join(rootfs, 'home', 'u1000'), { recursive: true });
  mkdirSync(join(dir, 'share', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'share', 'file'), 'shared\n');
  const b: DiffBundle = { dir, root: join(dir, 'state'), id: `diff-${tag}`, cgroupsPath: `/tsrun-spec/diff-${process.pid}-${tag}-${rt}` };
  const config = JSON.parse(JSON.stringify(c.config).replaceAll(BUNDLE, dir)) as Config;
  // Rootless on this cgroup v1 host: no cgroupsPath at all (runc then ignores the cgroups it cannot
  // make; with a path it fails with EACCES), and tsrun makes no v1 cgroup for a rootless container.
  config.linux = { ...config.linux, cgroupsPath: c.as === 'root' ? b.cgroupsPath : undefined };
  writeConfig(dir, config);
  ownBundle({ dir, root: b.root, as: c.as });
  if (c.as === 'root') spawnSync('chown', ['1000:1000', join(rootfs, 'home', 'u1000')]);
  return b;
}

/** Mount points on the host under a bundle (a container without a mount namespace of its own mounts there). */
export function hostMountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`));
}

/** Removes a bundle, never crossing into a mount left under it (taken down first, deepest first). */
export function removeBundle(b: DiffBundle): void {
  for (const p of hostMountsUnder(b.dir).reverse()) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
  spawnSync('rm', ['-rf', '--one-file-system', b.dir], { stdio: 'ignore' });
}

/** A difference between the two runtimes. */
export interface Difference {
  field: string;
  runc: string | undefined;
  tsrun: string | undefined;
}

type Flat = Record<string, string>;

const HOST_NS = Object.fromEntries(
  ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'].map((ns) => [ns, readlinkSync(`/proc/self/ns/${ns}`)]),
);
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
const RLIMITS = [
  'CPU',
  'FSIZE',
  'DATA',
  'STACK',
  'CORE',
  'RSS',
  'NPROC',
  'NOFILE',
  'MEMLOCK',
  'AS',
  'LOCKS',
  'SIGPENDING',
  'MSGQUEUE',
  'NICE',
  'RTPRIO',
  'RTTIME',
];

interface DiffReport {
  uids: number[];
  gids: number[];
  groups: number[];
  pid: number;
  cwd: string;
  umask: string;
  rlimits: Record<string, [string, string]>;
  ns: Record<string, string>;
  cgroup: string;
  mountinfo: string;
  cgroupfs: Record<string, string | [number, number]>;
  dev: Record<string, string>;
  sysctl: Record<string, string>;
  env: string[];
  syscalls: Record<string, number>;
  [k: string]: unknown;
}

/**
 * mountinfo as fields per mount point: "mount P" (fstype, source, root in the filesystem), and beside
 * it "mount P | opts" (per-mount options), "| super" (superblock options), "| propagation" and "| parent"
 * (the parent's mount point). A mount point mounted more than once gets " #2", " #3"… in mount order.
 */
export function flatMounts(mountinfo: string, out: Flat): void {
  const lines = mountinfo.trim().split('\n').filter(Boolean);
  const byId = new Map<string, string>();
  const parsed = lines.map((line) => {
    const [left = '', right = ''] = line.split(' - ');
    const [id = '', parent = '', , root = '', point = '', options = '', ...optional] = left.split(' ');
    const [fstype = '', source = '', superOptions = ''] = right.split(' ');
    const propagation =
      optional
        .map((o) => o.replace(/:\d+$/, ''))
        .sort()
        .join(',') || 'private';
    return { id, parent, root, point, options, fstype, source, superOptions, propagation };
  });
  const seen = new Map<string, number>();
  const sorted = (o: string) => o.split(',').sort().join(',');
  for (const m of parsed) {
    const n = (seen.get(m.point) ?? 0) + 1;
    seen.set(m.point, n);
    const key = `mount ${m.point}${n > 1 ? ` #${n}` : ''}`;
    byId.set(m.id, key.slice('mount '.length));
    out[key] = `${m.fstype} src=${m.source} root=${m.root}`;
    out[`${key} | opts`] = sorted(m.options);
    out[`${key} | super`] = sorted(m.superOptions);
    out[`${key} | propagation`] = m.propagation;
  }
  for (const m of parsed) {
    const key = `mount ${byId.get(m.id)}`;
    out[`${key} | parent`] = byId.get(m.parent) ?? '(outside)';
  }
}

const procsBucket = (n: number) => (n < 0 ? 'unreadable' : n <= 1 ? String(n) : 'many');

/** The probe's report as flat fields, normalised: what may legitimately differ between two runs is gone. */
export function flatten(report: DiffReport): Flat {
  const out: Flat = {};
  for (const [k, v] of Object.entries(report)) {
    if (['rlimits', 'ns', 'cgroup', 'mountinfo', 'cgroupfs', 'dev', 'sysctl', 'env', 'syscalls', 'pid', 'groups'].includes(k)) continue;
    out[k] = typeof v === 'string' ? v.trim().replace(/[ \t]+/g, ' ') : JSON.stringify(v);
  }
  out.groups = [...report.groups].sort((a, b) => a - b).join(',');
  out.pid = report.pid === 1 ? '1' : 'not 1';
  for (const [n, [cur, max]] of Object.entries(report.rlimits)) out[`rlimit ${RLIMITS[Number(n)] ?? n}`] = `${cur}/${max}`;
  for (const [ns, link] of Object.entries(report.ns)) out[`ns ${ns}`] = link === '' ? 'absent' : link === HOST_NS[ns] ? 'host' : 'new';
  for (const line of report.cgroup.trim().split('\n')) {
    const [h = '', controllers = '', path = ''] = line.split(':');
    out[`cgroup ${h}:${controllers}`] = path;
  }
  flatMounts(report.mountinfo, out);
  for (const [name, v] of Object.entries(report.cgroupfs))
    out[`/sys/fs/cgroup/${name}`] = typeof v === 'string' ? v : `${v[0] > 0 ? 'has subdirs' : 'no subdirs'}, procs ${procsBucket(v[1])}`;
  for (const [path, v] of Object.entries(report.dev)) out[`dev ${path}`] = v.trim();
  for (const [k, v] of Object.entries(report.sysctl)) out[`sysctl ${k}`] = v.replace(/\s+/g, ' ');
  const env = new Map<string, string[]>();
  for (const e of report.env) {
    const i = e.indexOf('=');
    const [k, v] = i < 0 ? [e, '(no =)'] : [e.slice(0, i), e.slice(i + 1)];
    env.set(k, [...(env.get(k) ?? []), v]);
  }
  for (const [k, vs] of env) out[`env ${k}`] = vs.join(' | ');
  for (const [name, errno] of Object.entries(report.syscalls))
    out[`syscall ${name}`] =
      errno === 0 ? 'ok' : errno > 1000 ? `killed by signal ${errno - 1000}` : (ERRNO_NAMES.get(errno) ?? String(errno));
  return out;
}

/** What one runtime made of a case: failed (the first line of stderr), or the probe's normalised report. */
export type Seen = { failed: string } | { report: Flat };

export function seenFrom(o: Outcome, b: DiffBundle): Seen {
  if (o.timedOut) return { failed: 'timed out' };
  const firstLine = (o.stderr.trim().split('\n').pop() ?? '').slice(0, 300);
  if (o.code !== 0) return { failed: `exit ${o.code}: ${firstLine}` };
  const text = o.stdout.replaceAll(b.dir, '<bundle>').replaceAll(b.cgroupsPath, '<cgroup>').replaceAll(b.id, '<id>');
  try {
    return { report: flatten(JSON.parse(text) as DiffReport) };
  } catch {
    return { failed: `exit 0 but no report: ${o.stdout.slice(0, 200)} ${firstLine}` };
  }
}

/** The differences: where both failed, none (only that both refused counts); where one failed, that. */
export function compare(runc: Seen, tsrun: Seen): Difference[] {
  if ('failed' in runc && 'failed' in tsrun) return [];
  if ('failed' in runc || 'failed' in tsrun) {
    const show = (s: Seen) => ('failed' in s ? `failed (${s.failed})` : 'ran');
    return [{ field: 'run', runc: show(runc), tsrun: show(tsrun) }];
  }
  const diffs: Difference[] = [];
  const keys = [...new Set([...Object.keys(runc.report), ...Object.keys(tsrun.report)])].sort();
  for (const k of keys) {
    // A mount only one side has: its line says so, its attributes would only repeat it.
    const main = k.split(' | ')[0] as string;
    if (main !== k && (runc.report[main] === undefined) !== (tsrun.report[main] === undefined)) continue;
    if (runc.report[k] !== tsrun.report[k]) diffs.push({ field: k, runc: runc.report[k], tsrun: tsrun.report[k] });
  }
  return diffs;
}

/** Runs a case under both runtimes (at the same time: two processes), always deleting what was made. */
export async function runCase(c: Case, tag: string): Promise<{ diffs: Difference[]; seen: Record<Runtime, Seen> }> {
  const bundles = { runc: makeDiffBundle(c, 'runc', `${tag}r`), tsrun: makeDiffBundle(c, 'tsrun', `${tag}t`) };
  // TSRUN_DIFF_DUMP=DIR: each case's config.json (as tsrun got it) kept in DIR, to reproduce by hand.
  if (process.env.TSRUN_DIFF_DUMP)
    copyFileSync(join(bundles.tsrun.dir, 'config.json'), join(process.env.TSRUN_DIFF_DUMP, `${tag}-${c.as}.json`));
  try {
    const outcomes = await Promise.all(
      RUNTIMES.map((rt) =>
        runtimeCommand(rt, c.as, ['--root', bundles[rt].root, 'run', '--bundle', bundles[rt].dir, bundles[rt].id], bundles[rt].dir),
      ),
    );
    const seen = { runc: seenFrom(outcomes[0] as Outcome, bundles.runc), tsrun: seenFrom(outcomes[1] as Outcome, bundles.tsrun) };
    const diffs = compare(seen.runc, seen.tsrun);
    // What a finished `run` leaves on the host: mounts under the bundle, the state directory's entry.
    const left = (rt: Runtime) =>
      [
        ...hostMountsUnder(bundles[rt].dir).map((p) => p.replace(bundles[rt].dir, '<bundle>')),
        ...(existsSync(join(bundles[rt].root, bundles[rt].id)) ? ['state'] : []),
      ].join(' ') || 'nothing';
    if (left('runc') !== left('tsrun')) diffs.push({ field: 'left on the host after run', runc: left('runc'), tsrun: left('tsrun') });
    return { diffs, seen };
  } finally {
    for (const rt of RUNTIMES) {
      forceDelete(rt, c.as, bundles[rt].root, bundles[rt].id);
      removeBundle(bundles[rt]);
    }
  }
}
