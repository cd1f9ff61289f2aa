/** A classic-BPF interpreter for seccomp programs (tests only): runs a program on one seccomp_data. */
export interface SeccompData {
  nr: number;
  arch: number;
  args?: bigint[];
}

/** The filter's verdict for one call. */
export function runFilter(program: Buffer, data: SeccompData, bigEndian = false): number {
  return execute(program, data, bigEndian).ret;
}

/**
 * Runs the program on one seccomp_data laid out in the machine's byte order (s390x is big-endian);
 * returns the verdict and how many instructions ran.
 */
export function execute(program: Buffer, data: SeccompData, bigEndian = false): { ret: number; steps: number } {
  const mem = Buffer.alloc(64);
  if (bigEndian) {
    mem.writeInt32BE(data.nr, 0);
    mem.writeUInt32BE(data.arch, 4);
    for (const [i, v] of (data.args ?? []).entries()) mem.writeBigUInt64BE(BigInt.asUintN(64, v), 16 + 8 * i);
  } else {
    mem.writeInt32LE(data.nr, 0);
    mem.writeUInt32LE(data.arch, 4);
    for (const [i, v] of (data.args ?? []).entries()) mem.writeBigUInt64LE(BigInt.asUintN(64, v), 16 + 8 * i);
  }
  let a = 0;
  let pc = 0;
  for (let steps = 1; steps <= 100_000; steps++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x20: // ld w abs
        a = bigEndian ? mem.readUInt32BE(k) : mem.readUInt32LE(k);
        break;
      case 0x54: // and k
        a = (a & k) >>> 0;
        break;
      case 0x05: // ja
        pc += k;
        break;
      case 0x15:
        pc += a === k ? jt : jf;
        break;
      case 0x25:
        pc += a > k ? jt : jf;
        break;
      case 0x35:
        pc += a >= k ? jt : jf;
        break;
      case 0x06:
        return { ret: k, steps };
      default:
        throw new Error(`unknown BPF code 0x${code.toString(16)}`);
    }
  }
  throw new Error('BPF program did not return');
}
