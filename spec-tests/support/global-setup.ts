import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export const ROOTLESS_USER = process.env.TSRUN_TEST_USER ?? 'tsrun-test';

function userIds(user: string): { uid: number; gid: number } {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`spec-tests need the unprivileged user "${user}" (useradd -m ${user}; .ci/run creates it)`);
  }
}

/** The cgroups below the trees tests put containers in (tsrun's default /tsrun, and /tsrun-spec), deepest first. */
function testCgroups(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      walk(join(dir, e.name));
      out.push(join(dir, e.name));
    }
  };
  for (const h of readdirSync('/sys/fs/cgroup')) {
    for (const top of ['tsrun', 'tsrun-spec']) if (existsSync(join('/sys/fs/cgroup', h, top))) walk(join('/sys/fs/cgroup', h, top));
  }
  return out;
}

/**
 * The spec-tests drive a copy of dist/tsrun placed alone in a fresh world-readable directory:
 * that proves it works from any path, and the unprivileged user can reach it (a clone under /root
 * is not readable to that user).
 */
export default function setup(project: TestProject) {
  const built = join(import.meta.dirname, '..', '..', 'dist', 'tsrun');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  if (process.geteuid?.() !== 0) throw new Error('spec-tests run as root (they also act as the unprivileged user through setpriv)');
  const { uid, gid } = userIds(ROOTLESS_USER);

  const cgroupsBefore = new Set(testCgroups());
  const work = mkdtempSync('/tmp/tsrun-spec-');
  chmodSync(work, 0o755);
  const binDir = join(work, 'bin');
  mkdirSync(binDir, { mode: 0o755 });
  const bin = join(binDir, 'tsrun');
  copyFileSync(built, bin);
  chmodSync(bin, 0o755);
  const userHome = join(work, 'rootless');
  mkdirSync(join(userHome, 'xdg'), { recursive: true, mode: 0o700 });
  for (const d of [userHome, join(userHome, 'xdg')]) {
    chownSync(d, uid, gid);
    chmodSync(d, 0o700);
  }

  const probe = join(import.meta.dirname, '..', '..', 'build', 'probe');
  if (!existsSync(probe)) throw new Error(`${probe} is missing: npm run build compiles it from spec-tests/probe/probe.c`);
  const probeCopy = join(work, 'probe');
  copyFileSync(probe, probeCopy);
  chmodSync(probeCopy, 0o755);

  project.provide('tsrunBin', bin);
  project.provide('probe', probeCopy);
  project.provide('workDir', work);
  project.provide('rootlessUser', { name: ROOTLESS_USER, uid, gid, home: userHome });
  return () => {
    const left = leftovers(work);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
    // So is a container cgroup left behind (a container never deleted).
    const cgroupsLeft = testCgroups().filter((d) => !cgroupsBefore.has(d));
    for (const d of cgroupsLeft) {
      try {
        rmdirSync(d);
      } catch {
        // still busy: the message below names it
      }
    }
    // A test that leaves a container process behind is a defect: the run fails, naming them.
    if (left.length > 0) throw new Error(`processes of the spec-tests were left running (now killed): ${left.join(', ')}`);
    if (cgroupsLeft.length > 0) throw new Error(`cgroups of the spec-tests were left (now removed): ${cgroupsLeft.join(', ')}`);
  };
}

/** Processes (other than this one) holding a file under dir: containers a test did not delete. */
function leftovers(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)) {
    try {
      if (readdirSync(`/proc/${entry}/fd`).some((fd) => readlinkSync(`/proc/${entry}/fd/${fd}`).startsWith(dir))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

declare module 'vitest' {
  export interface ProvidedContext {
    tsrunBin: string;
    probe: string;
    workDir: string;
    rootlessUser: { name: string; uid: number; gid: number; home: string };
  }
}
