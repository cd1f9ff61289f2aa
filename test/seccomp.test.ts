import { describe, expect, it } from 'vitest';
import { actionValue, archInfo, compileSeccomp, libseccompOrder, type Seccomp, SUPPORTED_ARCHES } from '../src/seccomp/compile.js';
import { disassemble } from '../src/seccomp/disasm.js';
import x86 from '../src/seccomp/tables/x86.json' with { type: 'json' };
import x86_64 from '../src/seccomp/tables/x86_64.json' with { type: 'json' };
import { runFilter } from './support/bpf-interp.js';
import { ENOSYS_RET, enosysExpected } from './support/runc-enosys.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;
const ALLOW = 0x7fff0000;
const KILL_THREAD = 0;
const errno = (n: number) => 0x00050000 | n;

type Rule = NonNullable<Seccomp['syscalls']>[number];

const run = (profile: Seccomp, nr: number, args: bigint[] = [], arch = X86_64) =>
  runFilter(compileSeccomp(profile).program, { nr, arch, args });

describe('seccomp compiler', () => {
  it('encodes every action', () => {
    expect(actionValue('SCMP_ACT_ALLOW', undefined)).toBe(ALLOW);
    expect(actionValue('SCMP_ACT_ERRNO', undefined)).toBe(errno(1));
    expect(actionValue('SCMP_ACT_ERRNO', 38)).toBe(errno(38));
    expect(actionValue('SCMP_ACT_KILL', undefined)).toBe(0);
    expect(actionValue('SCMP_ACT_KILL_THREAD', undefined)).toBe(0);
    expect(actionValue('SCMP_ACT_KILL_PROCESS', undefined)).toBe(0x80000000);
    expect(actionValue('SCMP_ACT_TRAP', undefined)).toBe(0x00030000);
    expect(actionValue('SCMP_ACT_TRACE', 7)).toBe(0x7ff00007);
    expect(actionValue('SCMP_ACT_LOG', undefined)).toBe(0x7ffc0000);
  });

  it('rules by name, the default for the rest; unknown names are skipped', () => {
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [{ names: ['read', 'write', 'no_such_syscall'], action: 'SCMP_ACT_ALLOW' }],
    };
    expect(run(p, x86_64.read)).toBe(ALLOW);
    expect(run(p, x86_64.write)).toBe(ALLOW);
    expect(run(p, x86_64.openat)).toBe(errno(38));
  });

  it('architectures: each is checked by its own table; the native one always; a foreign one is killed', () => {
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_KILL_PROCESS',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['getpid', 'mkdir'], action: 'SCMP_ACT_ALLOW' }],
    };
    expect(run(p, x86_64.getpid)).toBe(ALLOW);
    expect(run(p, x86.getpid, [], I386)).toBe(ALLOW);
    expect(run(p, x86.chdir, [], I386)).toBe(0x80000000); // below mkdir on i386: the default
    expect(run(p, 0x40000000 + x86_64.getpid)).toBe(ALLOW); // x32
    expect(run(p, x86_64.getpid, [], AARCH64)).toBe(KILL_THREAD);
    const only64: Seccomp = { ...p, architectures: ['SCMP_ARCH_X86_64'] };
    expect(run(only64, 0x40000000 + x86_64.getpid)).toBe(KILL_THREAD);
    expect(run(only64, x86.getpid, [], I386)).toBe(KILL_THREAD);
    // Listing only other architectures leaves the native one filtered all the same.
    const deny: Seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    };
    expect(run(deny, x86_64.mkdir)).toBe(errno(1));
    expect(run(deny, x86.mkdir, [], I386)).toBe(errno(1));
    expect(run(deny, 0x40000000 + x86_64.mkdir)).toBe(errno(1));
    expect(run({ ...deny, architectures: [] }, x86_64.mkdir)).toBe(errno(1));
  });

  it('a number above every syscall the profile names gets ENOSYS, unless the default lets calls through', () => {
    const p: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'openat'], action: 'SCMP_ACT_ALLOW' }] };
    expect(run(p, x86_64.openat)).toBe(ALLOW);
    expect(run(p, x86_64.openat + 1)).toBe(errno(38));
    expect(run(p, 1000)).toBe(errno(38));
    expect(run(p, x86_64.openat - 1)).toBe(errno(1)); // known to the profile's era: the default
    expect(run({ ...p, defaultErrnoRet: 38 }, 1000)).toBe(errno(38));
    expect(run({ ...p, defaultErrnoRet: 13 }, 1000)).toBe(errno(38));
    expect(run({ ...p, defaultAction: 'SCMP_ACT_KILL_PROCESS' }, 1000)).toBe(errno(38));
    for (const permissive of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'] as const) {
      const q: Seccomp = { defaultAction: permissive, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }] };
      expect(run(q, 1000), permissive).toBe(actionValue(permissive, undefined));
    }
    // Per architecture: i386 numbers above the profile's highest i386 syscall.
    const both: Seccomp = { ...p, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] };
    expect(run(both, x86.openat + 1, [], I386)).toBe(errno(38));
    expect(run(both, x86.read, [], I386)).toBe(ALLOW);
    // s390x: syscall 0 multiplexes numbers the kernel does not know.
    const s390x = archInfo('SCMP_ARCH_S390X');
    const s390: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_S390X'],
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    };
    const program = compileSeccomp(s390, 'SCMP_ARCH_S390X').program;
    expect(runFilter(program, { nr: 0, arch: s390x?.audit ?? 0, args: [] }, true)).toBe(errno(38));
    expect(runFilter(program, { nr: s390x?.table.read ?? -1, arch: s390x?.audit ?? 0, args: [] }, true)).toBe(ALLOW);
  });

  const cmp = (
    op: NonNullable<NonNullable<Seccomp['syscalls']>[number]['args']>[number]['op'],
    value: bigint,
    valueTwo?: bigint,
  ): Seccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 99, args: [{ index: 0, op, value, valueTwo }] }],
  });
  const hit = (p: Seccomp, arg: bigint) => run(p, x86_64.personality, [arg]) === errno(99);
  const edge = [0n, 1n, 0xffffffffn, 0x100000000n, 0x100000001n, 0xfffffffffffffffen, 0xffffffffffffffffn];

  it.each([
    ['SCMP_CMP_EQ', (a: bigint, v: bigint) => a === v],
    ['SCMP_CMP_NE', (a: bigint, v: bigint) => a !== v],
    ['SCMP_CMP_LT', (a: bigint, v: bigint) => a < v],
    ['SCMP_CMP_LE', (a: bigint, v: bigint) => a <= v],
    ['SCMP_CMP_GT', (a: bigint, v: bigint) => a > v],
    ['SCMP_CMP_GE', (a: bigint, v: bigint) => a >= v],
  ] as const)('%s on 64-bit values, at the 32-bit boundaries', (op, holds) => {
    for (const v of edge) for (const a of edge) expect(hit(cmp(op, v), a), `${a} ${op} ${v}`).toBe(holds(a, v));
  });

  it('SCMP_CMP_MASKED_EQ compares (arg & mask) with the datum in both halves', () => {
    const p = cmp('SCMP_CMP_MASKED_EQ', 0xff000000ffn, 0x1200000034n);
    expect(hit(p, 0x1200000034n)).toBe(true);
    expect(hit(p, 0xab12cdef0034n)).toBe(true); // only the masked bits count
    expect(hit(p, 0xab13cdef0034n)).toBe(false);
    expect(hit(p, 0x12ffffff34n)).toBe(true);
    expect(hit(p, 0x1300000034n)).toBe(false);
  });

  it('several conditions in a rule must all hold', () => {
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['kill'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, op: 'SCMP_CMP_EQ', value: 1 },
            { index: 1, op: 'SCMP_CMP_EQ', value: 9 },
          ],
        },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 1, op: 'SCMP_CMP_EQ', value: 15 }] },
      ],
    };
    expect(run(p, x86_64.kill, [1n, 9n])).toBe(ALLOW);
    expect(run(p, x86_64.kill, [2n, 9n])).toBe(errno(1));
    expect(run(p, x86_64.kill, [2n, 15n])).toBe(errno(3));
  });

  it('one syscall in several rules: as runc through libseccomp', () => {
    const EACCES = 13;
    const acct = (defaultAction: Seccomp['defaultAction'], first: Rule, second: Rule): Seccomp => ({
      defaultAction,
      syscalls: [first, second],
    });
    const allow: Rule = { names: ['acct'], action: 'SCMP_ACT_ALLOW' };
    const eacces: Rule = { names: ['acct'], action: 'SCMP_ACT_ERRNO', errnoRet: EACCES };
    // A rule with the default's action is left out: it does not hide a later one.
    expect(run(acct('SCMP_ACT_ALLOW', allow, eacces), x86_64.acct)).toBe(errno(EACCES));
    // Otherwise the first unconditional rule decides, whatever follows.
    expect(run(acct('SCMP_ACT_ERRNO', allow, eacces), x86_64.acct)).toBe(ALLOW);
    expect(run(acct('SCMP_ACT_ERRNO', eacces, allow), x86_64.acct)).toBe(errno(EACCES));
    // An unconditional rule overrides conditional ones, before it or after.
    const kill: Rule = { names: ['acct'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 0 }] };
    expect(run(acct('SCMP_ACT_ERRNO', kill, allow), x86_64.acct, [0n])).toBe(ALLOW);
    expect(run(acct('SCMP_ACT_ERRNO', allow, kill), x86_64.acct, [0n])).toBe(ALLOW);
    // A MASKED_EQ with mask 0 tests nothing: its rule is unconditional.
    const always: Rule = { ...eacces, args: [{ index: 1, op: 'SCMP_CMP_MASKED_EQ', value: 0, valueTwo: 0 }] };
    expect(run(acct('SCMP_ACT_ALLOW', kill, always), x86_64.acct, [0n])).toBe(errno(EACCES));
    // Conditional rules go in libseccomp's order: a test of a later argument first, whatever the profile order.
    const onArg = (index: number, action: Seccomp['defaultAction']): Rule => ({
      names: ['acct'],
      action,
      args: [{ index, op: 'SCMP_CMP_EQ', value: 7 }],
    });
    for (const p of [
      acct('SCMP_ACT_ERRNO', onArg(0, 'SCMP_ACT_ALLOW'), onArg(2, 'SCMP_ACT_TRAP')),
      acct('SCMP_ACT_ERRNO', onArg(2, 'SCMP_ACT_TRAP'), onArg(0, 'SCMP_ACT_ALLOW')),
    ]) {
      expect(run(p, x86_64.acct, [7n, 0n, 7n])).toBe(0x00030000);
      expect(run(p, x86_64.acct, [7n, 0n, 0n])).toBe(ALLOW);
    }
    // ... and, testing one argument, a larger value first (a smaller one for LT and LE).
    const ge = (value: number, action: Seccomp['defaultAction']): Rule => ({
      names: ['acct'],
      action,
      args: [{ index: 0, op: 'SCMP_CMP_GE', value }],
    });
    const arm = (p: Seccomp) =>
      runFilter(compileSeccomp({ ...p, architectures: ['SCMP_ARCH_ARM'] }).program, {
        nr: archInfo('SCMP_ARCH_ARM')?.table.acct ?? -1,
        arch: archInfo('SCMP_ARCH_ARM')?.audit ?? 0,
        args: [9n],
      });
    expect(arm(acct('SCMP_ACT_ERRNO', ge(1, 'SCMP_ACT_ALLOW'), ge(5, 'SCMP_ACT_TRAP')))).toBe(0x00030000);
    expect(arm(acct('SCMP_ACT_ERRNO', ge(5, 'SCMP_ACT_TRAP'), ge(1, 'SCMP_ACT_ALLOW')))).toBe(0x00030000);
  });

  it('reads two conditions on one argument as either (runc), on different arguments as both', () => {
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, op: 'SCMP_CMP_EQ', value: 8 },
            { index: 0, op: 'SCMP_CMP_EQ', value: 0x20000 },
          ],
        },
      ],
    };
    expect(run(p, x86_64.personality, [8n])).toBe(ALLOW);
    expect(run(p, x86_64.personality, [0x20000n])).toBe(ALLOW);
    expect(run(p, x86_64.personality, [0n])).toBe(errno(1));
  });

  it('masks the datum of MASKED_EQ as libseccomp does', () => {
    const p = cmp('SCMP_CMP_MASKED_EQ', 0xf0n, 0xffn);
    expect(run(p, x86_64.personality, [0xf3n])).toBe(errno(99));
    expect(run(p, x86_64.personality, [0x03n])).toBe(ALLOW);
  });

  it('has a section per architecture: its own numbers, its byte order, its word size', () => {
    const p = (
      arch: 'SCMP_ARCH_AARCH64' | 'SCMP_ARCH_S390X' | 'SCMP_ARCH_ARM' | 'SCMP_ARCH_RISCV64' | 'SCMP_ARCH_PPC64LE',
      name: string,
    ): Seccomp => ({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: [arch],
      syscalls: [{ names: [name], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 1, op: 'SCMP_CMP_EQ', value: 0x100000002n }] }],
    });
    for (const [arch, name] of [
      ['SCMP_ARCH_AARCH64', 'openat'],
      ['SCMP_ARCH_RISCV64', 'openat'],
      ['SCMP_ARCH_PPC64LE', 'open'],
      ['SCMP_ARCH_S390X', 'open'],
    ] as const) {
      const info = archInfo(arch);
      if (!info) throw new Error(arch);
      const nr = info.table[name] ?? -1;
      const program = compileSeccomp(p(arch, name)).program;
      const call = (args: bigint[], audit = info.audit) => runFilter(program, { nr, arch: audit, args }, info.bigEndian);
      expect(call([0n, 0x100000002n]), arch).toBe(errno(5));
      expect(call([0n, 0x2n]), arch).toBe(ALLOW); // the high word counts on a 64-bit ABI
      expect(call([0n, 0x100000002n], X86_64), arch).toBe(ALLOW); // another architecture: default
    }
    // arm is a 32-bit ABI: its registers reach the filter zero-extended, only the low word is compared.
    const arm = archInfo('SCMP_ARCH_ARM');
    const program = compileSeccomp(p('SCMP_ARCH_ARM', 'open')).program;
    expect(runFilter(program, { nr: arm?.table.open ?? -1, arch: arm?.audit ?? 0, args: [0n, 2n] })).toBe(errno(5));
  });

  it('refuses a condition on a seventh argument', () => {
    const seventh: Seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, op: 'SCMP_CMP_EQ', value: 0 }] }],
    };
    expect(() => compileSeccomp(seventh)).toThrow(/index 6/);
  });

  it('notify: a listener is asked for; notify as default, on sendmsg or write, or without listenerPath is refused', () => {
    const notify = (extra: Partial<Seccomp>, names = ['getppid']): Seccomp => ({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      syscalls: [{ names, action: 'SCMP_ACT_NOTIFY' }],
      ...extra,
    });
    const compiled = compileSeccomp(notify({ flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }));
    expect(compiled.notifies).toBe(true);
    expect(compiled.flags).toBe(1 | 8 | 16 | 32); // TSYNC, NEW_LISTENER, TSYNC_ESRCH, WAIT_KILLABLE_RECV
    expect(runFilter(compiled.program, { nr: x86_64.getppid, arch: X86_64 })).toBe(0x7fc00000);
    expect(() => compileSeccomp(notify({ defaultAction: 'SCMP_ACT_NOTIFY' }))).toThrow(/cannot be the default action/);
    expect(() => compileSeccomp(notify({}, ['getppid', 'sendmsg']))).toThrow(/cannot be used for sendmsg/);
    expect(() => compileSeccomp(notify({}, ['write']))).toThrow(
      /^config\.json: linux\.seccomp: SCMP_ACT_NOTIFY cannot be used for write: /,
    );
    expect(() => compileSeccomp(notify({ listenerPath: undefined }))).toThrow(/no listenerPath/);
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' })).toThrow(/without listenerPath/);
  });

  it('maps the flags; WAIT_KILLABLE_RECV only matters with a listener', () => {
    expect(
      compileSeccomp({
        defaultAction: 'SCMP_ACT_ALLOW',
        flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      }).flags,
    ).toBe(6);
  });
});

