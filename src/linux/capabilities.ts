import { readFileSync } from 'node:fs';
import type { Process } from '../spec/config.js';

/** Capability numbers of linux/capability.h, by the names config.json uses. */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function lastCap(): number {
  return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
}

/**
 * A capability set as a bitmask. A name that is no capability tsrun knows, or one newer than this
 * kernel, is left out and returned in `skipped`: engines pass lists made for newer kernels and
 * runtimes, and runc and crun skip those too.
 */
export function capabilityMask(names: readonly string[] | undefined, last: number): { mask: bigint; skipped: string[] } {
  let mask = 0n;
  const skipped: string[] = [];
  for (const name of names ?? []) {
    const n = CAPABILITIES[name];
    if (n === undefined || n > last) skipped.push(name);
    else mask |= 1n << BigInt(n);
  }
  return { mask, skipped };
}

export type CapabilitySet = keyof NonNullable<Process['capabilities']>;

/** Every set of process.capabilities as a mask, and the names skipped in any of them (once each, sorted: one warning). */
export function capabilitySets(
  caps: NonNullable<Process['capabilities']>,
  last: number,
): { masks: Record<CapabilitySet, bigint>; skipped: string[] } {
  const names: CapabilitySet[] = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'];
  const skipped = new Set<string>();
  const masks = Object.fromEntries(
    names.map((name) => {
      const set = capabilityMask(caps[name], last);
      for (const s of set.skipped) skipped.add(s);
      return [name, set.mask];
    }),
  ) as Record<CapabilitySet, bigint>;
  return { masks, skipped: [...skipped].sort() };
}
