import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export type Identity = 'root' | 'rootless';

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const identities: Identity[] = ['root', 'rootless'];

/** Runs the copied dist/tsrun as root, or as the unprivileged user (through runuser) with its own XDG_RUNTIME_DIR. */
export function tsrun(as: Identity, args: string[], opts: { cwd?: string; input?: string } = {}): Result {
  const bin = inject('tsrunBin');
  const user = inject('rootlessUser');
  const [file, argv] =
    as === 'root'
      ? [bin, args]
      : [
          'runuser',
          [
            '-u',
            user.name,
            '--',
            'env',
            '-i',
            `HOME=${user.home}`,
            `XDG_RUNTIME_DIR=${join(user.home, 'xdg')}`,
            'PATH=/usr/bin:/bin',
            bin,
            ...args,
          ],
        ];
  const r = spawnSync(file, argv, { cwd: opts.cwd ?? inject('workDir'), input: opts.input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh directory the identity owns, under the spec-tests' work dir. */
export function scratchDir(as: Identity): string {
  const user = inject('rootlessUser');
  const dir = mkdtempSync(join(as === 'root' ? inject('workDir') : user.home, 'd-'));
  if (as === 'rootless') chownSync(dir, user.uid, user.gid);
  return dir;
}
