/**
 * The reference for tsrun's ENOSYS rule, written from runc's observable behaviour: when the
 * default action does not let calls through (and is not already ENOSYS), a call whose number is
 * above every syscall the profile names on the call's architecture fails with ENOSYS; on s390x so
 * does syscall 0, the multiplexer of numbers the kernel does not know. Only architectures the
 * filter covers (the native one and those listed) get it.
 */
import { archInfo, NATIVE_ARCH, type Seccomp } from '../../src/seccomp/compile.js';

export const ENOSYS_RET = 0x00050000 | 38;

export function enosysExpected(profile: Seccomp, call: { nr: number; arch: number }, native: string = NATIVE_ARCH): boolean {
  if (['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction)) return false;
  if (profile.defaultErrnoRet === 38) return false;
  const covered = new Set([native, ...(profile.architectures ?? [])]);
  // x86_64 and x32 share an architecture value: the x32 bit of the number tells them apart.
  const x86 = call.arch === archInfo('SCMP_ARCH_X86_64')?.audit;
  const name = x86
    ? [call.nr >= 0x40000000 ? 'SCMP_ARCH_X32' : 'SCMP_ARCH_X86_64'].find((n) => covered.has(n))
    : [...covered].find((n) => archInfo(n)?.audit === call.arch);
  const info = name === undefined ? undefined : archInfo(name);
  if (!info) return false;
  const numbers = (profile.syscalls ?? []).flatMap((rule) => rule.names.map((n) => info.table[n] ?? -1));
  const highest = Math.max(-1, ...numbers);
  if (highest < 0) return false;
  return call.nr > highest || (name === 'SCMP_ARCH_S390X' && call.nr === 0);
}
