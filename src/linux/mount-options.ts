/** mount(2) flags (linux/mount.h). */
export const MS = {
  RDONLY: 0x1n,
  NOSUID: 0x2n,
  NODEV: 0x4n,
  NOEXEC: 0x8n,
  SYNCHRONOUS: 0x10n,
  REMOUNT: 0x20n,
  MANDLOCK: 0x40n,
  DIRSYNC: 0x80n,
  NOSYMFOLLOW: 0x100n,
  NOATIME: 0x400n,
  NODIRATIME: 0x800n,
  BIND: 0x1000n,
  MOVE: 0x2000n,
  REC: 0x4000n,
  SILENT: 0x8000n,
  UNBINDABLE: 0x20000n,
  PRIVATE: 0x40000n,
  SLAVE: 0x80000n,
  SHARED: 0x100000n,
  RELATIME: 0x200000n,
  STRICTATIME: 0x1000000n,
  LAZYTIME: 0x2000000n,
} as const;

/** Options that set (true) or clear (false) a flag. */
const FLAG_OPTIONS: Readonly<Record<string, [bigint, boolean]>> = {
  ro: [MS.RDONLY, true],
  rw: [MS.RDONLY, false],
  nosuid: [MS.NOSUID, true],
  suid: [MS.NOSUID, false],
  nodev: [MS.NODEV, true],
  dev: [MS.NODEV, false],
  noexec: [MS.NOEXEC, true],
  exec: [MS.NOEXEC, false],
  sync: [MS.SYNCHRONOUS, true],
  async: [MS.SYNCHRONOUS, false],
  dirsync: [MS.DIRSYNC, true],
  remount: [MS.REMOUNT, true],
  mand: [MS.MANDLOCK, true],
  nomand: [MS.MANDLOCK, false],
  noatime: [MS.NOATIME, true],
  atime: [MS.NOATIME, false],
  nodiratime: [MS.NODIRATIME, true],
  diratime: [MS.NODIRATIME, false],
  relatime: [MS.RELATIME, true],
  norelatime: [MS.RELATIME, false],
  strictatime: [MS.STRICTATIME, true],
  nostrictatime: [MS.STRICTATIME, false],
  lazytime: [MS.LAZYTIME, true],
  nolazytime: [MS.LAZYTIME, false],
  silent: [MS.SILENT, true],
  loud: [MS.SILENT, false],
  nosymfollow: [MS.NOSYMFOLLOW, true],
  symfollow: [MS.NOSYMFOLLOW, false],
  bind: [MS.BIND, true],
  rbind: [MS.BIND | MS.REC, true],
  defaults: [0n, true],
};

const PROPAGATION: Readonly<Record<string, bigint>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** mount_setattr(2) attributes (linux/mount.h). */
const ATTR = {
  RDONLY: 0x1n,
  NOSUID: 0x2n,
  NODEV: 0x4n,
  NOEXEC: 0x8n,
  ATIME_MASK: 0x70n,
  NOATIME: 0x10n,
  STRICTATIME: 0x20n,
  NODIRATIME: 0x80n,
  NOSYMFOLLOW: 0x200000n,
};

/** Recursive options (r*): attributes set on the mount and every mount below it. [set, clear] */
const RECURSIVE: Readonly<Record<string, [bigint, bigint]>> = {
  rro: [ATTR.RDONLY, 0n],
  rrw: [0n, ATTR.RDONLY],
  rnosuid: [ATTR.NOSUID, 0n],
  rsuid: [0n, ATTR.NOSUID],
  rnodev: [ATTR.NODEV, 0n],
  rdev: [0n, ATTR.NODEV],
  rnoexec: [ATTR.NOEXEC, 0n],
  rexec: [0n, ATTR.NOEXEC],
  rnodiratime: [ATTR.NODIRATIME, 0n],
  rdiratime: [0n, ATTR.NODIRATIME],
  rrelatime: [0n, ATTR.ATIME_MASK],
  rnorelatime: [0n, 0n],
  rnoatime: [ATTR.NOATIME, ATTR.ATIME_MASK],
  ratime: [0n, ATTR.ATIME_MASK],
  rstrictatime: [ATTR.STRICTATIME, ATTR.ATIME_MASK],
  rnostrictatime: [0n, ATTR.ATIME_MASK],
  rnosymfollow: [ATTR.NOSYMFOLLOW, 0n],
  rsymfollow: [0n, ATTR.NOSYMFOLLOW],
};

/** The recursive attributes that match plain mount flags, to make a bind mount's flags hold for its submounts too. */
export function recursiveAttrsOf(flags: bigint): bigint {
  let attrs = 0n;
  if (flags & MS.RDONLY) attrs |= ATTR.RDONLY;
  if (flags & MS.NOSUID) attrs |= ATTR.NOSUID;
  if (flags & MS.NODEV) attrs |= ATTR.NODEV;
  if (flags & MS.NOEXEC) attrs |= ATTR.NOEXEC;
  return attrs;
}

export interface ParsedMountOptions {
  /** Flags for the mount itself. */
  flags: bigint;
  /** Propagation changes, applied one by one after the mount. */
  propagation: bigint[];
  /** Filesystem-specific options, comma-joined (mode=755, size=64k, …). */
  data: string;
  /** Recursive attributes to set and clear (mount_setattr with AT_RECURSIVE), from the r* options. */
  recursive: { set: bigint; clear: bigint } | undefined;
  /** Options tsrun knows but does not apply (tmpcopyup): named in a warning. */
  ignored: string[];
}

/** Options a bind mount only honours on a remount (the kernel ignores them on the first MS_BIND). */
export const BIND_REMOUNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;

/** Every option name tsrun accepts, for `tsrun features`. */
export const KNOWN_MOUNT_OPTIONS: readonly string[] = [
  ...Object.keys(FLAG_OPTIONS),
  ...Object.keys(PROPAGATION),
  ...Object.keys(RECURSIVE),
].sort();

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0n;
  const propagation: bigint[] = [];
  const data: string[] = [];
  const ignored: string[] = [];
  let recursive: { set: bigint; clear: bigint } | undefined;
  for (const option of options ?? []) {
    const flag = FLAG_OPTIONS[option];
    const prop = PROPAGATION[option];
    const rec = RECURSIVE[option];
    if (flag) flags = flag[1] ? flags | flag[0] : flags & ~flag[0];
    else if (prop !== undefined) propagation.push(prop);
    else if (rec) {
      recursive ??= { set: 0n, clear: 0n };
      recursive.set = (recursive.set & ~rec[1]) | rec[0];
      recursive.clear = (recursive.clear & ~rec[0]) | rec[1];
    } else if (option === 'tmpcopyup') ignored.push(option);
    else data.push(option);
  }
  return { flags, propagation, data: data.join(','), recursive, ignored };
}
