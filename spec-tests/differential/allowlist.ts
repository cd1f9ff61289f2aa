/**
 * Every accepted difference between runc (Debian's 1.1.5) and tsrun that the differential test finds.
 * Three lists, and nothing else may pass:
 *   ALLOWED     deliberate and documented (README, "Differences from runc"): the spec wins, a host
 *               limit, or tsrun deliberately stricter;
 *   KNOWN_OPEN  bugs of issue 12 being fixed now (each names its item): remove an entry when its fix lands;
 *   NEW         real differences not in issue 12, each with a reproduction: to be filed and fixed.
 * An entry matches a difference by field and, when given, by runc's and tsrun's values (a missing
 * value reads "(absent)"; a run that failed reads "failed (exit N: last line of stderr)"), by both
 * values together, and by the case.
 */
import type { Case, Difference } from './harness.js';

type Value = RegExp | ((v: string) => boolean);

export interface Entry {
  /** A short name, printed in the run's summary. */
  id: string;
  field: RegExp;
  runc?: Value;
  tsrun?: Value;
  /** Both values together. */
  pair?: (runc: string, tsrun: string) => boolean;
  /** The case, the difference, and every difference of the case (a field may be accepted only beside another). */
  when?: (c: Case, d: Difference, all: Difference[]) => boolean;
  why: string;
}

export interface Deliberate extends Entry {
  reason: 'spec wins' | 'host limit' | 'tsrun deliberately stricter' | 'fixed in later runc';
}

export interface KnownOpen extends Entry {
  /** The numbered item of issue 12 (or its judgement call on delete). */
  item: number | 'judgement call';
}

export interface NewDifference extends Entry {
  repro: string;
}

