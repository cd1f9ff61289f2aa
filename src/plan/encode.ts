/**
 * The plan the native shim executes, in the wire format of native-shim/protocol.h: a header,
 * then steps of (u16 op, u16 reserved, u32 length, payload), all little-endian. Each builder
 * below makes one step; `what` names it in error messages.
 */
import { UserError } from '../cli/errors.js';
export const PLAN_MAGIC = 0x4c505354; // "TSPL"
export const PLAN_VERSION = 9;
/** OP_CONSOLE's owner that leaves the pty's owner as it is. */
const CONSOLE_KEEP_OWNER = 0xffffffff;

/** The sockets a plan connects (protocol.h enum socket_slot). */
export enum SocketSlot {
  Agent = 0,
  Console = 1,
  Pidfd = 2,
}

export enum ShimOp {
  Unshare = 1,
  Exit = 2,
  Clone = 3,
  Setns = 4,
  NextPlan = 5,
  Sync = 6,
  SetIds = 7,
  Rootfs = 8,
  Mount = 9,
  Mknod = 10,
  Symlink = 11,
  Pivot = 12,
  SetHostname = 13,
  SetDomainname = 14,
  WriteFile = 15,
  SetRlimit = 16,
  Caps = 17,
  NoNewPrivs = 18,
  Umask = 19,
  Chdir = 20,
  Mkdir = 47,
  Detach = 48,
  OpenSource = 49,
  Hook = 21,
  OpenFifo = 22,
  Ready = 23,
  WaitStart = 24,
  FindExec = 25,
  Exec = 26,
  CloseFds = 27,
  Mask = 28,
  Personality = 29,
  Ioprio = 30,
  Readonly = 31,
  Bounding = 32,
  Setattr = 33,
  Sched = 36,
  IdmapTree = 37,
  Seccomp = 39,
  Connect = 40,
  BpfDevice = 41,
  SetnsFd = 42,
  Dumpable = 43,
  ConsoleRelay = 44,
  Console = 45,
  SessionKeyring = 46,
}

export enum PivotMode {
  PivotRoot = 0,
  Move = 1,
  Chroot = 2,
}

export enum ParentMode {
  Exit = 0,
  Relay = 1,
}

export enum ChdirMode {
  Now = 0,
  /** EACCES or EPERM leaves it to a later Pending step (after the ids switch). */
  Try = 1,
  /** Only when a Try step left it. */
  Pending = 2,
}

/** What a node or link step does when its name is taken. */
export enum Existing {
  Fail = 0,
  /** Leave it: it counts as made. */
  Keep = 1,
  /** Unlink it (never a directory), then make the new one. */
  Replace = 2,
}

export enum CreateMode {
  None = 0,
  Dir = 1,
  File = 2,
  /** With MS_REMOUNT: keep the target's nosuid/nodev/noexec/atime flags (a user namespace may not clear them). */
  KeepLockedFlags = 0x100,
  /** The source is the index of an openSource step's copy, attached at the target. */
  SourceIndex = 0x200,
  /** The target's last component must be a directory, never a link (nor anything else) already there. */
  OrdinaryDir = 0x400,
}

export interface PlanStep {
  op: ShimOp;
  payload: Uint8Array;
  what: string;
}

type Field =
  | { u32: number }
  | { u64: bigint }
  | { str: string }
  | { strv: readonly string[] }
  | { u32v: readonly number[] }
  | { bytes: Uint8Array };

function encodeFields(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    parts.push(b);
  };
  const str = (s: string) => {
    if (s.includes('\0')) throw new NulByteError(s);
    const bytes = Buffer.from(s);
    u32(bytes.length);
    parts.push(bytes, Buffer.alloc(1));
  };
  for (const f of fields) {
    if ('u32' in f) u32(f.u32);
    else if ('u64' in f) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt.asUintN(64, f.u64));
      parts.push(b);
    } else if ('str' in f) str(f.str);
    else if ('strv' in f) {
      u32(f.strv.length);
      for (const s of f.strv) str(s);
    } else if ('bytes' in f) {
      u32(f.bytes.length);
      parts.push(Buffer.from(f.bytes));
    } else {
      u32(f.u32v.length);
      for (const v of f.u32v) u32(v);
    }
  }
  return Buffer.concat(parts);
}

/** A string the kernel cannot take: C strings end at NUL. */
class NulByteError extends Error {
  constructor(readonly value: string) {
    super(`a NUL byte in ${JSON.stringify(value)}`);
  }
}

const step = (op: ShimOp, what: string, ...fields: Field[]): PlanStep => {
  try {
    return { op, what, payload: encodeFields(fields) };
  } catch (err) {
    if (err instanceof NulByteError)
      throw new UserError(`config.json: ${what}: ${JSON.stringify(err.value)} holds a NUL byte, which no path, name or argument can`);
    throw err;
  }
};

