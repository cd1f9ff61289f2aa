/**
 * Compiles linux.seccomp (runtime-spec) into a classic BPF program for seccomp(2), without
 * libseccomp: an architecture check, then per syscall number the rules in profile order, each
 * rule's argument conditions compared as 64-bit values split into two 32-bit words.
 */
import { UserError } from '../cli/errors.js';
import type { Config, seccompArchs } from '../spec/config.js';
import { Assembler, BPF, type Label } from './bpf.js';
import x32Table from './tables/x32.json' with { type: 'json' };
import x86Table from './tables/x86.json' with { type: 'json' };
import x86_64Table from './tables/x86_64.json' with { type: 'json' };

export type Seccomp = NonNullable<NonNullable<Config['linux']>['seccomp']>;
type Action = Seccomp['defaultAction'];
type Rule = NonNullable<Seccomp['syscalls']>[number];
type Arg = NonNullable<Rule['args']>[number];

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;

/** The architectures this build has tables for, and how the kernel names them. */
const ARCHES: Record<string, { audit: number; table: Record<string, number>; x32?: boolean }> = {
  SCMP_ARCH_X86_64: { audit: AUDIT_ARCH_X86_64, table: x86_64Table },
  SCMP_ARCH_X32: { audit: AUDIT_ARCH_X86_64, table: x32Table, x32: true },
  SCMP_ARCH_X86: { audit: AUDIT_ARCH_I386, table: x86Table },
};
export const SUPPORTED_ARCHES = Object.keys(ARCHES) as (typeof seccompArchs)[number][];

export const FLAG_BITS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

/** The SECCOMP_RET_* value of an action. */
export function actionValue(action: Action, errnoRet: number | undefined): number {
  const data = (errnoRet ?? EPERM) & 0xffff;
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 0x00000000;
    case 'SCMP_ACT_KILL_PROCESS':
      return 0x80000000;
    case 'SCMP_ACT_TRAP':
      return 0x00030000;
    case 'SCMP_ACT_ERRNO':
      return 0x00050000 | data;
    case 'SCMP_ACT_TRACE':
      return 0x7ff00000 | data;
    case 'SCMP_ACT_LOG':
      return 0x7ffc0000;
    case 'SCMP_ACT_ALLOW':
      return 0x7fff0000;
    case 'SCMP_ACT_NOTIFY':
      throw new UserError('config.json: linux.seccomp: SCMP_ACT_NOTIFY is not supported by this build of tsrun yet');
  }
}

const u64 = (v: number | bigint) => BigInt.asUintN(64, BigInt(v));
const hi = (v: bigint) => Number(v >> 32n);
const lo = (v: bigint) => Number(v & 0xffffffffn);

/** Emits the test of one argument condition: falls through when it holds, jumps to fail when not. */
function condition(a: Assembler, arg: Arg, fail: Label, where: string): void {
  if (arg.index > 5) throw new UserError(`${where}: args index ${arg.index} is beyond the 6 syscall arguments`);
  const off = 16 + 8 * arg.index;
  const v = u64(arg.value);
  const pass = a.label('pass');
  const ldHi = () => a.emit(BPF.LD_W_ABS, off + 4);
  const ldLo = () => a.emit(BPF.LD_W_ABS, off);
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      ldHi();
      a.emit(BPF.JMP_JEQ_K, hi(v), 0, fail);
      ldLo();
      a.emit(BPF.JMP_JEQ_K, lo(v), pass, fail);
      break;
    case 'SCMP_CMP_NE':
      ldHi();
      a.emit(BPF.JMP_JEQ_K, hi(v), 0, pass);
      ldLo();
      a.emit(BPF.JMP_JEQ_K, lo(v), fail, pass);
      break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      ldHi();
      a.emit(BPF.JMP_JGT_K, hi(v), pass, 0);
      a.emit(BPF.JMP_JEQ_K, hi(v), 0, fail);
      ldLo();
      a.emit(arg.op === 'SCMP_CMP_GT' ? BPF.JMP_JGT_K : BPF.JMP_JGE_K, lo(v), pass, fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      ldHi();
      a.emit(BPF.JMP_JGT_K, hi(v), fail, 0);
      a.emit(BPF.JMP_JEQ_K, hi(v), 0, pass);
      ldLo();
      // arg < v  ⇔ !(arg ≥ v);  arg ≤ v  ⇔ !(arg > v)
      a.emit(arg.op === 'SCMP_CMP_LT' ? BPF.JMP_JGE_K : BPF.JMP_JGT_K, lo(v), fail, pass);
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      const datum = u64(arg.valueTwo ?? 0);
      ldHi();
      a.emit(BPF.ALU_AND_K, hi(v));
      a.emit(BPF.JMP_JEQ_K, hi(datum), 0, fail);
      ldLo();
      a.emit(BPF.ALU_AND_K, lo(v));
      a.emit(BPF.JMP_JEQ_K, lo(datum), pass, fail);
      break;
    }
  }
  a.here(pass);
}

/** The rules of one architecture, by syscall number, in profile order. */
function rulesByNumber(seccomp: Seccomp, table: Record<string, number>): Map<number, Rule[]> {
  const out = new Map<number, Rule[]>();
  for (const rule of seccomp.syscalls ?? []) {
    for (const name of rule.names) {
      const nr = table[name];
      if (nr === undefined) continue; // unknown on this architecture: skipped, as engines expect
      out.set(nr, [...(out.get(nr) ?? []), rule]);
    }
  }
  return out;
}

