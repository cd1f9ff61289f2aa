/**
 * Differential test against libseccomp (Debian's libseccomp-dev, test-only): random profiles on
 * every architecture tsrun knows, compiled by tsrun and by libseccomp, must give the same verdict
 * for the same (arch, nr, args), with runc's ENOSYS for numbers above the profile's (runc adds that
 * to libseccomp's filter); and for the Docker-like profile tsrun's program must be no longer
 * and run fewer instructions on average.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerLikeProfile } from '../spec-tests/support/docker-like-seccomp.js';
import { actionValue, archInfo, compileSeccomp, NATIVE_ARCH, type Seccomp, SUPPORTED_ARCHES } from '../src/seccomp/compile.js';
import { execute } from './support/bpf-interp.js';
import { ENOSYS_RET, enosysExpected } from './support/runc-enosys.js';

const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
/** libseccomp's enum scmp_compare, in the order of OPS. */
const LIBSECCOMP_OP = [1, 2, 3, 4, 5, 6, 7];
const LIBSECCOMP_ARCH: Record<string, string> = {
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PPC64LE: 'ppc64le',
};
const ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
] as const;
const PROFILES_PER_ARCH = 24;
const CALLS_PER_PROFILE = 400;

let dir: string;
let helper: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-libseccomp-'));
  helper = join(dir, 'libseccomp-export');
  // Needs libseccomp-dev (.ci/run installs it): without it this fails, it does not skip.
  execFileSync('cc', ['-O1', '-o', helper, join(import.meta.dirname, 'support', 'libseccomp-export.c'), '-lseccomp']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small seeded generator, so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
type Prng = ReturnType<typeof prng>;

const EDGES = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1ffffffffn, 0x7fffffffffffffffn, 0xffffffffffffffffn];

function randomValue(r: Prng): bigint {
  if (r.next() < 0.6) return r.pick(EDGES);
  return (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32));
}

function randomAction(r: Prng): { action: (typeof ACTIONS)[number]; errnoRet?: number } {
  const action = r.pick(ACTIONS);
  return action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE' ? { action, errnoRet: 1 + r.int(4000) } : { action };
}

/**
 * The names libseccomp does not resolve to a plain number on this architecture: ones it does not
 * know, ones this machine's libseccomp knows only by a pseudo number (which runc passes on and
 * libseccomp does not always translate), and calls that also go through a multiplexer (socketcall and ipc on x86, s390x, ppc64le),
 * which libseccomp filters in both forms and tsrun in the direct form only.
 */
function notComparable(arch: string): Set<string> {
  const names = Object.keys(archInfo(arch)?.table ?? {});
  const out = execFileSync(helper, ['resolve', LIBSECCOMP_ARCH[arch] ?? ''], { input: names.join('\n'), encoding: 'utf8' });
  return new Set(
    out
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, nr]) => Number(nr) < 0)
      .map(([name]) => name ?? ''),
  );
}

/**
 * A random profile. Most also name syscalls in several rules, with different actions (some the
 * default's, which runc leaves out): unconditional rules beside any others, which decide alone,
 * and syscalls ruled only by conditional ones, which libseccomp tries in the order of its decision
 * tree. These conditional rules test one argument each, on different arguments or (equality tests)
 * on the same one: where libseccomp merges range tests of one argument, or rules of several
 * conditions, the filter libseccomp 2.5.4 generates can contradict the profile (a matching rule's
 * call gets the default action, for one), and tsrun does not follow it there.
 */
