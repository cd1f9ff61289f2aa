/**
 * A profile with the shape and rules of the default profile Docker/moby applies: default ERRNO,
 * three x86 architectures, an allow list of ordinary syscalls, personality allowed only for the
 * usual personas. Written here from the public profile's lists (names only), not copied.
 */
import type { Seccomp } from '../../src/seccomp/compile.js';
import x86_64 from '../../src/seccomp/tables/x86_64.json' with { type: 'json' };

/** Syscalls the default profile leaves out (admin, kernel, tracing, namespace and clock calls). */
const DENIED = new Set([
  'acct',
  'add_key',
  'bpf',
  'clock_adjtime',
  'clock_settime',
  'create_module',
  'delete_module',
  'finit_module',
  'get_kernel_syms',
  'get_mempolicy',
  'init_module',
  'ioperm',
  'iopl',
  'kcmp',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'mbind',
  'mount',
  'move_pages',
  'name_to_handle_at',
  'nfsservctl',
  'open_by_handle_at',
  'perf_event_open',
  'personality',
  'pivot_root',
  'process_vm_readv',
  'process_vm_writev',
  'ptrace',
  'query_module',
  'quotactl',
  'reboot',
  'request_key',
  'set_mempolicy',
  'setns',
  'settimeofday',
  'swapon',
  'swapoff',
  'sysfs',
  '_sysctl',
  'umount2',
  'unshare',
  'uselib',
  'userfaultfd',
  'ustat',
  'vm86',
  'vm86old',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'open_tree',
  'move_mount',
  'mount_setattr',
  'clone3',
]);

export function dockerLikeProfile(): Seccomp {
  const allowed = Object.keys(x86_64).filter((name) => !DENIED.has(name));
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: allowed, action: 'SCMP_ACT_ALLOW' },
      ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((persona) => ({
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW' as const,
        args: [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' as const }],
      })),
    ],
  };
}
