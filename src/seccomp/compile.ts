/**
 * Compiles linux.seccomp (runtime-spec) into a classic BPF program for seccomp(2), without
 * libseccomp: an architecture check, then per syscall number its rules as runc (through
 * libseccomp) applies them (see rulesByNumber), each rule's argument conditions compared as
 * 64-bit values split into two 32-bit words.
 */
import { UserError } from '../cli/errors.js';
import type { Config, seccompArchs, seccompFlags } from '../spec/config.js';
import { Assembler, BPF, type Label } from './bpf.js';
import aarch64Table from './tables/aarch64.json' with { type: 'json' };
import armTable from './tables/arm.json' with { type: 'json' };
import ppc64leTable from './tables/ppc64le.json' with { type: 'json' };
import riscv64Table from './tables/riscv64.json' with { type: 'json' };
import s390xTable from './tables/s390x.json' with { type: 'json' };
import x32Table from './tables/x32.json' with { type: 'json' };
import x86Table from './tables/x86.json' with { type: 'json' };
import x86_64Table from './tables/x86_64.json' with { type: 'json' };

export type Seccomp = NonNullable<NonNullable<Config['linux']>['seccomp']>;
type Action = Seccomp['defaultAction'];
type Rule = NonNullable<Seccomp['syscalls']>[number];
type Arg = NonNullable<Rule['args']>[number];

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const ENOSYS = 38;
/** What a call from an architecture the filter does not cover gets: libseccomp's (and so runc's) default. */
const BAD_ARCH_RET = 0x00000000; // SECCOMP_RET_KILL_THREAD

/**
 * An architecture as the filter sees it: the AUDIT_ARCH_* value in seccomp_data.arch, its syscall
 * numbers, and how an argument's 64 bits lie in memory. Like libseccomp, 32-bit ABIs (x32
 * included) compare the low word only: the kernel zero-extends their registers.
 */
interface ArchInfo {
  audit: number;
  table: Record<string, number>;
  bits: 32 | 64;
  bigEndian: boolean;
}

const ARCHES: Record<string, ArchInfo> = {
  SCMP_ARCH_X86_64: { audit: AUDIT_ARCH_X86_64, table: x86_64Table, bits: 64, bigEndian: false },
  SCMP_ARCH_X32: { audit: AUDIT_ARCH_X86_64, table: x32Table, bits: 32, bigEndian: false },
  SCMP_ARCH_X86: { audit: 0x40000003, table: x86Table, bits: 32, bigEndian: false },
  SCMP_ARCH_AARCH64: { audit: 0xc00000b7, table: aarch64Table, bits: 64, bigEndian: false },
  SCMP_ARCH_ARM: { audit: 0x40000028, table: armTable, bits: 32, bigEndian: false },
  SCMP_ARCH_RISCV64: { audit: 0xc00000f3, table: riscv64Table, bits: 64, bigEndian: false },
  SCMP_ARCH_S390X: { audit: 0x80000016, table: s390xTable, bits: 64, bigEndian: true },
  SCMP_ARCH_PPC64LE: { audit: 0xc0000015, table: ppc64leTable, bits: 64, bigEndian: false },
};
export const SUPPORTED_ARCHES = Object.keys(ARCHES) as (typeof seccompArchs)[number][];

/** The architecture of the machine tsrun runs on, by Node's name for it. */
const NATIVE_BY_NODE_ARCH: Record<string, (typeof seccompArchs)[number]> = {
  x64: 'SCMP_ARCH_X86_64',
  ia32: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390x: 'SCMP_ARCH_S390X',
  ppc64: 'SCMP_ARCH_PPC64LE',
};
export const NATIVE_ARCH = NATIVE_BY_NODE_ARCH[process.arch] ?? 'SCMP_ARCH_X86_64';

/** The AUDIT_ARCH_* value and ABI facts of an architecture this build knows (tests use it too). */
export function archInfo(arch: string): ArchInfo | undefined {
  return ARCHES[arch];
}

export const FLAG_BITS: Record<(typeof seccompFlags)[number], number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};
/** Flags tsrun adds itself when the profile notifies: the listener fd, and TSYNC's companion. */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;

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
      return 0x7fc00000;
  }
}

const u64 = (v: number | bigint) => BigInt.asUintN(64, BigInt(v));
const hi = (v: bigint) => Number(v >> 32n);
const lo = (v: bigint) => Number(v & 0xffffffffn);

