import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupMode } from '../src/cgroups/detect.js';
import type { Config } from '../src/spec/config.js';
import { makeBundle, runBundle, spawnTsrun, type TestBundle, tsrunIn, uniqueId } from './support/containers.js';
import { tsrun } from './support/tsrun.js';

const limited = (path: string, resources: NonNullable<Config['linux']>['resources'], args: string[]) => (c: Config) => {
  c.process = { ...c.process, cwd: '/', args };
  c.linux = { ...c.linux, cgroupsPath: path, resources };
  c.root = { path: 'rootfs', readonly: false };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The count a `probe count /count` container has reached (0 before it starts writing). */
const count = (b: TestBundle) => {
  const text = existsSync(join(b.dir, 'rootfs', 'count')) ? readFileSync(join(b.dir, 'rootfs', 'count'), 'utf8') : '';
  return Number(text.trim() || 0);
};

async function counting(b: TestBundle): Promise<void> {
  for (let i = 0; i < 200 && count(b) === 0; i++) await sleep(10);
  expect(count(b)).toBeGreaterThan(0);
}

const state = (b: TestBundle, id: string) => JSON.parse(tsrunIn(b, ['state', id]).stdout) as { status: string; pid: number };

describe('cgroups v1, as root', () => {
  it('this host has v1 controllers (the v1 driver is what these tests exercise)', () => {
    expect(['legacy', 'hybrid']).toContain(cgroupMode());
  });

  it('places the init in its cgroup before it runs, writes the limits, and delete removes the cgroup', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle(
      'root',
      limited(path, { pids: { limit: 42 }, memory: { limit: 64 << 20, kernelTCP: 16 << 20 }, cpu: { shares: 512 } }, [
        '/probe',
        'cat',
        '/proc/self/cgroup',
      ]),
    );
    const id = uniqueId();
    const created = tsrunIn(b, ['create', '--bundle', b.dir, id]);
    expect([created.code, created.stderr]).toEqual([0, '']);
    const { pid } = JSON.parse(tsrunIn(b, ['state', id]).stdout);
    const file = (ctrl: string, f: string) => readFileSync(`/sys/fs/cgroup/${ctrl}${path}/${f}`, 'utf8').trim();
    expect(file('pids', 'cgroup.procs')).toBe(String(pid));
    expect(file('memory', 'cgroup.procs')).toBe(String(pid));
    expect(file('pids', 'pids.max')).toBe('42');
    expect(file('memory', 'memory.limit_in_bytes')).toBe(String(64 << 20));
    // memory.kernelTCP holds on v1 (runc 1.1.5 ignores it with a warning: the spec wins).
    expect(file('memory', 'memory.kmem.tcp.limit_in_bytes')).toBe(String(16 << 20));
    expect(file('cpu', 'cpu.shares')).toBe('512');
    // A second container, in a cgroup of its own (one with processes in it is refused): its view through the cgroup namespace.
    const out = runBundle(makeBundle('root', limited(`${path}-view`, {}, ['/probe', 'cat', '/proc/self/cgroup']))).stdout;
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

  it('--systemd-cgroup: slice:prefix:name is placed at <slice>/<prefix>-<name>.scope through cgroupfs, and says so', () => {
    const name = uniqueId();
    const b = makeBundle(
      'root',
      limited(`tsrunspec.slice:tsrun:${name}`, { pids: { limit: 9 }, memory: { limit: 64 << 20, useHierarchy: true } }, [
        '/probe',
        'sleep',
        '10',
      ]),
    );
    const id = uniqueId();
    const r = tsrunIn(b, ['--systemd-cgroup', 'run', '-d', '--bundle', b.dir, id]);
    expect(r.code, r.stderr).toBe(0);
    const path = `/tsrunspec.slice/tsrun-${name}.scope`;
    expect(r.stderr).toContain(
      `--systemd-cgroup: tsrun does not talk to systemd; the container's cgroup is ${path}, made through cgroupfs`,
    );
    expect(readFileSync(`/sys/fs/cgroup/pids${path}/cgroup.procs`, 'utf8').trim()).toBe(String(state(b, id).pid));
    expect(readFileSync(`/sys/fs/cgroup/pids${path}/pids.max`, 'utf8').trim()).toBe('9');
    expect(readFileSync(`/sys/fs/cgroup/memory${path}/memory.use_hierarchy`, 'utf8').trim()).toBe('1');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    expect(existsSync(`/sys/fs/cgroup/pids${path}`)).toBe(false);
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

  it.each([
    ['unified entries on this v1 host beside v1 limits', { memory: { limit: 100_000_000 }, unified: { 'pids.max': '10' } }, undefined],
    ['a container-side refusal (a relative masked path)', { pids: { limit: 10 } }, ['relative/path']],
  ])('a config refused for %s leaves nothing on the host, not even the parent cgroup', (_what, resources, maskedPaths) => {
    const parent = `/tsrun-spec/${uniqueId('early')}`;
    const b = makeBundle('root', (c) => {
      limited(`${parent}/c`, resources, ['/probe'])(c);
      if (maskedPaths) c.linux = { ...c.linux, maskedPaths };
    });
    const id = uniqueId();
    const r = tsrunIn(b, ['create', '--bundle', b.dir, id]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^tsrun: create: (cgroup: linux\.resources\.unified\["pids\.max"\] needs the pids controller|config\.json: linux\.maskedPaths)/,
    );
    for (const h of readdirSync('/sys/fs/cgroup')) expect(existsSync(`/sys/fs/cgroup/${h}${parent}`), h).toBe(false);
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  it('a cgroup frozen beforehand (the parent of cgroupsPath) is refused at once, naming the fix; nothing is left', () => {
    const parent = `/tsrun-spec/${uniqueId('frozen')}`;
    const freezer = `/sys/fs/cgroup/freezer${parent}`;
    mkdirSync(freezer, { recursive: true });
    writeFileSync(join(freezer, 'freezer.state'), 'FROZEN');
    try {
      const b = makeBundle('root', limited(`${parent}/c`, {}, ['/probe']));
      const id = uniqueId();
      const r = tsrun('root', ['--root', b.root, 'create', '--bundle', b.dir, id], { cwd: b.dir, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cgroup ${parent}/c is frozen`);
      expect(r.stderr).toContain('THAWED');
      expect(tsrunIn(b, ['state', id]).stderr).toContain('does not exist');
      expect(existsSync(`${freezer}/c`)).toBe(false);
    } finally {
      writeFileSync(join(freezer, 'freezer.state'), 'THAWED');
      rmdirSync(freezer);
      for (const h of readdirSync('/sys/fs/cgroup'))
        if (existsSync(`/sys/fs/cgroup/${h}${parent}`)) rmdirSync(`/sys/fs/cgroup/${h}${parent}`);
    }
  });

  it('pause freezes the container (no progress, status paused), resume thaws it; ps lists its processes', async () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle('root', limited(path, {}, ['/probe', 'count', '/count']));
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    await counting(b);
    expect(tsrunIn(b, ['pause', id]).code).toBe(0);
    expect(state(b, id).status).toBe('paused');
    expect(JSON.parse(tsrunIn(b, ['list', '--format', 'json']).stdout)).toContainEqual(expect.objectContaining({ id, status: 'paused' }));
    expect(readFileSync(`/sys/fs/cgroup/freezer${path}/freezer.state`, 'utf8').trim()).toBe('FROZEN');
    const frozenAt = count(b);
    await sleep(300);
    expect(count(b)).toBe(frozenAt);
    const { pid } = state(b, id);
    expect(JSON.parse(tsrunIn(b, ['ps', '--format', 'json', id]).stdout)).toEqual([pid]);
    const table = tsrunIn(b, ['ps', id, '-o', 'pid,comm']).stdout.trim().split('\n');
    expect(table).toHaveLength(2);
    expect(table[0]?.trim().split(/\s+/)).toEqual(['PID', 'COMMAND']);
    expect(table[1]?.trim().split(/\s+/)).toEqual([String(pid), 'probe']);
    expect(tsrunIn(b, ['pause', id]).stderr).toContain('container not running');
    expect(tsrunIn(b, ['resume', id]).code).toBe(0);
    expect(state(b, id).status).toBe('running');
    await sleep(100);
    expect(count(b)).toBeGreaterThan(frozenAt);
    expect(tsrunIn(b, ['resume', id]).stderr).toContain('container not paused');
    // A paused container can still be deleted by force: it is thawed so the SIGKILL lands.
    expect(tsrunIn(b, ['pause', id]).code).toBe(0);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    expect(existsSync(`/sys/fs/cgroup/freezer${path}`)).toBe(false);
  });

  it('update changes a live container: the cgroup files, and the limit takes effect', async () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    // The probe waits a second, then forks as often as it can: by then the update has lowered pids.max.
    const b = makeBundle('root', limited(path, { pids: { limit: 50 }, memory: { limit: 64 << 20 } }, ['/probe', 'fork-after', '1', '20']));
    const id = uniqueId();
    const run = spawnTsrun(b, ['run', '--bundle', b.dir, id]);
    for (let i = 0; i < 200 && tsrunIn(b, ['state', id]).code !== 0; i++) await sleep(10);
    const r = tsrunIn(b, ['update', '--pids-limit', '3', '--memory', '96m', '--cpu-share', '256', id]);
    expect(r.code, r.stderr).toBe(0);
    const file = (ctrl: string, f: string) => readFileSync(`/sys/fs/cgroup/${ctrl}${path}/${f}`, 'utf8').trim();
    expect(file('pids', 'pids.max')).toBe('3');
    expect(file('memory', 'memory.limit_in_bytes')).toBe(String(96 << 20));
    expect(file('cpu', 'cpu.shares')).toBe('256');
    expect(await run.exited).toBe(0);
    expect(Number(run.out())).toBe(2); // the init and two children make three
    // --resources takes the spec's JSON, from stdin here; a bad value is refused naming the field.
    const live = makeBundle('root', limited(`/tsrun-spec/${uniqueId()}`, {}, ['/probe', 'sleep', '30']));
    const liveId = uniqueId();
    expect(tsrunIn(live, ['run', '-d', '--bundle', live.dir, liveId]).code).toBe(0);
    const json = tsrun('root', ['--root', live.root, 'update', '--resources', '-', liveId], { input: '{"pids": {"limit": 9}}' });
    expect(json.code, json.stderr).toBe(0);
    const bad = tsrun('root', ['--root', live.root, 'update', '--resources', '-', liveId], { input: '{"pids": {"limit": "many"}}' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('pids.limit');
    expect(tsrunIn(live, ['delete', '--force', liveId]).code).toBe(0);
  });

  it('events: --stats reports cpu, memory and pids; the stream reports an OOM kill and ends with the container', async () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle('root', limited(path, { pids: { limit: 42 }, memory: { limit: 64 << 20 } }, ['/probe', 'sleep', '30']));
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    const stats = JSON.parse(tsrunIn(b, ['events', '--stats', id]).stdout);
    expect(stats).toMatchObject({ type: 'stats', id, data: { pids: { current: 1, limit: 42 }, memory: { usage: { limit: 64 << 20 } } } });
    expect(stats.data.cpu.usage.total).toBeGreaterThan(0);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);

    const hog = makeBundle(
      'root',
      limited(`/tsrun-spec/${uniqueId()}`, { memory: { limit: 32 << 20, swap: 32 << 20 } }, ['/probe', 'alloc', '128']),
    );
    const hogId = uniqueId();
    expect(tsrunIn(hog, ['create', '--bundle', hog.dir, hogId]).code).toBe(0);
    const stream = spawnTsrun(hog, ['events', '--interval', '10s', hogId]);
    await sleep(300);
    expect(tsrunIn(hog, ['start', hogId]).code).toBe(0);
    expect(await stream.exited).toBe(0);
    const lines = stream
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'stats', id: hogId });
    expect(lines).toContainEqual({ type: 'oom', id: hogId });
    expect(tsrunIn(hog, ['delete', hogId]).code).toBe(0);
  });

  it('on a hybrid host the container also joins the v2 tree, and kill --all KILL empties it', async () => {
    if (cgroupMode() !== 'hybrid') return expect(cgroupMode()).toBe('legacy');
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle('root', limited(path, {}, ['/probe', 'sleep', '30']));
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    const unified = `/sys/fs/cgroup/unified${path}`;
    expect(readFileSync(`${unified}/cgroup.procs`, 'utf8').trim()).toBe(String(state(b, id).pid));
    expect(tsrunIn(b, ['kill', '--all', id, 'KILL']).code).toBe(0);
    for (let i = 0; i < 200 && readFileSync(`${unified}/cgroup.procs`, 'utf8') !== ''; i++) await sleep(10);
    expect(readFileSync(`${unified}/cgroup.procs`, 'utf8')).toBe('');
    expect(tsrunIn(b, ['delete', id]).code).toBe(0);
    expect(existsSync(unified)).toBe(false);
  });

  it('device rules: deny all, the config rules in their order, then the default devices; a denied device cannot be opened, even one in linux.devices', () => {
    const withLoop = (devices: NonNullable<NonNullable<Config['linux']>['resources']>['devices']) => (c: Config) => {
      limited(`/tsrun-spec/${uniqueId()}`, { devices }, ['/probe', 'write', '/dev/loop7', 'x'])(c);
      c.mounts = [...(c.mounts ?? []), { destination: '/dev/loop7', source: '/dev/loop7', type: 'bind', options: ['bind'] }];
    };
    const denied = makeBundle('root', withLoop([{ allow: false, access: 'rwm' }]));
    expect(runBundle(denied, uniqueId(), 1).stdout.trim()).toBe('EPERM');
    // A device the container has through linux.devices is no exception to the config's rules.
    const kmsg = makeBundle('root', (c) => {
      limited(`/tsrun-spec/${uniqueId()}`, { devices: [{ allow: false, access: 'rwm' }] }, ['/probe', 'write', '/dev/kmsg', 'x'])(c);
      c.linux = { ...c.linux, devices: [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }] };
    });
    expect(runBundle(kmsg, uniqueId(), 1).stdout.trim()).toBe('EPERM');
    const allowed = makeBundle(
      'root',
      withLoop([
        { allow: false, access: 'rwm' },
        { allow: true, type: 'b', major: 7, minor: 7, access: 'rw' },
      ]),
    );
    // Allowed by the cgroup, the open succeeds (the write to an unbound loop device then fails otherwise).
    expect(tsrunIn(allowed, ['run', '--bundle', allowed.dir, uniqueId()]).stdout.trim()).not.toBe('EPERM');

    const path = `/tsrun-spec/${uniqueId()}`;
    const rules = [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
      { allow: true, type: 'b', major: 7, minor: 7, access: 'r' },
    ];
    const b = makeBundle('root', (c) => {
      limited(path, { devices: rules }, ['/probe', 'sleep', '10'])(c);
      c.linux = { ...c.linux, devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666 }] };
    });
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    const list = readFileSync(`/sys/fs/cgroup/devices${path}/devices.list`, 'utf8').trim().split('\n');
    expect(list.slice(0, 2)).toEqual(['c 10:229 rwm', 'b 7:7 r']);
    expect(list).toEqual(expect.arrayContaining(['c 1:3 rwm', 'c 1:9 rwm', 'c 5:2 rwm', 'c 136:* rwm']));
    expect(list).not.toContain('a *:* rwm');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('blkio per-device throttles are written; a control this kernel lacks is named as such', () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle(
      'root',
      limited(
        path,
        {
          blockIO: {
            throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1 << 20 }],
            throttleWriteIOPSDevice: [{ major: 7, minor: 0, rate: 100 }],
          },
        },
        ['/probe', 'sleep', '10'],
      ),
    );
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/blkio${path}/blkio.throttle.read_bps_device`, 'utf8').trim()).toBe(`7:0 ${1 << 20}`);
    expect(readFileSync(`/sys/fs/cgroup/blkio${path}/blkio.throttle.write_iops_device`, 'utf8').trim()).toBe('7:0 100');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    // Without CFQ there is no blkio.leaf_weight (true of this host's kernel).
    expect(existsSync('/sys/fs/cgroup/blkio/blkio.leaf_weight')).toBe(false);
    const leafPath = `/tsrun-spec/${uniqueId()}`;
    const leaf = makeBundle('root', limited(leafPath, { blockIO: { leafWeight: 300 } }, ['/probe']));
    const r = tsrunIn(leaf, ['create', '--bundle', leaf.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `tsrun: create: cgroup: cannot write "300" to /sys/fs/cgroup/blkio${leafPath}/blkio.leaf_weight: this kernel has no such file`,
    );
    expect(existsSync(`/sys/fs/cgroup/blkio${leafPath}`)).toBe(false);
  });

  it('controllers v1 lacks here: hugetlb limits go to the v2 tree of a hybrid host; net_cls, not mounted at all, is an error', () => {
    if (cgroupMode() !== 'hybrid' || existsSync('/sys/fs/cgroup/hugetlb') || existsSync('/sys/fs/cgroup/net_cls')) {
      throw new Error('this test expects the hybrid host of the CI machine: no v1 hugetlb or net_cls hierarchy');
    }
    const path = `/tsrun-spec/${uniqueId()}`;
    const b = makeBundle('root', limited(path, { hugepageLimits: [{ pageSize: '2MB', limit: 2n << 20n }] }, ['/probe', 'sleep', '10']));
    const id = uniqueId();
    const r = tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/unified${path}/hugetlb.2MB.max`, 'utf8').trim()).toBe(String(2 << 20));
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    const net = makeBundle('root', limited(`/tsrun-spec/${uniqueId()}`, { network: { classID: 0x100001 } }, ['/probe']));
    const bad = tsrunIn(net, ['create', '--bundle', net.dir, uniqueId()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'tsrun: create: cgroup: the net_cls controller is not mounted on this host (needed for net_cls.classid)',
    );
  });

  it("the container's /sys/fs/cgroup is its own: each hierarchy mounted with its cgroup as the root, read-only", () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const look = (args: string[]) => runBundle(makeBundle('root', limited(path, { pids: { limit: 33 } }, ['/probe', ...args]))).stdout;
    expect(look(['cat', '/sys/fs/cgroup/pids/pids.max']).trim()).toBe('33');
    const cgroupMounts = look(['cat', '/proc/self/mountinfo'])
      .split('\n')
      .filter((l) => l.includes(' /sys/fs/cgroup'));
    const hierarchies = cgroupMounts.filter((l) => / - cgroup2? /.test(l));
    expect(hierarchies.length).toBeGreaterThanOrEqual(5);
    for (const line of hierarchies) {
      expect(line.split(' ')[3], line).toBe('/'); // the root of the mount: the container's own cgroup
      expect(line.split(' ')[5]?.split(','), line).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
    }
    // The host's other cgroups are not in sight (the host's pids hierarchy has a tsrun-spec directory).
    expect(existsSync('/sys/fs/cgroup/pids/tsrun-spec')).toBe(true);
    expect(look(['stat', '/sys/fs/cgroup/pids/tsrun-spec'])).toContain('ENOENT');
    const write = makeBundle('root', limited(path, { pids: { limit: 33 } }, ['/probe', 'write', '/sys/fs/cgroup/pids/pids.max', '99']));
    expect(tsrunIn(write, ['run', '--bundle', write.dir, uniqueId()]).stdout.trim()).toBe('EROFS');
  });

  it("without a cgroup namespace: each hierarchy is a read-only bind of the container's own cgroup, on a tmpfs", () => {
    const path = `/tsrun-spec/${uniqueId()}`;
    const noCgroupNs = (args: string[]) => (c: Config) => {
      limited(path, { pids: { limit: 34 } }, ['/probe', ...args])(c);
      c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== 'cgroup') };
    };
    const look = (args: string[]) => runBundle(makeBundle('root', noCgroupNs(args))).stdout;
    expect(look(['cat', '/sys/fs/cgroup/pids/pids.max']).trim()).toBe('34');
    const lines = look(['cat', '/proc/self/mountinfo'])
      .split('\n')
      .filter((l) => l.split(' ')[4]?.startsWith('/sys/fs/cgroup'));
    expect(lines.find((l) => l.split(' ')[4] === '/sys/fs/cgroup')).toMatch(/ - tmpfs /);
    const binds = lines.filter((l) => / - cgroup2? /.test(l));
    expect(binds.length).toBeGreaterThanOrEqual(5);
    for (const line of binds) {
      expect(line.split(' ')[3], line).toBe(path); // the container's own cgroup, not the hierarchy's root
      expect(line.split(' ')[5]?.split(','), line).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
    }
    expect(look(['stat', '/sys/fs/cgroup/pids/tsrun-spec'])).toContain('ENOENT');
    // Rootless (no cgroup of its own on v1): tsrun's own cgroup in each hierarchy, read-only.
    const own = readFileSync('/proc/self/cgroup', 'utf8');
    const rootless = makeBundle('rootless', (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'cat', '/proc/self/mountinfo'] };
      c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== 'cgroup') };
    });
    const pidsLine = runBundle(rootless)
      .stdout.split('\n')
      .find((l) => l.split(' ')[4] === '/sys/fs/cgroup/pids');
    expect(own).toMatch(/:pids:\//);
    expect(pidsLine?.split(' ')[5]?.split(',')).toContain('ro');
  });

  it('rootless (no v1 mount in a user namespace): the host tree is bound read-only instead', () => {
    const b = makeBundle('rootless', limited('/x', {}, ['/probe', 'write', '/sys/fs/cgroup/pids/cgroup.procs', '1']));
    const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe('EROFS');
  });

  it('rootless on a v1 host: limits are not applied, a warning says so, and pause says why it cannot', () => {
    const b = makeBundle('rootless', limited('/x', { pids: { limit: 5 } }, ['/probe', 'sleep', '10']));
    const id = uniqueId();
    const r = tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('linux.resources not applied (rootless on a cgroup v1 host: v1 cannot be delegated safely): pids');
    const paused = tsrunIn(b, ['pause', id]);
    expect(paused.code).toBe(1);
    expect(paused.stderr.trim()).toBe(
      `tsrun: pause: cannot pause container "${id}": it has no cgroup (rootless without a delegated cgroup v2 subtree)`,
    );
    expect(JSON.parse(tsrunIn(b, ['ps', '--format', 'json', id]).stdout)).toEqual([state(b, id).pid]);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });
});
