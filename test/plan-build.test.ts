import { describe, expect, it } from 'vitest';
import { buildPlans, type PlanInput } from '../src/plan/build.js';
import { ShimOp } from '../src/plan/encode.js';
import type { Config } from '../src/spec/config.js';
import { defaultConfig, rootlessConfig } from '../src/spec/default-config.js';

function plans(config: Config, extra: Partial<PlanInput> = {}) {
  const warnings: string[] = [];
  const p = buildPlans({
    config,
    bundleDir: '/bundle',
    rootfs: '/bundle/rootfs',
    rootless: false,
    noPivot: false,
    execFifo: '/run/tsrun/c/exec.fifo',
    preserveFds: 0,
    relay: false,
    warn: (m) => warnings.push(m),
    ...extra,
  });
  const container = p.container(() => '{}');
  return { host: p.host, container, whats: container.map((s) => s.what), warnings, p };
}

const base = () => {
  const c = defaultConfig();
  c.process = { ...c.process, cwd: '/', terminal: false, args: ['/bin/true'] };
  return c;
};

describe('the plan compiler', () => {
  it('host side: the FIFO is opened before the clone, whose flags are the new namespaces', () => {
    const { host, p } = plans(base());
    expect(host.map((s) => s.op)).toEqual([ShimOp.OpenFifo, ShimOp.Clone, ShimOp.NextPlan]);
    expect([...p.newNamespaces].sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    // Not cgroup: the container process makes that namespace itself, once it is in its cgroup.
    expect(Buffer.from(host[1]?.payload ?? []).readBigUInt64LE(0)).toBe(
      0x08000000n | 0x00020000n | 0x40000000n | 0x20000000n | 0x04000000n,
    );
  });

  it('orders the container side: mounts, devices, sysctls, read-only paths, masks, pivot, process, ready, start, exec', () => {
    const c = base();
    c.linux = { ...c.linux, sysctl: { 'net.ipv4.ip_forward': '1' } };
    const { whats } = plans(c);
    const at = (w: string) => whats.findIndex((x) => x.startsWith(w));
    expect(at('mount proc')).toBeLessThan(at('create device /dev/null'));
    expect(at('create device /dev/null')).toBeLessThan(at('set sysctl'));
    expect(at('set sysctl')).toBeLessThan(at('make /proc/sys read-only'));
    expect(at('make /proc/sys read-only')).toBeLessThan(at('mask /proc/acpi')); // read-only paths, then masks (as runc)
    expect(at('mask /proc/acpi')).toBeLessThan(at('pivot_root'));
    expect(at('pivot_root')).toBeLessThan(at('make the root filesystem read-only'));
    expect(at('limit the capability bounding set')).toBeLessThan(at('switch to uid'));
    expect(at('switch to uid')).toBeLessThan(at('set capabilities'));
    expect(whats.slice(-4)).toEqual(['find the executable "/bin/true"', 'report ready', 'wait for start', 'exec the container process']);
  });

  it('rootless: devices are bound, sysfs without a network namespace becomes a read-only bind of /sys', () => {
    const c = rootlessConfig(1000, 1000);
    c.process = { ...c.process, cwd: '/', terminal: false, args: ['/bin/true'] };
    const { whats, container } = plans(c, { rootless: true });
    expect(whats).toContain('bind device /dev/null');
    expect(whats).not.toContain('create device /dev/null');
    expect(whats).toContain('set the mount attributes of "/sys"');
    expect(container.some((s) => s.op === ShimOp.Mknod)).toBe(false);
  });

  it('refuses what a namespace setup cannot honour', () => {
    const c = base();
    c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== 'uts') };
    expect(() => plans(c)).toThrow('hostname is set but there is no uts namespace');
    const d = base();
    d.linux = { ...d.linux, namespaces: [...(d.linux?.namespaces ?? []), { type: 'pid' }] };
    expect(() => plans(d)).toThrow('namespace "pid" is listed twice');
    expect(() => plans(rootlessConfig(1000, 1000), { rootless: true })).toThrow(/terminal/);
  });

  it('sets a sysctl only in a namespace the container has apart from tsrun, never on the host', () => {
    const withSysctl = (sysctl: Record<string, string>, drop?: string, join?: { type: 'network'; path: string }) => {
      const c = base();
      const namespaces = (c.linux?.namespaces ?? []).filter((n) => n.type !== drop && n.type !== join?.type);
      c.linux = { ...c.linux, sysctl, namespaces: join ? [...namespaces, join] : namespaces };
      if (drop === 'uts') c.hostname = undefined;
      return () => plans(c);
    };
    expect(withSysctl({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '9' })).not.toThrow();
    expect(withSysctl({ 'net.ipv4.ip_forward': '1' }, 'network')).toThrow(
      'config.json: linux.sysctl "net.ipv4.ip_forward" needs a network namespace of the container\'s own (add {"type": "network"})',
    );
    expect(withSysctl({ 'kernel.sem': '1 2 3 4' }, 'ipc')).toThrow('needs an ipc namespace');
    expect(withSysctl({ 'fs.mqueue.msg_max': '9' }, 'ipc')).toThrow('needs an ipc namespace');
    expect(withSysctl({ 'kernel.domainname': 'x' }, 'uts')).toThrow('needs a uts namespace');
    expect(withSysctl({ 'kernel.domainname': 'x' })).not.toThrow();
    expect(withSysctl({ 'vm.swappiness': '1' })).toThrow(
      'linux.sysctl "vm.swappiness" is not namespaced: setting it would change the host',
    );
    expect(withSysctl({ 'net.ipv4.ip_forward': '1' }, undefined, { type: 'network', path: '/proc/self/ns/net' })).toThrow(
      "/proc/self/ns/net is tsrun's own network namespace",
    );
  });

  it('refuses the uts names as sysctls where the config has a field for them (kernel.hostname always, as runc)', () => {
    const withSysctl = (sysctl: Record<string, string>, edit: (c: ReturnType<typeof base>) => void = () => {}) => {
      const c = base();
      c.linux = { ...c.linux, sysctl };
      edit(c);
      return () => plans(c);
    };
    expect(withSysctl({ 'kernel.hostname': 'x' })).toThrow(
      'config.json: linux.sysctl "kernel.hostname" conflicts with the "hostname" field: set the name there, not as a sysctl',
    );
    expect(withSysctl({ 'kernel.hostname': 'x' }, (c) => (c.hostname = undefined))).toThrow('conflicts with the "hostname" field');
    expect(withSysctl({ 'kernel.domainname': 'x' }, (c) => (c.domainname = 'example.org'))).toThrow(
      'conflicts with the "domainname" field',
    );
  });
});
