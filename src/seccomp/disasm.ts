import { BPF } from './bpf.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** A SECCOMP_RET_* value by name: ALLOW, ERRNO(1), KILL_PROCESS … */
export function retName(k: number): string {
  const data = k & 0xffff;
  switch ((k & 0xffff0000) >>> 0) {
    case 0x80000000:
      return 'KILL_PROCESS';
    case 0x00000000:
      return 'KILL_THREAD';
    case 0x00030000:
      return `TRAP(${data})`;
    case 0x00050000:
      return `ERRNO(${data})`;
    case 0x7fc00000:
      return 'USER_NOTIF';
    case 0x7ff00000:
      return `TRACE(${data})`;
    case 0x7ffc0000:
      return 'LOG';
    case 0x7fff0000:
      return 'ALLOW';
    default:
      return hex(k);
  }
}

const FIELDS: Record<number, string> = { 0: 'nr', 4: 'arch', 8: 'ip.lo', 12: 'ip.hi' };
const field = (k: number) => FIELDS[k] ?? (k >= 16 && k < 64 ? `args[${Math.floor((k - 16) / 8)}].${k % 8 === 0 ? 'lo' : 'hi'}` : hex(k));

/** One line per instruction, with jump targets as absolute instruction numbers. */
export function disassemble(program: Buffer): string {
  const lines: string[] = [];
  const width = String(program.length / 8).length;
  for (let i = 0; i < program.length / 8; i++) {
    const code = program.readUInt16LE(i * 8);
    const jt = i + 1 + program.readUInt8(i * 8 + 2);
    const jf = i + 1 + program.readUInt8(i * 8 + 3);
    const k = program.readUInt32LE(i * 8 + 4);
    const at = String(i).padStart(width, '0');
    const cond = (op: string) => `${op} ${hex(k)}, ${jt}, ${jf}`;
    let text: string;
    switch (code) {
      case BPF.LD_W_ABS:
        text = `ld [${k}]  ; ${field(k)}`;
        break;
      case BPF.ALU_AND_K:
        text = `and ${hex(k)}`;
        break;
      case BPF.JMP_JA:
        text = `ja ${i + 1 + k}`;
        break;
      case BPF.JMP_JEQ_K:
        text = cond('jeq');
        break;
      case BPF.JMP_JGT_K:
        text = cond('jgt');
        break;
      case BPF.JMP_JGE_K:
        text = cond('jge');
        break;
      case BPF.RET_K:
        text = `ret ${retName(k)}`;
        break;
      default:
        text = `.insn code=${hex(code)} k=${hex(k)}`;
    }
    lines.push(`${at}: ${text}`);
  }
  return lines.join('\n');
}
