import { existsSync, readFileSync, statfsSync } from 'node:fs';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const TMPFS_MAGIC = 0x01021994;

/** unified: cgroup v2 only; hybrid: v1 controllers plus a v2 tree at /sys/fs/cgroup/unified; legacy: v1 only. */
export type CgroupMode = 'unified' | 'hybrid' | 'legacy' | 'none';

export function cgroupMode(mountPoint = '/sys/fs/cgroup'): CgroupMode {
  let type: number;
  try {
    type = statfsSync(mountPoint).type;
  } catch {
    return 'none';
  }
  if (type === CGROUP2_SUPER_MAGIC) return 'unified';
  if (type !== TMPFS_MAGIC) return 'none';
  const unified = `${mountPoint}/unified`;
  return existsSync(unified) && statfsSync(unified).type === CGROUP2_SUPER_MAGIC ? 'hybrid' : 'legacy';
}

/** The path of this process's cgroup in the v2 hierarchy ("0::/path" in /proc/self/cgroup). */
export function ownV2CgroupPath(procSelfCgroup: string): string | undefined {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

/**
 * The path of this process's cgroup in a hierarchy: the /proc/self/cgroup line with the
 * hierarchy's controllers (v1), or the "0::" line (v2).
 */
export function ownCgroupPath(mount: CgroupMount, procSelfCgroup: string): string | undefined {
  if (mount.fstype === 'cgroup2') return ownV2CgroupPath(procSelfCgroup);
  const wanted = mount.options.split(',').sort().join(',');
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, ...path] = line.split(':');
    if (controllers !== undefined && controllers !== '' && controllers.split(',').sort().join(',') === wanted) return path.join(':');
  }
  return undefined;
}

export interface CgroupMount {
  point: string;
  fstype: 'cgroup' | 'cgroup2';
  /** The hierarchy's controllers and name (v1), as mount -o takes them: "cpu,cpuacct", "name=systemd". */
  options: string;
}

/** The host's cgroup hierarchies, from mountinfo, in mount order. */
export function cgroupMounts(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const [fstype, , superOptions] = (right ?? '').split(' ');
    const point = (left ?? '').split(' ')[4];
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || point === undefined) continue;
    const options = (superOptions ?? '')
      .split(',')
      .filter((o) => o !== 'rw' && o !== 'ro' && (!o.includes('=') || o.startsWith('name=')))
      .join(',');
    out.push({ point, fstype, options: fstype === 'cgroup2' ? '' : options });
  }
  return out;
}