describe('syscall tables', () => {
  it('hold every architecture tsrun names, with numbers from their own headers', () => {
    expect(SUPPORTED_ARCHES.sort()).toEqual(
      [
        'SCMP_ARCH_AARCH64',
        'SCMP_ARCH_ARM',
        'SCMP_ARCH_PPC64LE',
        'SCMP_ARCH_RISCV64',
        'SCMP_ARCH_S390X',
        'SCMP_ARCH_X32',
        'SCMP_ARCH_X86',
        'SCMP_ARCH_X86_64',
      ].sort(),
    );
    // Spot checks against the kernel's syscall tables (arch/*/entry/syscalls, include/uapi/asm-generic/unistd.h).
    expect(archInfo('SCMP_ARCH_X86_64')?.table.openat).toBe(257);
    expect(archInfo('SCMP_ARCH_X86')?.table.openat).toBe(295);
    expect(archInfo('SCMP_ARCH_X32')?.table.openat).toBe(0x40000000 + 257);
    expect(archInfo('SCMP_ARCH_AARCH64')?.table.openat).toBe(56);
    expect(archInfo('SCMP_ARCH_RISCV64')?.table.openat).toBe(56);
    expect(archInfo('SCMP_ARCH_ARM')?.table.openat).toBe(322);
    expect(archInfo('SCMP_ARCH_ARM')?.table.cacheflush).toBe(0x0f0002);
    expect(archInfo('SCMP_ARCH_S390X')?.table.openat).toBe(288);
    expect(archInfo('SCMP_ARCH_PPC64LE')?.table.openat).toBe(286);
    // The generic table has no open(2): aarch64 programs use openat.
    expect(archInfo('SCMP_ARCH_AARCH64')?.table.open).toBeUndefined();
  });
});

