import { describe, expect, it } from 'vitest';
import { blkioToIoWeight, sharesToWeight, swapToV2, v2Limit } from '../src/cgroups/convert.js';
import { ownV2CgroupPath } from '../src/cgroups/detect.js';
import { v2MountPoint } from '../src/cgroups/manager.js';
import { cgroupPath, slicePath } from '../src/cgroups/path.js';
import { parseDuration, parseSize, updateResources } from '../src/cli/commands/cgroups.js';

describe('v1 → v2 conversions', () => {
  it('cpu.shares to cpu.weight: the ends of the ranges meet, the default lands near 39', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(1)).toBe(1); // below the v1 range: clamped
  });

  it('blkio weight to io.weight', () => {
    expect(blkioToIoWeight(10)).toBe(1);
    expect(blkioToIoWeight(1000)).toBe(10000);
    expect(blkioToIoWeight(500)).toBe(4950);
  });

  it('memory.swap (memory + swap) to memory.swap.max (swap alone)', () => {
    expect(swapToV2(64 << 20, 96 << 20)).toBe(String(32 << 20));
    expect(swapToV2(64 << 20, -1)).toBe('max');
    expect(swapToV2(-1, 0)).toBe('max');
    expect(swapToV2(64 << 20, undefined)).toBeUndefined();
    expect(() => swapToV2(64 << 20, 32 << 20)).toThrow(/may not be below memory.limit/);
    expect(() => swapToV2(undefined, 32 << 20)).toThrow(/needs memory.limit/);
    expect(v2Limit(-1)).toBe('max');
    expect(v2Limit(5n)).toBe('5');
  });
});

describe('cgroup paths', () => {
  it('cgroupsPath: absolute as is, relative under the base, none as <base>/tsrun/<id>, no ..', () => {
    const plain = { systemd: false, base: '' };
    expect(cgroupPath('/a/b', 'c1', plain)).toBe('/a/b');
    expect(cgroupPath('a/b', 'c1', plain)).toBe('/a/b');
    expect(cgroupPath(undefined, 'c1', plain)).toBe('/tsrun/c1');
    expect(cgroupPath(undefined, 'c1', { systemd: false, base: '/user.slice/me' })).toBe('/user.slice/me/tsrun/c1');
    expect(() => cgroupPath('/a/../b', 'c1', plain)).toThrow(/may not contain "\.\."/);
  });

  it('--systemd-cgroup: slice:prefix:name is the scope <prefix>-<name>.scope in the slice', () => {
    const systemd = { systemd: true, base: '' };
    expect(cgroupPath('system.slice:docker:abc', 'c1', systemd)).toBe('/system.slice/docker-abc.scope');
    expect(cgroupPath('user-1000.slice:libpod:x', 'c1', systemd)).toBe('/user.slice/user-1000.slice/libpod-x.scope');
    expect(cgroupPath(':crio:y', 'c1', systemd)).toBe('/system.slice/crio-y.scope');
    expect(cgroupPath('machine.slice:p:sub.slice', 'c1', systemd)).toBe('/machine.slice/sub.slice');
    expect(() => cgroupPath('/not/systemd', 'c1', systemd)).toThrow(/slice:prefix:name/);
    expect(slicePath('a-b-c.slice')).toBe('/a.slice/a-b.slice/a-b-c.slice');
    expect(() => slicePath('bad')).toThrow(/not a systemd slice/);
  });

  it('finds the v2 mount and the own v2 cgroup', () => {
    const mountinfo = [
      '30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
      '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(v2MountPoint(mountinfo)).toBe('/sys/fs/cgroup/unified');
    expect(ownV2CgroupPath('1:cpu:/\n0::/user.slice/u.scope\n')).toBe('/user.slice/u.scope');
  });
});

describe('update flags', () => {
  it('sizes and durations as runc takes them', () => {
    expect(parseSize('memory', '512m')).toBe(512 << 20);
    expect(parseSize('memory', '1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseSize('memory', '2GiB')).toBe(2 * 2 ** 30);
    expect(parseSize('memory', '4096')).toBe(4096);
    expect(parseSize('memory', '-1')).toBe(-1);
    expect(() => parseSize('memory', 'lots')).toThrow('--memory: "lots" is not a size');
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('5')).toThrow(/not a duration/);
  });

  it('flags become linux.resources, over --resources', () => {
    expect(
      updateResources({
        memory: '64m',
        memorySwap: '-1',
        pidsLimit: '10',
        cpuQuota: '50000',
        cpuPeriod: '100000',
        cpusetCpus: '0',
        blkioWeight: '300',
      }),
    ).toEqual({
      memory: { limit: 64 << 20, swap: -1 },
      pids: { limit: 10 },
      cpu: { quota: 50000, period: 100000, cpus: '0' },
      blockIO: { weight: 300 },
    });
    expect(() => updateResources({ l3CacheSchema: 'L3:0=f' })).toThrow(/Intel RDT/);
    expect(() => updateResources({ pidsLimit: 'x' })).toThrow('--pids-limit: "x" is not an integer');
  });
});