/** A run of syscall numbers [lo, hi] that all get the same rules. */
interface Segment {
  lo: number;
  hi: number;
  rules: Rule[];
}

/** Consecutive numbers with one unconditional rule and the same action merge into one segment. */
function segments(byNumber: Map<number, Rule[]>): Segment[] {
  const out: Segment[] = [];
  const simple = (rules: Rule[]) => (rules[0]?.args?.length ?? 0) === 0;
  const sameAction = (a: Rule[], b: Rule[]) =>
    simple(a) &&
    simple(b) &&
    actionValue(a[0]?.action ?? 'SCMP_ACT_ALLOW', a[0]?.errnoRet) === actionValue(b[0]?.action ?? 'SCMP_ACT_ALLOW', b[0]?.errnoRet);
  for (const [nr, rules] of [...byNumber].sort((x, y) => x[0] - y[0])) {
    const last = out.at(-1);
    if (last && last.hi === nr - 1 && sameAction(last.rules, rules)) last.hi = nr;
    else out.push({ lo: nr, hi: nr, rules });
  }
  return out;
}

/** The rules of one segment, tried in order; the default action when none applies. */
function segmentBody(a: Assembler, seg: Segment, defaultRet: number): void {
  for (const rule of seg.rules) {
    const nextRule = a.label('rule');
    for (const arg of rule.args ?? []) condition(a, arg, nextRule, `config.json: linux.seccomp.syscalls (${rule.names.join(',')})`);
    a.emit(BPF.RET_K, actionValue(rule.action, rule.errnoRet));
    a.here(nextRule);
    if ((rule.args?.length ?? 0) === 0) return; // nothing after an unconditional rule can apply
  }
  a.emit(BPF.RET_K, defaultRet);
}

/**
 * A binary search over the segments (A holds the syscall number): a handful of comparisons for
 * any syscall instead of one per ruled syscall.
 */
function searchTree(a: Assembler, segs: Segment[], defaultRet: number): void {
  if (segs.length <= 3) {
    for (const seg of segs) {
      const next = a.label('seg');
      const inRange = a.label('in');
      if (seg.lo === seg.hi) a.emit(BPF.JMP_JEQ_K, seg.lo, inRange, 0);
      else {
        const below = a.label('below');
        a.emit(BPF.JMP_JGE_K, seg.lo, 0, below);
        a.emit(BPF.JMP_JGT_K, seg.hi, 0, inRange);
        a.here(below);
      }
      // A body with argument checks may be longer than a short jump reaches: step over it with ja.
      a.jump(next);
      a.here(inRange);
      segmentBody(a, seg, defaultRet);
      a.here(next);
    }
    a.emit(BPF.RET_K, defaultRet);
    return;
  }
  const mid = Math.floor(segs.length / 2);
  const right = a.label('right');
  a.jumpIf(BPF.JMP_JGE_K, segs[mid]?.lo ?? 0, right);
  searchTree(a, segs.slice(0, mid), defaultRet);
  a.here(right);
  searchTree(a, segs.slice(mid), defaultRet);
}

function archSection(a: Assembler, seccomp: Seccomp, table: Record<string, number>, defaultRet: number): void {
  searchTree(a, segments(rulesByNumber(seccomp, table)), defaultRet);
}

export interface CompiledSeccomp {
  program: Buffer;
  flags: number;
}

/**
 * The filter: check the architecture (a foreign one gets the default action), load the syscall
 * number, then per architecture compare it against each ruled syscall in turn.
 */
export function compileSeccomp(seccomp: Seccomp): CompiledSeccomp {
  const defaultRet = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet);
  const listed = seccomp.architectures?.length ? seccomp.architectures : ['SCMP_ARCH_X86_64'];
  const arches = listed.filter((arch) => ARCHES[arch]);
  const a = new Assembler();
  const sections = new Map<number, Label>();
  a.emit(BPF.LD_W_ABS, 4); // seccomp_data.arch
  for (const arch of arches) {
    const audit = ARCHES[arch]?.audit ?? 0;
    if (!sections.has(audit)) {
      const label = a.label(arch);
      sections.set(audit, label);
      a.jumpIf(BPF.JMP_JEQ_K, audit, label);
    }
  }
  a.emit(BPF.RET_K, defaultRet);
  const has = (arch: string) => arches.includes(arch);
  if (sections.has(AUDIT_ARCH_X86_64)) {
    a.here(sections.get(AUDIT_ARCH_X86_64) as Label);
    a.emit(BPF.LD_W_ABS, 0); // seccomp_data.nr
    // x32 and x86_64 share the architecture value: the x32 bit in the number tells them apart.
    const x32 = a.label('x32');
    a.jumpIf(BPF.JMP_JGE_K, X32_SYSCALL_BIT, x32);
    if (has('SCMP_ARCH_X86_64')) archSection(a, seccomp, x86_64Table, defaultRet);
    else a.emit(BPF.RET_K, defaultRet);
    a.here(x32);
    if (has('SCMP_ARCH_X32')) archSection(a, seccomp, x32Table, defaultRet);
    else a.emit(BPF.RET_K, defaultRet);
  }
  if (sections.has(AUDIT_ARCH_I386)) {
    a.here(sections.get(AUDIT_ARCH_I386) as Label);
    a.emit(BPF.LD_W_ABS, 0);
    archSection(a, seccomp, x86Table, defaultRet);
  }
  const flags = (seccomp.flags ?? []).reduce((f, name) => f | (FLAG_BITS[name] ?? 0), 0);
  return { program: a.assemble(), flags };
}