function randomProfile(r: Prng, arch: string, skip: Set<string>): Seccomp {
  const names = Object.keys(archInfo(arch)?.table ?? {}).filter((name) => !skip.has(name));
  const unused = [...names];
  const take = () => unused.splice(r.int(unused.length), 1)[0] as string;
  const def = randomAction(r);
  const actionOrDefault = () => (r.next() < 0.2 ? def : randomAction(r));
  const syscalls: NonNullable<Seccomp['syscalls']> = [];
  for (let i = 0, n = 1 + r.int(30); i < n; i++) {
    const ruleNames = Array.from({ length: 1 + r.int(4) }, take);
    const indexes = [0, 1, 2, 3, 4, 5].sort(() => r.next() - 0.5).slice(0, r.next() < 0.4 ? 0 : 1 + r.int(3));
    const args = indexes.map((index) => ({ index, op: r.pick(OPS), value: randomValue(r), valueTwo: randomValue(r) }));
    syscalls.push({ names: ruleNames, ...randomAction(r), ...(args.length ? { args } : {}) });
  }
  const insert = (rule: NonNullable<Seccomp['syscalls']>[number]) => syscalls.splice(r.int(syscalls.length + 1), 0, rule);
  const overlaps = r.next() < 0.25 ? 0 : 1 + r.int(6);
  for (let i = 0; i < overlaps; i++) {
    if (r.next() < 0.5) {
      // An unconditional rule for a syscall some other rule names (a conditional one, maybe).
      const name = r.pick(syscalls.flatMap((rule) => rule.names));
      for (let j = 1 + r.int(2); j > 0; j--) insert({ names: [name], ...actionOrDefault() });
    } else {
      // A syscall of its own in several conditional rules (and maybe an unconditional one).
      const name = take();
      const sameArg = r.next() < 0.5;
      const indexes = [0, 1, 2, 3, 4, 5].sort(() => r.next() - 0.5);
      for (let j = 0, m = 2 + r.int(3); j < m; j++) {
        const index = sameArg ? (indexes[0] as number) : (indexes[j] as number);
        const op = sameArg ? r.pick(['SCMP_CMP_EQ', 'SCMP_CMP_MASKED_EQ'] as const) : r.pick(OPS);
        insert({ names: [name], ...actionOrDefault(), args: [{ index, op, value: randomValue(r), valueTwo: randomValue(r) }] });
      }
      if (r.next() < 0.3) insert({ names: [name], ...actionOrDefault() });
    }
  }
  return { defaultAction: def.action, defaultErrnoRet: def.errnoRet, architectures: [arch as never], syscalls };
}

const hex = (v: bigint | number) => BigInt.asUintN(64, BigInt(v)).toString(16);

/**
 * libseccomp encodes a big-endian architecture's program in that byte order; tsrun's programs are
 * for the little-endian machine it runs on. The interpreter reads little-endian instructions.
 */
function littleEndianInstructions(program: Buffer): Buffer {
  const out = Buffer.alloc(program.length);
  for (let i = 0; i < program.length; i += 8) {
    out.writeUInt16LE(program.readUInt16BE(i), i);
    out.writeUInt8(program.readUInt8(i + 2), i + 2);
    out.writeUInt8(program.readUInt8(i + 3), i + 3);
    out.writeUInt32LE(program.readUInt32BE(i + 4), i + 4);
  }
  return out;
}

/**
 * libseccomp's program for a profile, built the way runc builds it; undefined where libseccomp
 * refuses the profile (two rules for one syscall that test the same with different actions, for
 * one: runc then fails to start the container).
 */
function libseccompProgram(profile: Seccomp, native: string): Buffer | undefined {
  const arches = (profile.architectures ?? []).map((a) => LIBSECCOMP_ARCH[a]).join(',');
  const lines = [`default ${hex(actionValue(profile.defaultAction, profile.defaultErrnoRet))}`];
  for (const rule of profile.syscalls ?? []) {
    const conds = (rule.args ?? []).map((a) => `${a.index} ${LIBSECCOMP_OP[OPS.indexOf(a.op)]} ${hex(a.value)} ${hex(a.valueTwo ?? 0)}`);
    for (const name of rule.names)
      lines.push(`rule ${hex(actionValue(rule.action, rule.errnoRet))} ${name} ${conds.length} ${conds.join(' ')}`);
  }
  try {
    return execFileSync(helper, ['export', LIBSECCOMP_ARCH[native] ?? '', arches], { input: `${lines.join('\n')}\n`, stdio: 'pipe' });
  } catch (error) {
    if ((error as { status?: number }).status === REFUSED) return undefined;
    throw error;
  }
}

/** The helper's exit status when libseccomp refuses a rule with EEXIST. */
const REFUSED = 3;

/**
 * libseccomp 2.5.4 writes, in large programs for a big-endian architecture, the odd return value
 * in the host's byte order (KILL_PROCESS as 0x00000080): such a verdict is read byte-swapped.
 */
function byteSwapped(ret: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(ret);
  return b.readUInt32BE();
}

