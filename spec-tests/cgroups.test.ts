import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupMode } from '../src/cgroups/detect.js';
import type { Config } from '../src/spec/config.js';
import { makeBundle, runBundle, tsrunIn, uniqueId } from './support/containers.js';

const limited = (path: string, resources: NonNullable<Config['linux']>['resources'], args: string[]) => (c: Config) => {
  c.process = { ...c.process, cwd: '/', args };
  c.linux = { ...c.linux, cgroupsPath: path, resources };
};

describe('cgroups v1, as root', () => {
  it('this host has v1 controllers (the v1 driver is what these tests exercise)', () => {
    expect(['legacy', 'hybrid']).toContain(cgroupMode());
  });

  it('places the init in its cgroup before it runs, writes the limits, and delete removes the cgroup', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle(
      'root',
      limited(path, { pids: { limit: 42 }, memory: { limit: 64 << 20 }, cpu: { shares: 512 } }, ['/probe', 'cat', '/proc/self/cgroup']),
    );
    const id = uniqueId();
    expect(tsrunIn(b, ['create', '--bundle', b.dir, id]).code).toBe(0);
    const { pid } = JSON.parse(tsrunIn(b, ['state', id]).stdout);
    const file = (ctrl: string, f: string) => readFileSync(`/sys/fs/cgroup/${ctrl}${path}/${f}`, 'utf8').trim();
    expect(file('pids', 'cgroup.procs')).toBe(String(pid));
    expect(file('memory', 'cgroup.procs')).toBe(String(pid));
    expect(file('pids', 'pids.max')).toBe('42');
    expect(file('memory', 'memory.limit_in_bytes')).toBe(String(64 << 20));
    expect(file('cpu', 'cpu.shares')).toBe('512');
    const out = runBundle(b).stdout; // a second container, same path: its view through the cgroup namespace
    expect(out).toMatch(/^\d+:pids:\/$/m);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    expect(existsSync(`/sys/fs/cgroup/pids${path}`)).toBe(false);
  });

  it('the limits hold: forks stop at pids.max, and a memory hog is OOM-killed', () => {
    const forks = makeBundle('root', limited(`/tsrun-spec/${uniqueId()}`, { pids: { limit: 5 } }, ['/probe', 'fork', '20']));
    expect(Number(runBundle(forks).stdout)).toBe(4); // the init counts as one of the five
    const hog = makeBundle(
      'root',
      limited(`/tsrun-spec/${uniqueId()}`, { memory: { limit: 32 << 20, swap: 32 << 20 } }, ['/probe', 'alloc', '128']),
    );
    expect(tsrunIn(hog, ['run', '--bundle', hog.dir, uniqueId()]).code).toBe(137);
  });

  it('a value the kernel refuses names the file, the value and the errno, and leaves nothing', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle('root', limited(path, { cpu: { cpus: '999' } }, ['/probe']));
    const r = tsrunIn(b, ['create', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(`^tsrun: create: cgroup: writing "999" to /sys/fs/cgroup/cpuset${path}/cpuset.cpus: E[A-Z]+$`),
    );
    expect(existsSync(`/sys/fs/cgroup/cpuset${path}`)).toBe(false);
  });

  it('rootless: limits are not applied, and a warning says so', () => {
    const b = makeBundle('rootless', limited('/x', { pids: { limit: 5 } }, ['/probe', 'exit', '0']));
    const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('linux.resources not applied (rootless: no cgroup delegation in this build): pids');
  });
});