const RAN = /^ran$/;
const failed = (text: RegExp) => (v: string) => v.startsWith('failed') && text.test(v);
/** "mount /a/b #2 | opts" → "/a/b"; "dev /dev/x" → "/dev/x". */
const pointOf = (field: string) => (field.split(' | ')[0] as string).replace(/^(mount|dev) /, '').replace(/ #\d+$/, '');
const mainOf = (field: string) => field.split(' | ')[0] as string;
const set = (v: string) => new Set(v.split(','));
const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const masked = (c: Case, d: Difference) => (c.config.linux?.maskedPaths ?? []).includes(pointOf(d.field));
const mountAt = (c: Case, point: string) => (c.config.mounts ?? []).filter((m) => m.destination === point);
const propagation = (c: Case) => c.config.linux?.rootfsPropagation as string | undefined;

export const ALLOWED: Deliberate[] = [
  {
    id: 'masked file: the host /dev/null',
    reason: 'tsrun deliberately stricter',
    why: "a masked file gets the host's verified /dev/null, not the container's (which the image or a mount could replace: the 2025 runc masked-path CVE class)",
    field: /^mount \S+( #\d+)?( \| (opts|super))?$/,
    when: (c, d, all) =>
      masked(c, d) &&
      all.some(
        (x) =>
          x.field === mainOf(d.field) &&
          /(root=\/null|\/dev\/null)$/.test(x.runc ?? '') &&
          /^devtmpfs src=devtmpfs root=\/null$/.test(x.tsrun ?? ''),
      ),
  },
  {
    id: 'masked directory: tmpfs also nosuid,nodev,noexec, size 0',
    reason: 'tsrun deliberately stricter',
    why: 'a masked directory is an empty read-only tmpfs that is also nosuid,nodev,noexec and 0 bytes big (runc: read-only only)',
    field: /^mount \S+( #\d+)? \| (opts|super)$/,
    when: (c, d) => masked(c, d),
    pair: (r, t) => sameSet(set(t), new Set([...set(r), 'nodev', 'noexec', 'nosuid'])) || sameSet(set(t), new Set([...set(r), 'size=0k'])),
  },
  {
    id: 'a read-only cgroup mount: the tmpfs at /sys/fs/cgroup read-only too',
    reason: 'spec wins',
    why: 'the config says ro for the mount at /sys/fs/cgroup: tsrun makes the tmpfs it builds there read-only as well (runc 1.1.5 leaves that tmpfs writable)',
    field: /^mount \/sys\/fs\/cgroup( #\d+)? \| (opts|super)$/,
    when: (c) => mountAt(c, '/sys/fs/cgroup').some((m) => m.type === 'cgroup' && m.options?.includes('ro')),
    pair: (r, t) => set(r).has('rw') && set(t).has('ro') && sameSet(new Set([...set(r)].map((o) => (o === 'rw' ? 'ro' : o))), set(t)),
  },
  {
    id: 'rootfsPropagation: the container sees it',
    reason: 'spec wins',
    why: 'linux.rootfsPropagation "shared"/"rshared" ("unbindable"/"runbindable") makes the container\'s root mount and the mounts below it shared (unbindable), as the spec says; runc 1.1.5 leaves every mount private',
    field: /^mount \S+( #\d+)? \| propagation$/,
    runc: /^private$/,
    pair: (_r, t) => t === 'shared' || t === 'unbindable',
    when: (c, d) => (propagation(c) ?? '').replace(/^r/, '') === d.tsrun,
  },
  {
    id: 'ENOSYS for unknown syscalls without architectures listed',
    reason: 'fixed in later runc',
    why: "runc 1.1.5 answers a number above the profile's highest with ENOSYS only when linux.seccomp.architectures lists some (its stub forgot the native architecture); later runc always does, and so does tsrun",
    field: /^syscall nr_\d+$/,
    runc: (v) => v !== 'ENOSYS',
    tsrun: /^ENOSYS$/,
    when: (c) => (c.config.linux?.seccomp?.architectures ?? []).length === 0,
  },
  {
    id: 'runc cannot reopen /dev/null when linux.devices lists it',
    reason: 'spec wins',
    why: "a device at a default device's path makes runc 1.1.5 drop that default device's cgroup rule, so its own init fails to reopen /dev/null under a deny-all device list; the spec says the default devices are there, and tsrun keeps them usable",
    field: /^run$/,
    runc: failed(/error reopening \/dev\/null inside container/),
    tsrun: RAN,
    when: (c) => (c.config.linux?.devices ?? []).some((d) => d.path === '/dev/null'),
  },
  {
    id: 'rootless rshared: runc fails to bind its cgroups',
    reason: 'spec wins',
    why: 'rootless with linux.rootfsPropagation "rshared" runc 1.1.5 fails in its own cgroup mount (stat /sys/fs/cgroup/cpu: ENOENT, the tmpfs it just made propagated away); the config is valid and tsrun runs it',
    field: /^run$/,
    runc: failed(
      /error mounting \\?"cgroup\\?" to rootfs at \\?"\/sys\/fs\/cgroup\\?": stat \/sys\/fs\/cgroup\/\S+: no such file or directory/,
    ),
    tsrun: RAN,
    when: (c) => c.as === 'rootless' && propagation(c) === 'rshared',
  },
  {
    id: 'delete of a created container without --force fails',
    reason: 'spec wins',
    why: 'runtime-spec: deleting a container that is not stopped fails; runc 1.1.5 kills and deletes a created one (engines follow a plain delete with delete --force)',
    field: /^cli delete of a created container: (delete without --force \(created\)|state)$/,
    pair: (r, t) => (r === 'exit 0' && t !== 'exit 0') || (r === 'exit 1' && /status created/.test(t)),
  },
  {
    id: 'domainname',
    reason: 'spec wins',
    why: 'runtime-spec 1.1 added "domainname"; runc 1.1.5 predates it and ignores the field',
    field: /^(domainname|sysctl kernel\/domainname)$/,
    runc: /^\(none\)$/,
    when: (c) => !!c.config.domainname,
  },
  {
    id: 'rootless: additional gids when the gids are mapped',
    reason: 'spec wins',
    why: 'with newgidmap ranges the additional gids exist in the container and setgroups is allowed: tsrun sets them; runc 1.1.5 refuses any additional gid when not run by root',
    field: /^run$/,
    runc: failed(/cannot set any additional groups in a rootless container/),
    tsrun: RAN,
  },
  {
    id: 'rootfsPropagation unbindable: runc fails',
    reason: 'spec wins',
    why: 'runc 1.1.5 fails to bind the rootfs (EINVAL) once its parent is unbindable; tsrun applies the propagation as the spec says',
    field: /^run$/,
    runc: failed(/flags: 0x5000: invalid argument/),
    tsrun: RAN,
    when: (c) => propagation(c) === 'unbindable' || propagation(c) === 'runbindable',
  },
  {
    id: 'rootless sysfs without a network namespace: /sys bound',
    reason: 'host limit',
    why: 'the kernel refuses a sysfs mount in a user namespace that does not own the network namespace; tsrun binds /sys instead (src/plan/build.ts), runc 1.1.5 fails with EPERM',
    field: /^run$/,
    runc: failed(/mount sysfs:\/sys .*operation not permitted/),
    tsrun: RAN,
    when: (c) => c.as === 'rootless' && !(c.config.linux?.namespaces ?? []).some((n) => n.type === 'network'),
  },
  {
    id: 'a read-only rbind is read-only below too',
    reason: 'tsrun deliberately stricter',
    why: "the mounts an rbind carries along (the host's cgroup tree under a rootless /sys) get the bind's ro,nosuid,nodev,noexec too, so nothing below a read-only bind is writable; runc 1.1.5 applies them to the top mount only",
    field: /^mount \S+( #\d+)? \| opts$/,
    pair: (r, t) => set(r).has('rw') && set(t).has('ro'),
    when: (c, d) =>
      (c.config.mounts ?? []).some(
        (m) => m.options?.includes('rbind') && m.options.includes('ro') && pointOf(d.field).startsWith(`${m.destination}/`),
      ),
  },
];

export const KNOWN_OPEN: KnownOpen[] = [];

export const NEW: NewDifference[] = [];

const value = (v: string | undefined) => v ?? '(absent)';
const test = (m: Value | undefined, v: string) => m === undefined || (m instanceof RegExp ? m.test(v) : m(v));

/** The entry that accepts a difference, if any. */
export function accepted(d: Difference, c: Case, all: Difference[]): Entry | undefined {
  return [...ALLOWED, ...KNOWN_OPEN, ...NEW].find(
    (e) =>
      e.field.test(d.field) &&
      test(e.runc, value(d.runc)) &&
      test(e.tsrun, value(d.tsrun)) &&
      (e.pair === undefined || e.pair(value(d.runc), value(d.tsrun))) &&
      (e.when === undefined || e.when(c, d, all)),
  );
}
