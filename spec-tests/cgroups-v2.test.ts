/**
 * The cgroup v2 driver on a real v2 hierarchy. This host is hybrid (v1 controllers, and a v2 tree
 * at /sys/fs/cgroup/unified holding only the hugetlb controller), so each tsrun call runs in a
 * mount namespace of its own where that v2 tree is mounted on /sys/fs/cgroup: to tsrun the host
 * is unified. On a unified host the calls run as they are.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cgroupMode } from '../src/cgroups/detect.js';
import type { Config } from '../src/spec/config.js';
import { makeBundle, type TestBundle, tsrunIn, uniqueId } from './support/containers.js';
import type { Identity, TsrunOptions } from './support/tsrun.js';

const mode = cgroupMode();
const V2 = mode === 'hybrid' ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
/** The delegated subtree the unprivileged user gets (as a systemd user slice with Delegate=yes would). */
const DELEGATED = `/tsrun-spec-delegated-${process.pid}`;

/** Runs tsrun as on a unified host: in hybrid mode, in a mount namespace where the v2 tree is /sys/fs/cgroup. */
function wrapper(as: Identity): TsrunOptions['wrapper'] {
  const join = as === 'rootless' ? `echo $$ > ${V2}${DELEGATED}/cgroup.procs && ` : '';
  const remount = mode === 'hybrid' ? `mount --bind ${V2} /sys/fs/cgroup && ` : '';
  return { argv: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${join}${remount}exec "$@"`, 'sh'], env: process.env };
}

const v2 = (b: TestBundle, args: string[]) => tsrunIn(b, args, undefined, wrapper(b.as));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const read = (path: string) => readFileSync(path, 'utf8').trim();

function bundle(as: Identity, args: string[], linux: Config['linux'] = {}) {
  return makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args };
    c.linux = { ...c.linux, ...linux };
    c.root = { path: 'rootfs', readonly: false };
  });
}

const count = (b: TestBundle) => {
  const file = join(b.dir, 'rootfs', 'count');
  return Number((existsSync(file) ? readFileSync(file, 'utf8') : '').trim() || 0);
};

beforeAll(() => {
  const user = inject('rootlessUser');
  mkdirSync(`${V2}${DELEGATED}`);
  for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'])
    chownSync(join(`${V2}${DELEGATED}`, f), user.uid, user.gid);
});
afterAll(() => {
  for (const d of [`${V2}${DELEGATED}/tsrun`, `${V2}${DELEGATED}`]) if (existsSync(d)) rmdirSync(d);
});

describe('cgroup v2 driver, as root', () => {
  it('this host has a v2 tree to test on', () => {
    expect(['hybrid', 'unified']).toContain(mode);
    expect(existsSync(`${V2}/cgroup.controllers`)).toBe(true);
  });

  it.each(['root', 'rootless'] as const)('tsrun spec (as %s) gives a cgroup namespace on a unified host only, as runc spec', (as) => {
    const b = makeBundle(as);
    const namespaces = (args: string[], unified: boolean) => {
      const dir = join(b.dir, `spec-${unified}-${args.length}`);
      mkdirSync(dir);
      if (as === 'rootless') chownSync(dir, inject('rootlessUser').uid, inject('rootlessUser').gid);
      const r = tsrunIn(b, ['spec', ...args, '--bundle', dir], undefined, unified ? wrapper(as) : undefined);
      expect(r.code, r.stderr).toBe(0);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Config;
      return (config.linux?.namespaces ?? []).map((n) => n.type);
    };
    const args = as === 'rootless' ? ['--rootless'] : [];
    expect(namespaces(args, true)).toContain('cgroup');
    if (mode === 'hybrid') expect(namespaces(args, false)).not.toContain('cgroup');
  });

  it('places the init in its cgroup, applies the controllers the tree has (hugetlb here), and delete removes it', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = bundle('root', ['/probe', 'sleep', '30'], {
      cgroupsPath: path,
      resources: { hugepageLimits: [{ pageSize: '2MB', limit: 4n << 20n }] },
    });
    const id = uniqueId();
    const r = v2(b, ['run', '-d', '--bundle', b.dir, id]);
    expect(r.code, r.stderr).toBe(0);
    const { pid, status } = JSON.parse(v2(b, ['state', id]).stdout);
    expect(status).toBe('running');
    expect(read(`${V2}${path}/cgroup.procs`)).toBe(String(pid));
    expect(read(`${V2}${path}/hugetlb.2MB.max`)).toBe(String(4 << 20));
    expect(read(`/proc/${pid}/cgroup`).split('\n')).toContain(`0::${path}`);
    expect(v2(b, ['delete', '--force', id]).code).toBe(0);
    expect(existsSync(`${V2}${path}`)).toBe(false);
  });

  it('a cgroup frozen beforehand (cgroup.freeze of the parent) is refused at once; nothing is left', () => {
    const parent = `/tsrun-spec/${uniqueId('frozen')}`;
    mkdirSync(`${V2}${parent}`, { recursive: true });
    writeFileSync(`${V2}${parent}/cgroup.freeze`, '1');
    try {
      const b = bundle('root', ['/probe'], { cgroupsPath: `${parent}/c` });
      const id = uniqueId();
      const r = v2(b, ['create', '--bundle', b.dir, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cgroup ${parent}/c is frozen`);
      expect(r.stderr).toContain('cgroup.freeze 0');
      expect(existsSync(`${V2}${parent}/c`)).toBe(false);
    } finally {
      writeFileSync(`${V2}${parent}/cgroup.freeze`, '0');
      rmdirSync(`${V2}${parent}`);
    }
  });

  it("the container's /sys/fs/cgroup is a cgroup2 mount whose root is its own cgroup", () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = bundle('root', ['/probe', 'cat', '/sys/fs/cgroup/hugetlb.2MB.max'], {
      cgroupsPath: path,
      resources: { hugepageLimits: [{ pageSize: '2MB', limit: 6n << 20n }] },
    });
    const r = v2(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(String(6 << 20));
  });

  it('unified entries are written; one for a controller the tree lacks is refused and leaves nothing', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const ok = bundle('root', ['/probe', 'exit', '0'], { cgroupsPath: path, resources: { unified: { 'hugetlb.2MB.max': '2097152' } } });
    const id = uniqueId();
    expect(v2(ok, ['create', '--bundle', ok.dir, id]).code).toBe(0);
    expect(read(`${V2}${path}/hugetlb.2MB.max`)).toBe('2097152');
    expect(v2(ok, ['delete', '--force', id]).code).toBe(0);
    const missing = mode === 'hybrid' ? 'memory' : 'nonexistent';
    const badPath = `/tsrun-spec/${uniqueId()}`;
    const bad = bundle('root', ['/probe'], { cgroupsPath: badPath, resources: { unified: { [`${missing}.max`]: '1' } } });
    const r = v2(bad, ['create', '--bundle', bad.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`needs the ${missing} controller, which is not available in /sys/fs/cgroup${badPath}`));
    expect(existsSync(`${V2}${badPath}`)).toBe(false);
  });

  it('device rules become an eBPF program on the cgroup: a denied device cannot be opened, an allowed one can', () => {
    const loop = (devices: NonNullable<NonNullable<Config['linux']>['resources']>['devices']) =>
      makeBundle('root', (c) => {
        c.process = { ...c.process, cwd: '/', args: ['/probe', 'write', '/dev/loop7', 'x'] };
        c.linux = { ...c.linux, cgroupsPath: `/tsrun-spec/${uniqueId()}`, resources: { devices } };
        c.mounts = [...(c.mounts ?? []), { destination: '/dev/loop7', source: '/dev/loop7', type: 'bind', options: ['bind'] }];
      });
    const denied = loop([{ allow: false, access: 'rwm' }]);
    const r = v2(denied, ['run', '--bundle', denied.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout.trim()).toBe('EPERM');
    const allowed = loop([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'b', major: 7, minor: 7, access: 'rw' },
    ]);
    expect(v2(allowed, ['run', '--bundle', allowed.dir, uniqueId()]).stdout.trim()).not.toBe('EPERM');
    // The container's own devices stay usable under a deny-all list.
    const nul = bundle('root', ['/probe', 'write', '/dev/null', 'x'], {
      cgroupsPath: `/tsrun-spec/${uniqueId()}`,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
    });
    const ok = v2(nul, ['run', '--bundle', nul.dir, uniqueId()]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('pause freezes through cgroup.freeze (no progress, status paused), resume thaws; kill --all uses cgroup.kill', async () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = bundle('root', ['/probe', 'count', '/count'], { cgroupsPath: path });
    const id = uniqueId();
    expect(v2(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    for (let i = 0; i < 200 && count(b) === 0; i++) await sleep(10);
    expect(v2(b, ['pause', id]).code).toBe(0);
    expect(JSON.parse(v2(b, ['state', id]).stdout).status).toBe('paused');
    expect(read(`${V2}${path}/cgroup.events`)).toContain('frozen 1');
    const frozenAt = count(b);
    await sleep(300);
    expect(count(b)).toBe(frozenAt);
    expect(v2(b, ['resume', id]).code).toBe(0);
    await sleep(100);
    expect(count(b)).toBeGreaterThan(frozenAt);
    const stats = JSON.parse(v2(b, ['events', '--stats', id]).stdout);
    expect(stats.data.cpu.usage.total).toBeGreaterThan(0);
    expect(v2(b, ['kill', '--all', id, 'KILL']).code).toBe(0);
    for (let i = 0; i < 200 && read(`${V2}${path}/cgroup.procs`) !== ''; i++) await sleep(10);
    expect(read(`${V2}${path}/cgroup.procs`)).toBe('');
    expect(v2(b, ['delete', id]).code).toBe(0);
  });
});

describe('cgroup v2 driver, rootless with a delegated subtree', () => {
  it('the container goes below the user’s own cgroup, and pause/resume/ps work without privileges', async () => {
    const b = bundle('rootless', ['/probe', 'count', '/count']);
    const id = uniqueId();
    const r = v2(b, ['run', '-d', '--bundle', b.dir, id]);
    expect(r.code, r.stderr).toBe(0);
    const dir = `${V2}${DELEGATED}/tsrun/${id}`;
    const { pid } = JSON.parse(v2(b, ['state', id]).stdout);
    expect(read(`${dir}/cgroup.procs`)).toBe(String(pid));
    expect(JSON.parse(v2(b, ['ps', '--format', 'json', id]).stdout)).toEqual([pid]);
    for (let i = 0; i < 200 && count(b) === 0; i++) await sleep(10);
    expect(v2(b, ['pause', id]).code).toBe(0);
    const frozenAt = count(b);
    await sleep(200);
    expect(count(b)).toBe(frozenAt);
    expect(v2(b, ['resume', id]).code).toBe(0);
    expect(v2(b, ['delete', '--force', id]).code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});
