import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { release, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { cgroupMode, ownV2CgroupPath } from '../../cgroups/detect.js';
import { SyscallError } from '../../linux/errno.js';
import * as libc from '../../linux/libc.js';
import { NAMESPACES } from '../../linux/namespaces.js';
import { runShim } from '../../linux/shim.js';
import { readSubIdRanges } from '../../linux/subid.js';
import { steps } from '../../plan/encode.js';
import type { Context } from '../context.js';

type Level = 'ok' | 'warning' | 'error';

interface Check {
  name: string;
  level: Level;
  detail: string;
  fix?: string;
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function kernelCheck(): Check {
  const [major = 0, minor = 0] = release()
    .split('.')
    .map((n) => Number.parseInt(n, 10));
  const recent = major > 5 || (major === 5 && minor >= 6);
  return recent
    ? { name: 'kernel', level: 'ok', detail: release() }
    : {
        name: 'kernel',
        level: 'error',
        detail: `${release()} is older than 5.6`,
        fix: 'tsrun needs pidfd_open and openat2 (Linux 5.6 or newer)',
      };
}

async function userNamespaceCheck(): Promise<Check> {
  const name = 'user namespaces';
  const max = readTrimmed('/proc/sys/user/max_user_namespaces');
  if (max === '0')
    return { name, level: 'error', detail: 'user.max_user_namespaces is 0', fix: 'sysctl -w user.max_user_namespaces=15000' };
  try {
    // The real test: the sealed shim, started the way containers start, makes a user namespace.
    await runShim([steps.unshare(NAMESPACES.user.flag, 'create a user namespace'), steps.exit(0)]);
    return { name, level: 'ok', detail: 'this user can create one (tested with the tsrun shim)' };
  } catch (err) {
    const clone = readTrimmed('/proc/sys/kernel/unprivileged_userns_clone');
    const fix =
      clone === '0' ? 'sysctl -w kernel.unprivileged_userns_clone=1' : 'check AppArmor/SELinux policy on unprivileged user namespaces';
    return { name, level: 'error', detail: `cannot create one: ${(err as Error).message}`, fix };
  }
}

function idMapToolsCheck(): Check {
  const name = 'newuidmap/newgidmap';
  const missing: string[] = [];
  const notSetuid: string[] = [];
  for (const tool of ['newuidmap', 'newgidmap']) {
    const path = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (path === undefined) missing.push(tool);
    else if ((statSync(path).mode & 0o4000) === 0) notSetuid.push(path);
  }
  if (missing.length > 0) {
    return {
      name,
      level: 'warning',
      detail: `${missing.join(', ')} not found: rootless containers get a single-id mapping only`,
      fix: 'apt-get install uidmap',
    };
  }
  if (notSetuid.length > 0)
    return { name, level: 'warning', detail: `${notSetuid.join(', ')} not setuid root (file capabilities may still work)` };
  return { name, level: 'ok', detail: 'present' };
}

function subIdCheck(): Check {
  const name = 'subordinate ids';
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return { name, level: 'ok', detail: 'not needed as root' };
  const user = userInfo().username;
  const uids = readSubIdRanges('/etc/subuid', user, uid);
  const gids = readSubIdRanges('/etc/subgid', user, uid);
  if (uids.length === 0 || gids.length === 0) {
    return {
      name,
      level: 'warning',
      detail: `no ${uids.length === 0 ? '/etc/subuid' : '/etc/subgid'} range for ${user}: only a single-id mapping is possible`,
      fix: `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
    };
  }
  const show = (r: { start: number; count: number }[]) => r.map((x) => `${x.start}+${x.count}`).join(',');
  return { name, level: 'ok', detail: `uids ${show(uids)}, gids ${show(gids)}` };
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function cgroupCheck(rootless: boolean): Check {
  const name = 'cgroups';
  const mode = cgroupMode();
  if (mode === 'none')
    return { name, level: 'error', detail: 'no cgroup filesystem at /sys/fs/cgroup', fix: 'mount cgroup2 on /sys/fs/cgroup' };
  const v2Root = mode === 'unified' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  if (!rootless) {
    const probe = mode === 'unified' ? v2Root : '/sys/fs/cgroup/memory';
    return writable(probe)
      ? { name, level: 'ok', detail: `${mode} (${mode === 'unified' ? 'v2' : 'v1 controllers'}), writable` }
      : { name, level: 'error', detail: `${mode}: ${probe} is not writable`, fix: 'remount /sys/fs/cgroup read-write' };
  }
  const own = ownV2CgroupPath(readTrimmed('/proc/self/cgroup') ?? '');
  const ownDir = own === undefined || mode === 'legacy' ? undefined : join(v2Root, own);
  if (mode === 'unified' && ownDir !== undefined && writable(ownDir) && writable(join(ownDir, 'cgroup.procs'))) {
    return { name, level: 'ok', detail: `v2, delegated subtree ${own}` };
  }
  return {
    name,
    level: 'warning',
    detail: `${mode}${mode === 'unified' ? ' without a delegated subtree' : ': v1 cannot be delegated'}: rootless containers run without resource limits`,
    fix:
      mode === 'unified'
        ? 'run inside a systemd user session with Delegate=yes (e.g. systemd-run --user --scope)'
        : 'boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1)',
  };
}

function seccompCheck(): Check {
  const name = 'seccomp';
  const status = readTrimmed('/proc/self/status') ?? '';
  if (!/^Seccomp:/m.test(status))
    return { name, level: 'error', detail: 'kernel built without CONFIG_SECCOMP', fix: 'use a kernel with seccomp filter support' };
  const actions = readTrimmed('/proc/sys/kernel/seccomp/actions_avail');
  return { name, level: 'ok', detail: actions ? `actions: ${actions}` : 'available' };
}

function syscallCheck(name: string, probe: () => number, fix: string): Check {
  try {
    libc.close(probe());
    return { name, level: 'ok', detail: 'available' };
  } catch (err) {
    const detail = err instanceof SyscallError ? err.message : String(err);
    return { name, level: 'error', detail, fix };
  }
}

function stateRootCheck(ctx: Context): Check {
  const name = 'state root';
  let root: string;
  try {
    root = ctx.stateRoot;
  } catch (err) {
    return { name, level: 'error', detail: (err as Error).message };
  }
  let existing = root;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (writable(existing)) return { name, level: 'ok', detail: existing === root ? `${root} writable` : `${root} can be created` };
  return { name, level: 'error', detail: `${root}: ${existing} is not writable`, fix: 'pass --root DIR with a directory you can write' };
}

function format(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map((c) => `${c.level.padEnd(7)} ${c.name.padEnd(width)}  ${c.detail}${c.fix ? `\n${' '.repeat(9 + width)}  fix: ${c.fix}` : ''}`)
    .join('\n');
}

/** A host report for operators; exits 1 when any check is an error. */
export async function doctor(ctx: Context, json: boolean): Promise<void> {
  const checks: Check[] = [
    kernelCheck(),
    { name: 'mode', level: 'ok', detail: ctx.rootless ? `rootless (euid ${process.geteuid?.()})` : 'root' },
    await userNamespaceCheck(),
    idMapToolsCheck(),
    subIdCheck(),
    cgroupCheck(ctx.rootless),
    seccompCheck(),
    syscallCheck('pidfd', () => libc.pidfdOpen(process.pid), 'tsrun needs pidfd_open (Linux 5.3 or newer)'),
    syscallCheck('openat2', () => libc.openat2('/', 0n), 'tsrun needs openat2 (Linux 5.6 or newer)'),
    stateRootCheck(ctx),
  ];
  process.stdout.write(json ? `${JSON.stringify({ checks }, null, 2)}\n` : `${format(checks)}\n`);
  if (checks.some((c) => c.level === 'error')) process.exitCode = 1;
}
