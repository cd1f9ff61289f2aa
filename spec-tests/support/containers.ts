import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import type { Config } from '../../src/spec/config.js';
import { defaultConfig, rootlessConfig } from '../../src/spec/default-config.js';
import { asUser, type Identity, type Result, scratchDir, type TsrunOptions, tsrun } from './tsrun.js';

export interface ProbeReport {
  uid: number;
  gid: number;
  euid: number;
  groups: number[];
  pid: number;
  ppid: number;
  hostname: string;
  domainname: string;
  cwd: string;
  no_new_privs: number;
  Umask: string;
  Seccomp: string;
  CapInh: string;
  CapPrm: string;
  CapEff: string;
  CapBnd: string;
  CapAmb: string;
  oom_score_adj: string;
  sched_policy: number;
  nice: number;
  personality: number;
  ioprio: number;
  rlimits: Record<string, [number, number]>;
  ns: Record<string, string>;
  uid_map: string;
  gid_map: string;
  mountinfo: string;
  fds: number[];
  env: string[];
}

let counter = 0;
/** A container id no other test uses. */
export const uniqueId = (prefix = 'c') => `${prefix}${process.pid}-${++counter}`;

/** Gives a tree to uid:gid; links themselves, never what they point to (tests plant links to host files). */
function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

/** After a test adds files to a bundle: a rootless bundle's files belong to the rootless user again. */
export function ownBundle(b: TestBundle): void {
  const user = inject('rootlessUser');
  if (b.as === 'rootless') chownTree(b.dir, user.uid, user.gid);
}

/** The config tests start from: `tsrun spec` (or --rootless) running /probe, no terminal. */
export function baseConfig(as: Identity): Config {
  const user = inject('rootlessUser');
  const config = as === 'root' ? defaultConfig() : rootlessConfig(user.uid, user.gid);
  config.process = { ...(config.process ?? { cwd: '/' }), terminal: false, args: ['/probe'] };
  config.hostname = 'tsrun-test';
  return config;
}

export interface TestBundle {
  dir: string;
  root: string;
  as: Identity;
}

/** A bundle (rootfs holding /probe, and config.json) and a state root, both owned by the identity. */
export function makeBundle(as: Identity, edit: (c: Config) => void = () => {}): TestBundle {
  const dir = scratchDir(as);
  mkdirSync(join(dir, 'rootfs'));
  copyFileSync(inject('probe'), join(dir, 'rootfs', 'probe'));
  chmodSync(join(dir, 'rootfs', 'probe'), 0o755);
  const config = baseConfig(as);
  edit(config);
  writeConfig(dir, config);
  const b: TestBundle = { dir, root: join(dir, 'state'), as };
  ownBundle(b);
  return b;
}

export function writeConfig(dir: string, config: Config): void {
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2),
  );
}

/** Runs tsrun against a bundle's state root. */
export function tsrunIn(b: TestBundle, args: string[], extraFds?: number[], wrapper?: TsrunOptions['wrapper']): Result {
  return tsrun(b.as, ['--root', b.root, ...args], { cwd: b.dir, extraFds, wrapper });
}

/** `tsrun run` of the bundle; expects exit status 0 unless told otherwise. */
export function runBundle(b: TestBundle, id = uniqueId(), status = 0): Result {
  const r = tsrunIn(b, ['run', '--bundle', b.dir, id]);
  expect(r.code, r.stderr).toBe(status);
  return r;
}

/** Runs the probe's report in a container made from edit, and parses it. */
export function probe(as: Identity, edit: (c: Config) => void = () => {}): ProbeReport {
  const r = runBundle(makeBundle(as, edit));
  return JSON.parse(r.stdout) as ProbeReport;
}

/** Mount points and their options, from a mountinfo text. */
export function mounts(mountinfo: string): Map<string, { fstype: string; options: string[] }> {
  const out = new Map<string, { fstype: string; options: string[] }>();
  for (const line of mountinfo.trim().split('\n')) {
    const [left, right] = line.split(' - ');
    const f = (left ?? '').split(' ');
    const r = (right ?? '').split(' ');
    out.set(f[4] ?? '', { fstype: r[0] ?? '', options: [...(f[5] ?? '').split(','), ...(r[2] ?? '').split(',')] });
  }
  return out;
}

/** Starts tsrun in the background (for run in the foreground, signals, long-running containers). */
export function spawnTsrun(b: TestBundle, args: string[]) {
  const bin = inject('tsrunBin');
  const argv = ['--root', b.root, ...args];
  const child = b.as === 'root' ? spawn(bin, argv, { cwd: b.dir }) : spawn('setpriv', [...asUser(), bin, ...argv], { cwd: b.dir });
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

let outputs = 0;
/**
 * Runs tsrun in the background, its output to files (a created container's init keeps what it
 * inherits, so pipes would not close); resolves when tsrun exits. detached: in a session of its
 * own, so every process it leaves has its pid as process group.
 */
export function tsrunAsync(b: TestBundle, args: string[], opts: { detached?: boolean } = {}) {
  const argv = [inject('tsrunBin'), '--root', b.root, ...args];
  const [outFile, errFile] = [join(b.dir, `out-${++outputs}`), join(b.dir, `err-${outputs}`)];
  const [out, err] = [openSync(outFile, 'w'), openSync(errFile, 'w')];
  const spawnOpts = { cwd: b.dir, detached: opts.detached, stdio: ['ignore', out, err] as ('ignore' | number)[] };
  const child = b.as === 'root' ? spawn(argv[0] as string, argv.slice(1), spawnOpts) : spawn('setpriv', [...asUser(), ...argv], spawnOpts);
  closeSync(out);
  closeSync(err);
  return new Promise<{ args: string[]; pid: number; code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) =>
      child.on('exit', (code, signal) => {
        const [stdout, stderr] = [readFileSync(outFile, 'utf8'), readFileSync(errFile, 'utf8')];
        rmSync(outFile);
        rmSync(errFile);
        resolve({ args, pid: child.pid ?? 0, code, signal, stdout, stderr });
      }),
  );
}

export const hostMountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8');
