/**
 * A small classic-BPF assembler: instructions with symbolic jump targets, resolved to the 8-bit
 * relative offsets the kernel wants.
 */
export const BPF = {
  LD_W_ABS: 0x20,
  ALU_AND_K: 0x54,
  JMP_JA: 0x05,
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  RET_K: 0x06,
} as const;

export type Label = { readonly name: string };

export interface Insn {
  code: number;
  k: number | Label;
  jt: Label | 0;
  jf: Label | 0;
}

export class Assembler {
  private readonly insns: Insn[] = [];
  private readonly positions = new Map<Label, number>();
  private counter = 0;

  label(name = 'L'): Label {
    return { name: `${name}${this.counter++}` };
  }

  /** Places a label at the next instruction. */
  here(label: Label): void {
    this.positions.set(label, this.insns.length);
  }

  emit(code: number, k: number, jt: Label | 0 = 0, jf: Label | 0 = 0): void {
    this.insns.push({ code, k: k >>> 0, jt, jf });
  }

  /** An unconditional jump (a 32-bit offset, so it reaches as far forward as needed). */
  jump(target: Label): void {
    this.insns.push({ code: BPF.JMP_JA, k: target, jt: 0, jf: 0 });
  }

  /** Jumps to a target of any distance when (A code k) holds, else falls through. */
  jumpIf(code: number, k: number, target: Label): void {
    const skip = this.label('skip');
    this.emit(code, k, 0, skip);
    this.jump(target);
    this.here(skip);
  }

  get length(): number {
    return this.insns.length;
  }

  /** The program as struct sock_filter[] bytes (u16 code, u8 jt, u8 jf, u32 k; little-endian). */
  assemble(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, i) => {
      const distance = (target: Label) => {
        const at = this.positions.get(target);
        if (at === undefined) throw new Error(`BPF label ${target.name} was never placed`);
        const rel = at - (i + 1);
        if (rel < 0) throw new Error(`BPF jump to ${target.name} goes backwards`);
        return rel;
      };
      const offset = (target: Label | 0) => {
        if (target === 0) return 0;
        const rel = distance(target);
        if (rel > 255) throw new Error(`BPF jump to ${target.name} out of range (${rel})`);
        return rel;
      };
      out.writeUInt16LE(insn.code, i * 8);
      out.writeUInt8(offset(insn.jt), i * 8 + 2);
      out.writeUInt8(offset(insn.jf), i * 8 + 3);
      out.writeUInt32LE(typeof insn.k === 'number' ? insn.k : distance(insn.k), i * 8 + 4);
    });
    return out;
  }
}