function randomCall(r: Prng, arch: string, profile: Seccomp) {
  const info = archInfo(arch);
  if (!info) throw new Error(arch);
  const ruled = (profile.syscalls ?? []).flatMap((rule) => rule.names.map((n) => info.table[n] as number));
  const all = Object.values(info.table);
  const roll = r.next();
  const nr = roll < 0.7 ? r.pick(ruled) : roll < 0.9 ? r.pick(all) : r.int(1100) + (arch === 'SCMP_ARCH_X32' ? 0x40000000 : 0);
  const foreign = r.next() < 0.1;
  const audit = foreign ? r.pick([0xc000003e, 0x40000003, 0xc00000b7, 0x80000016]) : info.audit;
  const data = (profile.syscalls ?? []).flatMap((rule) => (rule.args ?? []).map((a) => BigInt(a.value)));
  const args = Array.from({ length: 6 }, () => {
    const base = r.next() < 0.5 && data.length ? r.pick(data) : randomValue(r);
    const v = BigInt.asUintN(64, base + BigInt(r.int(3) - 1));
    // A 32-bit ABI's registers reach the filter zero-extended.
    return info.bits === 32 ? v & 0xffffffffn : v;
  });
  return { nr, arch: audit, args };
}

describe('seccomp compiler against libseccomp', () => {
  it.each(SUPPORTED_ARCHES)('%s: same verdict for random profiles and calls', (arch) => {
    const r = prng(0x5eed + SUPPORTED_ARCHES.indexOf(arch));
    const bigEndian = archInfo(arch)?.bigEndian ?? false;
    // A big-endian architecture is compared as on a machine of its own (libseccomp cannot mix byte orders).
    const native = bigEndian ? arch : NATIVE_ARCH;
    const skip = notComparable(arch);
    let compared = 0;
    let refused = 0;
    for (let p = 0; p < PROFILES_PER_ARCH; p++) {
      const profile = randomProfile(r, arch, skip);
      const ours = compileSeccomp(profile, native).program;
      const exported = libseccompProgram(profile, native);
      if (!exported) {
        refused++;
        continue;
      }
      const theirs = bigEndian ? littleEndianInstructions(exported) : exported;
      for (let c = 0; c < CALLS_PER_PROFILE; c++) {
        const call = randomCall(r, arch, profile);
        const verdict = execute(theirs, call, bigEndian).ret;
        const got = execute(ours, call, bigEndian).ret;
        const slipped = bigEndian && byteSwapped(verdict) === got;
        const want = enosysExpected(profile, call, native) ? ENOSYS_RET : slipped ? got : verdict;
        if (got !== want) {
          throw new Error(
            `profile ${p} call ${JSON.stringify(call, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}: tsrun 0x${got.toString(16)}, libseccomp 0x${want.toString(16)}\n${JSON.stringify(profile, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`,
          );
        }
        compared++;
      }
    }
    expect(refused).toBeLessThan(PROFILES_PER_ARCH / 4);
    expect(compared).toBe((PROFILES_PER_ARCH - refused) * CALLS_PER_PROFILE);
  });

  it("Docker's default profile: same verdicts, a program no longer than libseccomp's, fewer instructions per syscall", () => {
    const profile = dockerLikeProfile();
    const ours = compileSeccomp(profile).program;
    const theirs = libseccompProgram(profile, NATIVE_ARCH);
    if (!theirs) throw new Error('libseccomp refused the Docker-like profile');
    const info = archInfo('SCMP_ARCH_X86_64');
    let oursSteps = 0;
    let theirsSteps = 0;
    const numbers = Object.values(info?.table ?? {});
    for (const nr of numbers) {
      const call = { nr, arch: info?.audit ?? 0, args: [0n, 0n, 0n, 0n, 0n, 0n] };
      const a = execute(ours, call);
      const b = execute(theirs, call);
      expect(a.ret, `syscall ${nr}`).toBe(enosysExpected(profile, call) ? ENOSYS_RET : b.ret);
      oursSteps += a.steps;
      theirsSteps += b.steps;
    }
    const summary = {
      tsrun: { instructions: ours.length / 8, perSyscall: oursSteps / numbers.length },
      libseccomp: { instructions: theirs.length / 8, perSyscall: theirsSteps / numbers.length },
    };
    console.log(`Docker-like profile, x86_64: ${JSON.stringify(summary)}`);
    expect(summary.tsrun.instructions).toBeLessThanOrEqual(summary.libseccomp.instructions);
    expect(summary.tsrun.perSyscall).toBeLessThan(summary.libseccomp.perSyscall);
  });
});