/**
 * Emits the test of one argument condition: falls through when it holds, jumps to fail when not.
 * A 64-bit value is compared high word first; the low word decides only when the high words are
 * equal. 32-bit ABIs compare the low word alone.
 */
function condition(a: Assembler, arg: Arg, fail: Label, where: string, arch: ArchInfo): void {
  if (arg.index > 5) throw new UserError(`${where}: args index ${arg.index} is beyond the 6 syscall arguments`);
  const off = 16 + 8 * arg.index;
  const [hiOff, loOff] = arch.bigEndian ? [off, off + 4] : [off + 4, off];
  const wide = arch.bits === 64;
  const v = u64(arg.value);
  const pass = a.label('pass');
  const ldHi = () => a.emit(BPF.LD_W_ABS, hiOff);
  const ldLo = () => a.emit(BPF.LD_W_ABS, loOff);
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      if (wide) {
        ldHi();
        a.emit(BPF.JMP_JEQ_K, hi(v), 0, fail);
      }
      ldLo();
      a.emit(BPF.JMP_JEQ_K, lo(v), pass, fail);
      break;
    case 'SCMP_CMP_NE':
      if (wide) {
        ldHi();
        a.emit(BPF.JMP_JEQ_K, hi(v), 0, pass);
      }
      ldLo();
      a.emit(BPF.JMP_JEQ_K, lo(v), fail, pass);
      break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      if (wide) {
        ldHi();
        a.emit(BPF.JMP_JGT_K, hi(v), pass, 0);
        a.emit(BPF.JMP_JEQ_K, hi(v), 0, fail);
      }
      ldLo();
      a.emit(arg.op === 'SCMP_CMP_GT' ? BPF.JMP_JGT_K : BPF.JMP_JGE_K, lo(v), pass, fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      if (wide) {
        ldHi();
        a.emit(BPF.JMP_JGT_K, hi(v), fail, 0);
        a.emit(BPF.JMP_JEQ_K, hi(v), 0, pass);
      }
      ldLo();
      // arg < v  ⇔ !(arg ≥ v);  arg ≤ v  ⇔ !(arg > v)
      a.emit(arg.op === 'SCMP_CMP_LT' ? BPF.JMP_JGE_K : BPF.JMP_JGT_K, lo(v), fail, pass);
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      // (arg & value) == valueTwo, with valueTwo masked too, as libseccomp reads it.
      const datum = u64(arg.valueTwo ?? 0) & v;
      if (wide) {
        ldHi();
        a.emit(BPF.ALU_AND_K, hi(v));
        a.emit(BPF.JMP_JEQ_K, hi(datum), 0, fail);
      }
      ldLo();
      a.emit(BPF.ALU_AND_K, lo(v));
      a.emit(BPF.JMP_JEQ_K, lo(datum), pass, fail);
      break;
    }
  }
  a.here(pass);
}

/**
 * A rule whose conditions name one argument more than once is read as runc reads it (and so as
 * engines expect): each condition becomes a rule of its own, any of which may match.
 */
function expand(rule: Rule): Rule[] {
  const args = rule.args ?? [];
  const indexes = new Set(args.map((arg) => arg.index));
  return indexes.size === args.length ? [rule] : args.map((arg) => ({ ...rule, args: [arg] }));
}

/**
 * A condition that tests nothing is dropped, as libseccomp drops it: MASKED_EQ with a mask of 0
 * (its low word on a 32-bit ABI) holds for every value. A rule left without conditions is
 * unconditional.
 */
function effective(rule: Rule, arch: ArchInfo): Rule {
  const word = arch.bits === 64 ? 0xffffffffffffffffn : 0xffffffffn;
  const args = rule.args?.filter((arg) => arg.op !== 'SCMP_CMP_MASKED_EQ' || (u64(arg.value) & word) !== 0n);
  return args?.length === rule.args?.length ? rule : { ...rule, args };
}

/**
 * One 32-bit comparison as libseccomp builds its decision tree of a syscall's conditional rules:
 * which word of which argument, the comparison it makes, and what orders it among its siblings.
 */
interface Node {
  /** arg * 2, + 1 for the high word. */
  word: number;
  op: string;
  datum: number;
  mask: number;
  /** Of the profile's operator: GE/GT rank lowest, then LE/LT, then EQ/NE/MASKED_EQ. */
  rank: number;
  /** LT/LE: a smaller datum sorts first; otherwise a larger one. */
  descending: boolean;
}

