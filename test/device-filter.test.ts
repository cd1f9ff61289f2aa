import { describe, expect, it } from 'vitest';
import { deviceFilterProgram } from '../src/cgroups/device-filter.js';
import { type DeviceRule, deviceRules } from '../src/cgroups/devices.js';

/** Runs the eBPF opcodes the device filter uses on one request (tests only). */
function run(program: Buffer, type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const bits = [...access].reduce((m, c) => m | ({ m: 1, r: 2, w: 4 }[c] ?? 0), 0);
  const ctx = [(bits << 16) | (type === 'b' ? 1 : 2), major, minor];
  const r = new Array<bigint>(11).fill(0n);
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = program.readUInt8(pc * 8);
    const dst = program.readUInt8(pc * 8 + 1) & 0xf;
    const src = program.readUInt8(pc * 8 + 1) >> 4;
    const off = program.readInt16LE(pc * 8 + 2);
    const imm = BigInt.asUintN(64, BigInt(program.readInt32LE(pc * 8 + 4)));
    switch (code) {
      case 0x61:
        r[dst] = BigInt(ctx[off / 4] ?? 0);
        break;
      case 0xbf:
        r[dst] = r[src] ?? 0n;
        break;
      case 0xb7:
        r[dst] = imm;
        break;
      case 0x57:
        r[dst] = (r[dst] ?? 0n) & imm;
        break;
      case 0x77:
        r[dst] = (r[dst] ?? 0n) >> imm;
        break;
      case 0x55:
        if (r[dst] !== imm) pc += off;
        break;
      case 0x15:
        if (r[dst] === imm) pc += off;
        break;
      case 0x95:
        return r[0] === 1n;
      default:
        throw new Error(`opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error('ran off the end');
}

const rules = (list: DeviceRule[]) => deviceFilterProgram(list);
const DENY_ALL: DeviceRule = { allow: false, type: 'a', access: 'rwm' };

describe('cgroup v2 device filter', () => {
  it('denies what no rule allows, allows what a rule covers fully', () => {
    const p = rules([
      DENY_ALL,
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'b', major: 7, minor: 7, access: 'r' },
    ]);
    expect(run(p, 'c', 1, 3, 'rw')).toBe(true);
    expect(run(p, 'c', 1, 4, 'r')).toBe(false);
    expect(run(p, 'b', 7, 7, 'r')).toBe(true);
    expect(run(p, 'b', 7, 7, 'w')).toBe(false);
    expect(run(p, 'b', 7, 7, 'rw')).toBe(false);
    expect(run(p, 'c', 7, 7, 'r')).toBe(false); // the type counts
  });

  it('later rules override earlier ones; wildcards match any number', () => {
    const p = rules([
      DENY_ALL,
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
    ]);
    expect(run(p, 'c', 1, 3, 'r')).toBe(true);
    expect(run(p, 'c', 1, 3, 'w')).toBe(false);
    expect(run(p, 'c', 136, 9, 'rw')).toBe(true);
    expect(run(p, 'c', 137, 9, 'r')).toBe(false);
    expect(run(rules([DENY_ALL, { allow: true, type: 'a', access: 'rwm' }]), 'b', 8, 0, 'rwm')).toBe(true);
  });

  it("a container's list: the config's rules, then the default devices, ptys, tun and mknod", () => {
    const p = rules(deviceRules({ devices: [{ allow: false, access: 'rwm' }] }));
    expect(run(p, 'c', 1, 3, 'rw')).toBe(true); // /dev/null
    expect(run(p, 'c', 10, 229, 'rw')).toBe(false); // not a default device: the config's deny-all holds
    expect(run(p, 'c', 10, 229, 'm')).toBe(true); // making a node is allowed
    expect(run(p, 'c', 136, 0, 'rw')).toBe(true); // /dev/pts/0
    expect(run(p, 'c', 10, 200, 'rw')).toBe(true); // /dev/net/tun
    expect(run(p, 'c', 5, 1, 'rw')).toBe(false); // /dev/console is a bound pty, not 5:1
    expect(run(p, 'b', 7, 7, 'r')).toBe(false);
  });
});
