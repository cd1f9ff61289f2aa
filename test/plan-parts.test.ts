import { describe, expect, it } from 'vitest';
import { parseSignal } from '../src/container/lifecycle.js';
import { capabilityMask, capabilitySets } from '../src/linux/capabilities.js';
import { MS, parseMountOptions, recursiveAttrsOf } from '../src/linux/mount-options.js';

describe('mount options', () => {
  it('turns flag options into flags, later options winning, and keeps the rest as data', () => {
    const p = parseMountOptions(['ro', 'nosuid', 'rw', 'noexec', 'size=64k', 'mode=755', 'rbind']);
    expect(p.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.BIND | MS.REC);
    expect(p.data).toBe('size=64k,mode=755');
    expect(p.propagation).toEqual([]);
    expect(p.recursive).toBeUndefined();
  });
  it('collects propagation changes in order', () => {
    expect(parseMountOptions(['rprivate', 'shared']).propagation).toEqual([MS.PRIVATE | MS.REC, MS.SHARED]);
  });
  it('recursive attributes set and clear, the last word winning', () => {
    const p = parseMountOptions(['rro', 'rnosuid', 'rrw']);
    expect(p.recursive).toEqual({ set: 0x2n, clear: 0x1n });
    expect(parseMountOptions(['rnoatime']).recursive).toEqual({ set: 0x10n, clear: 0x70n });
  });
  it('names what it cannot apply', () => {
    expect(parseMountOptions(['tmpcopyup']).ignored).toEqual(['tmpcopyup']);
  });
  it('maps plain flags to their recursive attributes', () => {
    expect(recursiveAttrsOf(MS.RDONLY | MS.NOSUID | MS.BIND)).toBe(0x3n);
  });
});

describe('capabilities', () => {
  it('makes a mask, skipping what this kernel does not have and names that are no capability (as runc)', () => {
    expect(capabilityMask(['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE'], 39)).toEqual({
      mask: 0b100001n,
      skipped: ['CAP_CHECKPOINT_RESTORE'],
    });
    expect(capabilityMask(['CAP_NOPE', 'chown', 'CAP_KILL'], 40)).toEqual({ mask: 0b100000n, skipped: ['CAP_NOPE', 'chown'] });
  });
  it('names every skipped capability of all the sets once, sorted', () => {
    const { masks, skipped } = capabilitySets(
      { bounding: ['CAP_KILL', 'CAP_FOO'], effective: ['CAP_BAR', 'CAP_FOO'], ambient: ['CAP_CHECKPOINT_RESTORE'] },
      39,
    );
    expect(skipped).toEqual(['CAP_BAR', 'CAP_CHECKPOINT_RESTORE', 'CAP_FOO']);
    expect(masks).toEqual({ bounding: 0b100000n, effective: 0n, inheritable: 0n, permitted: 0n, ambient: 0n });
  });
});

describe('signals', () => {
  it.each([
    ['KILL', 9],
    ['SIGKILL', 9],
    ['term', 15],
    ['9', 9],
    ['64', 64],
    ['0', 0], // kill(2)'s existence check, as runc takes it
  ])('%s is %d', (name, n) => {
    expect(parseSignal(name)).toBe(n);
  });
  it.each(['65', 'SIGNOPE', '', '-1'])('refuses %j', (name) => {
    expect(() => parseSignal(name)).toThrow(/invalid signal/);
  });
});