export const steps = {
  unshare: (flags: bigint, what: string) => step(ShimOp.Unshare, what, { u64: flags }),
  exit: (status: number) => step(ShimOp.Exit, 'exit', { u32: status }),
  /** trees: where the parent attaches each idmapped copy (in IDMAP_TREE order), under root, before reporting. */
  clone: (flags: bigint, mode: ParentMode, root = '', trees: readonly { target: string; create: number }[] = []) =>
    step(
      ShimOp.Clone,
      'create the container process',
      { u64: flags },
      { u32: mode },
      { str: root },
      { strv: trees.map((t) => t.target) },
      { u32v: trees.map((t) => t.create) },
    ),
  setns: (path: string, nstype: number, what: string) => step(ShimOp.Setns, what, { str: path }, { u32: nstype }),
  nextPlan: () => step(ShimOp.NextPlan, 'receive the container plan'),
  sync: (what: string) => step(ShimOp.Sync, what),
  setIds: (uid: number, gid: number, groups: readonly number[] | undefined) =>
    step(ShimOp.SetIds, `switch to uid ${uid} gid ${gid}`, { u32: uid }, { u32: gid }, { u32: groups ? 1 : 0 }, { u32v: groups ?? [] }),
  rootfs: (path: string) => step(ShimOp.Rootfs, `open the root filesystem ${path}`, { str: path }),
  mount: (m: { source: string; target: string; fstype: string; flags: bigint; data: string; create: number }, what: string) =>
    step(ShimOp.Mount, what, { str: m.source }, { str: m.target }, { str: m.fstype }, { u64: m.flags }, { str: m.data }, { u32: m.create }),
  mknod: (path: string, mode: number, dev: bigint, uid: number, gid: number, existing = Existing.Fail) =>
    step(ShimOp.Mknod, `create device ${path}`, { str: path }, { u32: mode }, { u64: dev }, { u32: uid }, { u32: gid }, { u32: existing }),
  symlink: (target: string, path: string, existing = Existing.Fail) =>
    step(ShimOp.Symlink, `symlink ${path} -> ${target}`, { str: target }, { str: path }, { u32: existing }),
  pivot: (mode: PivotMode) =>
    step(ShimOp.Pivot, ['pivot_root', 'move the root (--no-pivot)', 'chroot into the root'][mode] ?? 'pivot', { u32: mode }),
  sethostname: (name: string) => step(ShimOp.SetHostname, `set hostname "${name}"`, { str: name }),
  setdomainname: (name: string) => step(ShimOp.SetDomainname, `set domainname "${name}"`, { str: name }),
  /** Writes base/below, where base is on a filesystem with fsMagic and below crosses no mount. */
  writeFile: (base: string, below: string, content: string, fsMagic: bigint, what: string) =>
    step(ShimOp.WriteFile, what, { str: base }, { str: below }, { str: content }, { u64: fsMagic }),
  setrlimit: (name: string, resource: number, soft: bigint, hard: bigint) =>
    step(ShimOp.SetRlimit, `set ${name}`, { u32: resource }, { u64: soft }, { u64: hard }),
  bounding: (lastCap: number, keep: bigint) => step(ShimOp.Bounding, 'limit the capability bounding set', { u32: lastCap }, { u64: keep }),
  caps: (lastCap: number, sets: { effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint }) =>
    step(
      ShimOp.Caps,
      'set capabilities',
      { u32: lastCap },
      { u64: sets.effective },
      { u64: sets.permitted },
      { u64: sets.inheritable },
      { u64: sets.ambient },
    ),
  noNewPrivs: () => step(ShimOp.NoNewPrivs, 'set no_new_privs'),
  umask: (mask: number) => step(ShimOp.Umask, 'set umask', { u32: mask }),
  chdir: (path: string, mode = ChdirMode.Now) =>
    step(ShimOp.Chdir, `change to the working directory "${path}"`, { str: path }, { u32: mode }),
  mkdir: (path: string, what: string) => step(ShimOp.Mkdir, what, { str: path }),
  openSource: (path: string, recursive: boolean) =>
    step(ShimOp.OpenSource, `copy the bind source ${path}`, { str: path }, { u32: recursive ? 1 : 0 }),
  detach: (path: string) => step(ShimOp.Detach, `detach the host's ${path}`, { str: path }),
  hook: (kind: string, h: { path: string; args: readonly string[]; env: readonly string[]; timeout: number; stdin: string; cwd: string }) =>
    step(
      ShimOp.Hook,
      `${kind} hook`,
      { str: h.path },
      { strv: h.args },
      { strv: h.env },
      { u32: h.timeout },
      { str: h.stdin },
      { str: h.cwd },
    ),
  openFifo: (path: string) => step(ShimOp.OpenFifo, 'open the exec FIFO', { str: path }),
  ready: () => step(ShimOp.Ready, 'report ready'),
  waitStart: () => step(ShimOp.WaitStart, 'wait for start'),
  findExec: (file: string, path: string) => step(ShimOp.FindExec, `find the executable "${file}"`, { str: file }, { str: path }),
  exec: (args: readonly string[], env: readonly string[]) => step(ShimOp.Exec, 'exec the container process', { strv: args }, { strv: env }),
  closeFds: (first: number) => step(ShimOp.CloseFds, 'close inherited file descriptors', { u32: first }),
  mask: (path: string, nullDevice: string) => step(ShimOp.Mask, `mask ${path}`, { str: path }, { str: nullDevice }),
  personality: (persona: number) => step(ShimOp.Personality, 'set personality', { u32: persona }),
  ioprio: (value: number) => step(ShimOp.Ioprio, 'set I/O priority', { u32: value }),
  setattr: (path: string, set: bigint, clear: bigint, recursive: boolean) =>
    step(ShimOp.Setattr, `set the mount attributes of "${path}"`, { str: path }, { u64: set }, { u64: clear }, { u32: recursive ? 1 : 0 }),
  sched: (a: { policy: number; nice: number; priority: number; flags: bigint; runtime: bigint; deadline: bigint; period: bigint }) =>
    step(
      ShimOp.Sched,
      'set the scheduler',
      { u32: a.policy },
      { u32: a.nice },
      { u32: a.priority },
      { u64: a.flags },
      { u64: a.runtime },
      { u64: a.deadline },
      { u64: a.period },
    ),
  idmapTree: (source: string, recursive: boolean, uidMaps: readonly number[], gidMaps: readonly number[]) =>
    step(
      ShimOp.IdmapTree,
      `make an idmapped copy of ${source}`,
      { str: source },
      { u32: recursive ? 1 : 0 },
      { u32v: uidMaps },
      { u32v: gidMaps },
    ),
  /** message: the container process state sent with the listener fd when the filter has one ('' when not). */
  seccomp: (flags: number, program: Uint8Array, message: string) =>
    step(
      ShimOp.Seccomp,
      `load the seccomp filter (${program.length / 8} instructions)`,
      { u32: flags },
      { bytes: program },
      { str: message },
    ),
  connect: (slot: SocketSlot, path: string, why: string) => step(ShimOp.Connect, why, { u32: slot }, { str: path }),
  sessionKeyring: (name: string) => step(ShimOp.SessionKeyring, `join a new session keyring "${name}"`, { str: name }),
  consoleRelay: () => step(ShimOp.ConsoleRelay, 'make the pair that brings the pty master to the relay'),
  /** owner: the uid the pty goes to, its group kept (undefined: as the kernel made it). */
  console: (rows: number, cols: number, consolePath: string, owner?: number) =>
    step(
      ShimOp.Console,
      "make the process's terminal",
      { u32: rows },
      { u32: cols },
      { str: consolePath },
      { u32: owner ?? CONSOLE_KEEP_OWNER },
    ),
  setnsFd: (fd: number, flags: number, why: string) => step(ShimOp.SetnsFd, why, { u32: fd }, { u32: flags }),
  dumpable: (value: boolean) =>
    step(ShimOp.Dumpable, value ? 'make the process dumpable' : 'make the process non-dumpable', { u32: value ? 1 : 0 }),
  bpfDevice: (cgroupDir: string, program: Uint8Array) =>
    step(
      ShimOp.BpfDevice,
      `attach the device filter (${program.length / 8} instructions) to ${cgroupDir}`,
      { str: cgroupDir },
      { bytes: program },
    ),
  readonly: (path: string) => step(ShimOp.Readonly, `make ${path} read-only`, { str: path }),
};

const HEADER_SIZE = 16;
const STEP_HEADER_SIZE = 8;

export function encodePlan(plan: readonly PlanStep[]): Buffer {
  const size = plan.reduce((n, s) => n + STEP_HEADER_SIZE + s.payload.length, 0);
  const out = Buffer.alloc(HEADER_SIZE + size);
  out.writeUInt32LE(PLAN_MAGIC, 0);
  out.writeUInt32LE(PLAN_VERSION, 4);
  out.writeUInt32LE(plan.length, 8);
  out.writeUInt32LE(size, 12);
  let off = HEADER_SIZE;
  for (const s of plan) {
    out.writeUInt16LE(s.op, off);
    out.writeUInt32LE(s.payload.length, off + 4);
    out.set(s.payload, off + STEP_HEADER_SIZE);
    off += STEP_HEADER_SIZE + s.payload.length;
  }
  return out;
}