/**
 * The profile's meaning as runc (through libseccomp) gives it, evaluated directly: the reference
 * the compiled program must agree with. A rule naming an argument twice is one rule per condition;
 * a rule with the default's action is left out; a MASKED_EQ with mask 0 tests nothing. A syscall
 * with an unconditional rule gets the first one's action whatever else names it; otherwise the
 * first of its conditional rules that holds, in the order of libseccomp's tree (libseccompOrder,
 * which the libseccomp differential test checks), decides.
 */
function reference(p: Seccomp, table: Record<string, number>, nr: number, args: bigint[]): number {
  const defaultRet = actionValue(p.defaultAction, p.defaultErrnoRet);
  const split = (rule: Rule): Rule[] => {
    const conds = rule.args ?? [];
    return new Set(conds.map((c) => c.index)).size === conds.length ? [rule] : conds.map((c) => ({ ...rule, args: [c] }));
  };
  const rules = (p.syscalls ?? [])
    .flatMap(split)
    .filter((rule) => actionValue(rule.action, rule.errnoRet) !== defaultRet && rule.names.some((n) => table[n] === nr))
    .map((rule) => ({ ...rule, args: (rule.args ?? []).filter((c) => c.op !== 'SCMP_CMP_MASKED_EQ' || BigInt(c.value) !== 0n) }));
  const unconditional = rules.find((rule) => rule.args.length === 0);
  const info = archInfo('SCMP_ARCH_X86_64');
  if (!info) throw new Error('no x86_64');
  const test = (c: NonNullable<Rule['args']>[number]) => {
    const a = args[c.index] ?? 0n;
    const v = BigInt.asUintN(64, BigInt(c.value));
    switch (c.op) {
      case 'SCMP_CMP_EQ':
        return a === v;
      case 'SCMP_CMP_NE':
        return a !== v;
      case 'SCMP_CMP_LT':
        return a < v;
      case 'SCMP_CMP_LE':
        return a <= v;
      case 'SCMP_CMP_GT':
        return a > v;
      case 'SCMP_CMP_GE':
        return a >= v;
      case 'SCMP_CMP_MASKED_EQ':
        return (a & v) === (BigInt(c.valueTwo ?? 0) & v);
      default:
        throw new Error(`unknown operator ${c.op}`);
    }
  };
  for (const rule of unconditional ? [unconditional] : libseccompOrder(rules, info))
    if ((rule.args ?? []).every(test)) return actionValue(rule.action, rule.errnoRet);
  return enosysExpected(p, { nr, arch: X86_64 }) ? ENOSYS_RET : defaultRet;
}

