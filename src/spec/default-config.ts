import type { Config, Mount } from './config.js';
import { SPEC_VERSION } from './version.js';

const defaultCapabilities = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

const mounts: Mount[] = [
  { destination: '/proc', type: 'proc', source: 'proc' },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  {
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
];

/**
 * The config `tsrun spec` writes: a shell in a read-only rootfs with runc's default isolation.
 * cgroupNamespace: whether it has a cgroup namespace (`tsrun spec`, as `runc spec`, gives one only
 * on a unified cgroup v2 host).
 */
export function defaultConfig(cgroupNamespace = true): Config {
  return {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: defaultCapabilities, effective: defaultCapabilities, permitted: defaultCapabilities },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tsrun',
    mounts,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...(cgroupNamespace ? [{ type: 'cgroup' as const }] : []),
      ],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * The same for an unprivileged user: a user namespace mapping the caller to root, no network
 * namespace (it could not be configured), /sys bound instead of mounted, no host cgroup mount,
 * no devpts gid= (group 5 is not mapped) and no resource limits.
 */
export function rootlessConfig(uid: number, gid: number, cgroupNamespace = true): Config {
  const config = defaultConfig(cgroupNamespace);
  const linux = config.linux ?? {};
  config.mounts = (config.mounts ?? [])
    .filter((m) => m.type !== 'cgroup')
    .map((m): Mount => {
      if (m.type === 'sysfs')
        return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
      return m.options ? { ...m, options: m.options.filter((o) => !o.startsWith('gid=')) } : m;
    });
  config.linux = {
    ...linux,
    resources: undefined,
    namespaces: [...(linux.namespaces ?? []).filter((ns) => ns.type !== 'network'), { type: 'user' }],
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
  };
  return config;
}
