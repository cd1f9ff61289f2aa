/**
 * The cgroup v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the
 * cgroup. This compiles the container's device rules into one: the same answers the v1 lists give.
 *
 * The kernel passes struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, where
 * access_type holds the device type in its low 16 bits and the access bits in the high 16.
 * Rules are tried from the last to the first, as later v1 writes override earlier ones: an allow
 * rule decides when it covers every requested access bit, a deny rule when it covers any of them.
 * Nothing matching means deny.
 */
import type { DeviceRule } from './devices.js';

const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 };

// eBPF opcodes used here.
const LDX_MEM_W = 0x61;
const ALU64_MOV_X = 0xbf;
const ALU64_MOV_K = 0xb7;
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const JMP_JNE_K = 0x55;
const JMP_JEQ_K = 0x15;
const JMP_EXIT = 0x95;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number | 'next';
  imm: number;
}

const accessMask = (access: string) => [...access].reduce((m, c) => m | (ACCESS_BITS[c] ?? 0), 0);

/** The rules as an eBPF program (struct bpf_insn[], little-endian). */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Buffer {
  const out: Insn[] = [];
  const insn = (code: number, dst: number, src: number, off: number | 'next', imm: number) => out.push({ code, dst, src, off, imm });
  insn(LDX_MEM_W, 2, 1, 0, 0); // r2 = access_type
  insn(ALU64_MOV_X, 3, 2, 0, 0);
  insn(ALU64_AND_K, 3, 0, 0, 0xffff); // r3 = type
  insn(ALU64_MOV_X, 4, 2, 0, 0);
  insn(ALU64_RSH_K, 4, 0, 0, 16); // r4 = requested access
  insn(LDX_MEM_W, 5, 1, 4, 0); // r5 = major
  insn(LDX_MEM_W, 6, 1, 8, 0); // r6 = minor
  for (const rule of [...rules].reverse()) {
    const start = out.length;
    if (rule.type !== 'a') insn(JMP_JNE_K, 3, 0, 'next', rule.type === 'b' ? DEV_BLOCK : DEV_CHAR);
    if (rule.major !== undefined) insn(JMP_JNE_K, 5, 0, 'next', rule.major);
    if (rule.minor !== undefined) insn(JMP_JNE_K, 6, 0, 'next', rule.minor);
    const mask = accessMask(rule.access);
    insn(ALU64_MOV_X, 7, 4, 0, 0);
    if (rule.allow) {
      insn(ALU64_AND_K, 7, 0, 0, ~mask & 7); // requested bits the rule does not grant
      insn(JMP_JNE_K, 7, 0, 'next', 0);
    } else {
      insn(ALU64_AND_K, 7, 0, 0, mask); // requested bits the rule denies
      insn(JMP_JEQ_K, 7, 0, 'next', 0);
    }
    insn(ALU64_MOV_K, 0, 0, 0, rule.allow ? 1 : 0);
    insn(JMP_EXIT, 0, 0, 0, 0);
    // Resolve this rule's "next": the instruction after its exit.
    for (let i = start; i < out.length; i++) {
      const cur = out[i] as Insn;
      if (cur.off === 'next') cur.off = out.length - i - 1;
    }
  }
  insn(ALU64_MOV_K, 0, 0, 0, 0);
  insn(JMP_EXIT, 0, 0, 0, 0);
  const buf = Buffer.alloc(out.length * 8);
  out.forEach((i, n) => {
    buf.writeUInt8(i.code, n * 8);
    buf.writeUInt8((i.src << 4) | i.dst, n * 8 + 1);
    buf.writeInt16LE(i.off as number, n * 8 + 2);
    buf.writeInt32LE(i.imm | 0, n * 8 + 4);
  });
  return buf;
}
