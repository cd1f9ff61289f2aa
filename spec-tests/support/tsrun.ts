import { spawnSync } from 'node:child_process';
import { chownSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export type Identity = 'root' | 'rootless';

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const identities: Identity[] = ['root', 'rootless'];

/**
 * The command prefix that runs a program as the unprivileged user: setpriv execs in place (unlike
 * runuser, which stays as the parent), so signals sent to the child reach the program itself.
 */
export function asUser(): string[] {
  const user = inject('rootlessUser');
  return [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--clear-groups',
    'env',
    '-i',
    `HOME=${user.home}`,
    `XDG_RUNTIME_DIR=${join(user.home, 'xdg')}`,
    'PATH=/usr/bin:/bin',
  ];
}

/** Runs the copied dist/tsrun as root, or as the unprivileged user (through setpriv) with its own XDG_RUNTIME_DIR. */
export interface TsrunOptions {
  cwd?: string;
  input?: string;
  extraFds?: number[];
  /** A command (and its environment) that runs tsrun's command line, e.g. in another mount namespace. */
  wrapper?: { argv: string[]; env: NodeJS.ProcessEnv };
  /** How long the call may take before it is killed and the test fails (every call is bounded). */
  timeoutMs?: number;
}

export function tsrun(as: Identity, args: string[], opts: TsrunOptions = {}): Result {
  const bin = inject('tsrunBin');
  const command = as === 'root' ? [bin, ...args] : ['setpriv', ...asUser(), bin, ...args];
  const [file, ...argv] = [...(opts.wrapper?.argv ?? []), ...command] as [string, ...string[]];
  // Output goes to files, not pipes: a detached container inherits them, and a pipe would stay
  // open (and spawnSync waiting) as long as the container lives.
  const dir = mkdtempSync(join(inject('workDir'), 'out-'));
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  try {
    const r = spawnSync(file, argv, {
      cwd: opts.cwd ?? inject('workDir'),
      input: opts.input,
      env: opts.wrapper?.env,
      stdio: ['pipe', out, err, ...(opts.extraFds ?? [])],
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    if (r.error) throw new Error(`tsrun ${args.join(' ')}: ${r.error.message}`);
    return { code: r.status, stdout: readFileSync(join(dir, 'stdout'), 'utf8'), stderr: readFileSync(join(dir, 'stderr'), 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh directory the identity owns, under the spec-tests' work dir. */
export function scratchDir(as: Identity): string {
  const user = inject('rootlessUser');
  const dir = mkdtempSync(join(as === 'root' ? inject('workDir') : user.home, 'd-'));
  if (as === 'rootless') chownSync(dir, user.uid, user.gid);
  return dir;
}