describe('compiled programs agree with the profile', () => {
  // A deterministic generator: the same profiles and inputs every run.
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const values = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0xffffffff00000000n, 0xffffffffffffffffn];
  const ops = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ'] as const;
  const actions = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_LOG', 'SCMP_ACT_TRAP'] as const;
  const names = Object.keys(x86_64);

  it('for 40 random profiles × 500 random calls each', () => {
    for (let profile = 0; profile < 40; profile++) {
      const p: Seccomp = {
        defaultAction: actions[rand(actions.length)] ?? 'SCMP_ACT_ALLOW',
        defaultErrnoRet: rand(100),
        syscalls: Array.from({ length: 1 + rand(60) }, () => ({
          names: Array.from({ length: 1 + rand(8) }, () => names[rand(names.length)] ?? 'read'),
          action: actions[rand(actions.length)] ?? 'SCMP_ACT_ALLOW',
          errnoRet: rand(100),
          args: Array.from({ length: rand(3) }, () => ({
            index: rand(6),
            op: ops[rand(ops.length)] ?? 'SCMP_CMP_EQ',
            value: values[rand(values.length)] ?? 0n,
            valueTwo: values[rand(values.length)] ?? 0n,
          })),
        })),
      };
      const program = compileSeccomp(p).program;
      for (let call = 0; call < 500; call++) {
        const ruled = p.syscalls?.[rand(p.syscalls.length)]?.names[0] ?? 'read';
        const nr = rand(4) === 0 ? rand(460) : ((x86_64 as Record<string, number>)[ruled] ?? 0);
        const args = Array.from({ length: 6 }, () => values[rand(values.length)] ?? 0n);
        expect(runFilter(program, { nr, arch: X86_64, args }), `profile ${profile} nr ${nr}`).toBe(reference(p, x86_64, nr, args));
      }
    }
  });
});

describe('the seccomp disassembler', () => {
  it('names loads, jumps and every return value', () => {
    const text = disassemble(
      compileSeccomp({
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 38,
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, op: 'SCMP_CMP_MASKED_EQ', value: 0xff, valueTwo: 9 }] },
        ],
      }).program,
    );
    expect(text).toMatch(/^00: ld \[4\] {2}; arch$/m);
    expect(text).toContain('ld [0]  ; nr');
    expect(text).toContain('ld [24]  ; args[1].lo');
    expect(text).toContain('and 0xff');
    expect(text).toContain('ret ALLOW');
    expect(text).toContain('ret KILL_PROCESS');
    expect(text).toContain('ret ERRNO(38)');
  });
});