const RANK: Record<Arg['op'], number> = {
  SCMP_CMP_GE: 1,
  SCMP_CMP_GT: 1,
  SCMP_CMP_LE: 2,
  SCMP_CMP_LT: 2,
  SCMP_CMP_EQ: 3,
  SCMP_CMP_NE: 3,
  SCMP_CMP_MASKED_EQ: 3,
};

/** The comparisons of a rule, argument by argument in index order, as libseccomp chains them. */
function nodes(rule: Rule, arch: ArchInfo): Node[] {
  const out: Node[] = [];
  for (const arg of [...(rule.args ?? [])].sort((x, y) => x.index - y.index)) {
    const masked = arg.op === 'SCMP_CMP_MASKED_EQ';
    const mask = masked ? u64(arg.value) : 0xffffffffffffffffn;
    const datum = u64(masked ? (arg.valueTwo ?? 0) : arg.value) & mask;
    const rank = RANK[arg.op];
    const descending = arg.op === 'SCMP_CMP_LT' || arg.op === 'SCMP_CMP_LE';
    const node = (high: boolean, op: string) => ({
      word: 2 * arg.index + (high ? 1 : 0),
      op,
      datum: high ? hi(datum) : lo(datum),
      mask: high ? hi(mask) : lo(mask),
      rank,
      descending,
    });
    const inequality = rank < 3;
    // The operator of the last (low word) test: LT and LE test GE and GT and take the false branch.
    const lowOp = masked ? 'M' : !inequality ? 'EQ' : arg.op === 'SCMP_CMP_GT' || arg.op === 'SCMP_CMP_LE' ? 'GT' : 'GE';
    if (arch.bits === 32) out.push(node(false, lowOp));
    else if (inequality) out.push(node(true, 'GT'), node(true, 'EQ'), node(false, lowOp));
    else out.push(node(true, lowOp), node(false, lowOp));
  }
  return out;
}

const sameNode = (a: Node, b: Node) => a.word === b.word && a.op === b.op && a.datum === b.datum && a.mask === b.mask;

/** Whether a ranks below b among siblings in libseccomp's tree (the higher-ranked is tried first). */
function ranksBelow(a: Node, b: Node): boolean {
  if (a.word !== b.word) return a.word < b.word;
  if (a.rank !== b.rank) return a.rank < b.rank;
  return a.descending ? a.datum > b.datum : a.datum < b.datum;
}

/** A node of libseccomp's tree of a syscall's conditional rules: a comparison, the rules that end there, the comparisons after it. */
interface Branch {
  node: Node;
  ending: Rule[];
  next: Branch[];
}

/**
 * The order in which libseccomp's tree tries a syscall's conditional rules. Rules are added in
 * profile order; one whose comparisons begin as an earlier rule's share them. Among the
 * comparisons that follow the same ones, a new comparison goes before the first it ranks above
 * (ranksBelow), else last; a rule that ends where another goes on comes before it. The tree is
 * tried depth first. (Where it merges range tests of one argument on a 64-bit ABI, or rules of
 * several conditions, the filter libseccomp 2.5.4 generates can stray from this order and even
 * from the profile, e.g. the default for a call a rule matches; tsrun keeps to the order.)
 */
export function libseccompOrder(rules: Rule[], arch: ArchInfo): Rule[] {
  const root: Branch[] = [];
  const ending: Rule[] = [];
  for (const rule of rules) {
    let level = root;
    let here = ending;
    for (const node of nodes(rule, arch)) {
      let branch = level.find((b) => sameNode(b.node, node));
      if (!branch) {
        branch = { node, ending: [], next: [] };
        const at = level.findIndex((b) => ranksBelow(b.node, node));
        level.splice(at < 0 ? level.length : at, 0, branch);
      }
      here = branch.ending;
      level = branch.next;
    }
    here.push(rule);
  }
  const out = [...ending];
  const visit = (level: Branch[]) => {
    for (const branch of level) {
      out.push(...branch.ending);
      visit(branch.next);
    }
  };
  visit(root);
  return out;
}

/**
 * The rules of one architecture by syscall number, as runc (through libseccomp) applies them. A
 * rule whose action is the default's is left out (runc skips it). Where a syscall has an
 * unconditional rule, the first one decides alone: libseccomp keeps it and drops every other rule
 * for that syscall, before it or after. Otherwise its conditional rules are tried in libseccomp's
 * order (libseccompOrder) and the first that matches decides.
 */
