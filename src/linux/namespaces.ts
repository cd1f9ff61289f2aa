import type { NamespaceType } from '../spec/config.js';

/** The clone flag of each namespace type, and its file name under /proc/PID/ns. */
export const NAMESPACES: Readonly<Record<NamespaceType, { flag: bigint; file: string }>> = {
  mount: { flag: 0x00020000n, file: 'mnt' },
  uts: { flag: 0x04000000n, file: 'uts' },
  ipc: { flag: 0x08000000n, file: 'ipc' },
  user: { flag: 0x10000000n, file: 'user' },
  pid: { flag: 0x20000000n, file: 'pid' },
  network: { flag: 0x40000000n, file: 'net' },
  cgroup: { flag: 0x02000000n, file: 'cgroup' },
  time: { flag: 0x00000080n, file: 'time' },
};

/** Order in which namespaces given by path are joined: the user namespace first, so the rest are joined with its rights. */
export const JOIN_ORDER: readonly NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];
