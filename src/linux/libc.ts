/**
 * Every libc and raw system call tsrun makes from TypeScript, through ffi-rs. Nothing else in the
 * code base touches ffi-rs. Failures throw SyscallError carrying the call name and errno.
 */
import type { FieldType } from 'ffi-rs';
import { SyscallError } from './errno.js';
import { type FfiBinding, ffiBinding } from './ffi.js';

const LIBC = 'libc';

// x86_64 syscall numbers of calls glibc 2.36 has no wrapper for.
const SYS_pidfd_open = 434;
const SYS_openat2 = 437;
const SYS_pidfd_send_signal = 424;
const SYS_seccomp = 317;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_GET_ACTION_AVAIL = 2;
const EFAULT = 14;

const AT_FDCWD = -100;

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

let ffi: FfiBinding | undefined;

function lib(): FfiBinding {
  if (ffi === undefined) {
    ffi = ffiBinding();
    ffi.open({ library: LIBC, path: 'libc.so.6' });
  }
  return ffi;
}

interface Outcome {
  value: number;
  errnoCode: number;
}

/** Calls a libc function returning int; -1 means failure with errno. */
function callInt(funcName: string, paramsType: FieldType[], paramsValue: unknown[], context?: string, callName = funcName): number {
  const ffi = lib();
  const out = ffi.load({
    library: LIBC,
    funcName,
    retType: ffi.DataType.I32,
    paramsType,
    paramsValue,
    errno: true,
    freeResultMemory: false,
  }) as Outcome;
  if (out.value === -1) throw new SyscallError(callName, out.errnoCode, context);
  return out.value;
}

/** A Buffer argument passed by pointer. */
function bytesType(length: number): FieldType {
  const { DataType, FFITypeTag } = lib();
  // The native binding has FFITypeTag.Array; ffi-rs's type declarations leave it out.
  const arrayTag = (FFITypeTag as unknown as { Array: number }).Array;
  return { ffiTypeTag: arrayTag, type: DataType.U8Array, length };
}

/** Calls syscall(2) with integer arguments; returns the kernel's result. */
function rawSyscall(name: string, nr: number, args: number[]): number {
  const ffi = lib();
  const out = ffi.load({
    library: LIBC,
    funcName: 'syscall',
    retType: ffi.DataType.I64,
    paramsType: [ffi.DataType.I64, ...args.map(() => ffi.DataType.I64)],
    paramsValue: [nr, ...args],
    errno: true,
    freeResultMemory: false,
  }) as Outcome;
  if (out.value === -1) throw new SyscallError(name, out.errnoCode);
  return out.value;
}

export function memfdCreate(name: string, flags: number): number {
  const { DataType } = lib();
  return callInt('memfd_create', [DataType.String, DataType.U32], [name, flags], `"${name}"`);
}

export function fcntl(fd: number, cmd: number, arg: number): number {
  const { DataType } = lib();
  return callInt('fcntl', [DataType.I32, DataType.I32, DataType.I64], [fd, cmd, arg]);
}

export function flock(fd: number, operation: number): void {
  const { DataType } = lib();
  callInt('flock', [DataType.I32, DataType.I32], [fd, operation]);
}

export function close(fd: number): void {
  const { DataType } = lib();
  callInt('close', [DataType.I32], [fd]);
}

export const MNT_DETACH = 2;

export function umount2(path: string, flags: number): void {
  const { DataType } = lib();
  callInt('umount2', [DataType.String, DataType.I32], [path, flags], `"${path}"`);
}

export function mkfifo(path: string, mode: number): void {
  const { DataType } = lib();
  callInt('mkfifo', [DataType.String, DataType.U32], [path, mode], `"${path}"`);
}

/** Signals the process a pidfd names: unlike kill(2), it can never reach a process that reused the pid. */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  rawSyscall('pidfd_send_signal', SYS_pidfd_send_signal, [pidfd, signal, 0, 0]);
}

export function pidfdOpen(pid: number): number {
  return rawSyscall('pidfd_open', SYS_pidfd_open, [pid, 0]);
}

/**
 * Whether the running kernel knows these SECCOMP_FILTER_FLAG_* bits. seccomp(2) checks the flags
 * before it reads the program: with no program it fails with EFAULT when it knows them, EINVAL
 * when not. Nothing is loaded either way.
 */
export function seccompFlagsKnown(flags: number): boolean {
  try {
    rawSyscall('seccomp', SYS_seccomp, [SECCOMP_SET_MODE_FILTER, flags, 0]);
  } catch (err) {
    if (err instanceof SyscallError && err.errno === EFAULT) return true;
    if (err instanceof SyscallError) return false;
    throw err;
  }
  return true;
}

/** Whether the running kernel has this SECCOMP_RET_* action (SECCOMP_GET_ACTION_AVAIL). */
export function seccompActionAvailable(action: number): boolean {
  const { DataType } = lib();
  const value = Buffer.alloc(4);
  value.writeUInt32LE(action >>> 0);
  try {
    callInt(
      'syscall',
      [DataType.I64, DataType.I64, DataType.I64, bytesType(value.length)],
      [SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, value],
      undefined,
      'seccomp',
    );
    return true;
  } catch (err) {
    if (err instanceof SyscallError) return false;
    throw err;
  }
}

export const RESOLVE_NO_MAGICLINKS = 0x02n;
export const RESOLVE_IN_ROOT = 0x10n;

/** openat2(dirfd, path, {flags: O_RDONLY, mode: 0, resolve}) → fd; dirfd defaults to AT_FDCWD. */
export function openat2(path: string, resolve: bigint, dirfd = AT_FDCWD): number {
  const { DataType } = lib();
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(resolve, 16);
  return callInt(
    'syscall',
    [DataType.I64, DataType.I32, DataType.String, bytesType(how.length), DataType.I64],
    [SYS_openat2, dirfd, path, how, how.length],
    `"${path}"`,
    'openat2',
  );
}