function rulesByNumber(seccomp: Seccomp, arch: ArchInfo, defaultRet: number): Map<number, Rule[]> {
  const listed = new Map<number, Rule[]>();
  for (const rule of (seccomp.syscalls ?? []).flatMap(expand)) {
    const beyond = rule.args?.find((arg) => arg.index > 5);
    // Refused even in a rule left out (runc would not look at it): the profile is wrong all the same.
    if (beyond)
      throw new UserError(
        `config.json: linux.seccomp.syscalls (${rule.names.join(',')}): args index ${beyond.index} is beyond the 6 syscall arguments`,
      );
    if (actionValue(rule.action, rule.errnoRet) === defaultRet) continue;
    const used = effective(rule, arch);
    for (const name of rule.names) {
      const nr = arch.table[name];
      if (nr === undefined) continue; // unknown on this architecture: skipped, as engines expect
      listed.set(nr, [...(listed.get(nr) ?? []), used]);
    }
  }
  const out = new Map<number, Rule[]>();
  for (const [nr, rules] of listed) {
    const unconditional = rules.find((rule) => (rule.args?.length ?? 0) === 0);
    if (unconditional) out.set(nr, [unconditional]);
    else out.set(nr, libseccompOrder(rules, arch));
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
function segmentBody(a: Assembler, seg: Segment, defaultRet: number, arch: ArchInfo): void {
  for (const rule of seg.rules) {
    const nextRule = a.label('rule');
    for (const arg of rule.args ?? []) condition(a, arg, nextRule, `config.json: linux.seccomp.syscalls (${rule.names.join(',')})`, arch);
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
function searchTree(a: Assembler, segs: Segment[], defaultRet: number, arch: ArchInfo): void {
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
      segmentBody(a, seg, defaultRet, arch);
      a.here(next);
    }
    a.emit(BPF.RET_K, defaultRet);
    return;
  }
  const mid = Math.floor(segs.length / 2);
  const right = a.label('right');
  a.jumpIf(BPF.JMP_JGE_K, segs[mid]?.lo ?? 0, right);
  searchTree(a, segs.slice(0, mid), defaultRet, arch);
  a.here(right);
  searchTree(a, segs.slice(mid), defaultRet, arch);
}

/** The highest number of a syscall the profile names on this architecture (undefined when it names none there). */
function highestNamed(seccomp: Seccomp, arch: ArchInfo): number | undefined {
  const numbers = (seccomp.syscalls ?? []).flatMap((rule) => rule.names.map((name) => arch.table[name] ?? -1));
  const highest = Math.max(-1, ...numbers);
  return highest < 0 ? undefined : highest;
}

/**
 * The code for one architecture, entered with A holding the syscall number. With `enosys`, a number
 * above every syscall the profile names is one the profile's author could not have known: it fails
 * with ENOSYS, so a program falls back as on an older kernel instead of taking the default action
 * (runc does the same). s390x multiplexes unknown numbers through syscall 0, which gets ENOSYS too.
 */
function archSection(a: Assembler, seccomp: Seccomp, arch: ArchInfo | undefined, defaultRet: number, enosys: Label | undefined): void {
  if (!arch) {
    a.emit(BPF.RET_K, BAD_ARCH_RET);
    return;
  }
  const highest = enosys ? highestNamed(seccomp, arch) : undefined;
  if (enosys && highest !== undefined) {
    a.jumpIf(BPF.JMP_JGT_K, highest, enosys);
    if (arch === ARCHES.SCMP_ARCH_S390X) a.jumpIf(BPF.JMP_JEQ_K, 0, enosys);
  }
  searchTree(a, segments(rulesByNumber(seccomp, arch, defaultRet)), defaultRet, arch);
}

/** Actions that let a call through: an unknown syscall then needs no ENOSYS of its own. */
const PERMISSIVE: Action[] = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'];

export interface CompiledSeccomp {
  program: Buffer;
  /** The SECCOMP_FILTER_FLAG_* bits to load it with (NEW_LISTENER when it notifies). */
  flags: number;
  /** Whether some rule notifies: the listener fd then goes to listenerPath. */
  notifies: boolean;
}

/** Syscalls tsrun makes after loading the filter: notifying them would hang it on the agent. */
const NEEDED_AFTER_LOADING: Record<string, string> = {
  sendmsg: 'tsrun hands the listener fd to the agent with it',
  write: 'tsrun writes to its sync socket after loading the filter (runc refuses it too)',
};

function checkNotify(seccomp: Seccomp): boolean {
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY')
    throw new UserError(
      'config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (tsrun itself needs syscalls after loading the filter); notify on chosen syscalls instead',
    );
  const notifying = (seccomp.syscalls ?? []).filter((rule) => rule.action === 'SCMP_ACT_NOTIFY');
  for (const rule of notifying) {
    const bad = rule.names.find((name) => Object.hasOwn(NEEDED_AFTER_LOADING, name));
    if (bad) throw new UserError(`config.json: linux.seccomp: SCMP_ACT_NOTIFY cannot be used for ${bad}: ${NEEDED_AFTER_LOADING[bad]}`);
  }
  if (notifying.length > 0 && !seccomp.listenerPath)
    throw new UserError("config.json: linux.seccomp uses SCMP_ACT_NOTIFY but sets no listenerPath (the agent's unix socket)");
  if (seccomp.listenerMetadata !== undefined && !seccomp.listenerPath)
    throw new UserError('config.json: linux.seccomp.listenerMetadata is set without listenerPath');
  return notifying.length > 0;
}

/**
 * The filter: check the architecture, load the syscall number, then per architecture search the
 * ruled syscalls. The native architecture is always filtered, whatever the profile lists (as
 * libseccomp does): a profile naming only other ones must not leave the native calls unfiltered.
 * A call from an architecture the filter does not cover kills the thread, as under runc. `native`
 * is the machine's architecture (tests compile as on another machine).
 */
export function compileSeccomp(seccomp: Seccomp, native: string = NATIVE_ARCH): CompiledSeccomp {
  const notifies = checkNotify(seccomp);
  const defaultRet = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet);
  const listed = [native, ...(seccomp.architectures ?? [])];
  const known = (arch: string) => ARCHES[arch] !== undefined;
  const byAudit = new Map<number, string[]>();
  for (const arch of listed.filter(known)) {
    const audit = ARCHES[arch]?.audit ?? 0;
    byAudit.set(audit, [...new Set([...(byAudit.get(audit) ?? []), arch])]);
  }
  const a = new Assembler();
  a.emit(BPF.LD_W_ABS, 4); // seccomp_data.arch
  const sections = [...byAudit].map(([audit, arches]) => {
    const label = a.label(arches[0]);
    a.jumpIf(BPF.JMP_JEQ_K, audit, label);
    return { label, arches };
  });
  a.emit(BPF.RET_K, BAD_ARCH_RET);
  const wantsEnosys = !PERMISSIVE.includes(seccomp.defaultAction) && seccomp.defaultErrnoRet !== ENOSYS;
  const enosys = wantsEnosys ? a.label('enosys') : undefined;
  for (const { label, arches } of sections) {
    a.here(label);
    a.emit(BPF.LD_W_ABS, 0); // seccomp_data.nr
    if (arches[0] === 'SCMP_ARCH_X86_64' || arches[0] === 'SCMP_ARCH_X32') {
      // x32 and x86_64 share the architecture value: the x32 bit in the number tells them apart.
      const x32 = a.label('x32');
      a.jumpIf(BPF.JMP_JGE_K, X32_SYSCALL_BIT, x32);
      archSection(a, seccomp, arches.includes('SCMP_ARCH_X86_64') ? ARCHES.SCMP_ARCH_X86_64 : undefined, defaultRet, enosys);
      a.here(x32);
      archSection(a, seccomp, arches.includes('SCMP_ARCH_X32') ? ARCHES.SCMP_ARCH_X32 : undefined, defaultRet, enosys);
    } else archSection(a, seccomp, ARCHES[arches[0] ?? ''], defaultRet, enosys);
  }
  if (enosys) {
    a.here(enosys);
    a.emit(BPF.RET_K, actionValue('SCMP_ACT_ERRNO', ENOSYS));
  }
  let flags = (seccomp.flags ?? []).reduce((f, name) => f | FLAG_BITS[name], 0);
  if (notifies) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with a listener unless told to report a thread it cannot sync as ESRCH.
    if (flags & FLAG_BITS.SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else flags &= ~FLAG_BITS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; // it only concerns a listener
  return { program: a.assemble(), flags, notifies };
}
