import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CAPABILITIES } from '../src/linux/capabilities.js';
import { makeBundle, mounts, ownBundle, type ProbeReport, probe, runBundle, tsrunIn, uniqueId } from './support/containers.js';
import { identities } from './support/tsrun.js';

const capHex = (names: string[]) =>
  names
    .reduce((m, n) => m | (1n << BigInt(CAPABILITIES[n] ?? 99)), 0n)
    .toString(16)
    .padStart(16, '0');
const hostNs = (ns: string) => require('node:fs').readlinkSync(`/proc/self/ns/${ns}`) as string;

describe.each(identities)('what the container process sees, as %s', (as) => {
  it('the default config: new namespaces, pid 1, its hostname, caps, limits, mounts, env, only stdio open', () => {
    const r = probe(as);
    expect(r.pid).toBe(1);
    expect(r.hostname).toBe('tsrun-test');
    expect([r.uid, r.gid, r.euid]).toEqual([0, 0, 0]);
    expect(r.cwd).toBe('/');
    for (const ns of ['pid', 'ipc', 'uts', 'mnt']) expect(r.ns[ns], ns).not.toBe(hostNs(ns));
    expect(r.ns.net === hostNs('net')).toBe(as === 'rootless'); // tsrun spec --rootless keeps the host network
    const caps = capHex(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
    expect([r.CapEff, r.CapPrm, r.CapBnd, r.CapInh, r.CapAmb]).toEqual([caps, caps, caps, '0'.repeat(16), '0'.repeat(16)]);
    expect(r.no_new_privs).toBe(1);
    expect(r.rlimits['7']).toEqual([1024, 1024]); // RLIMIT_NOFILE
    expect(r.Umask).toBe('0022');
    expect(r.fds).toEqual([0, 1, 2]);
    expect(r.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/']);
    const m = mounts(r.mountinfo);
    expect(m.get('/proc')?.fstype).toBe('proc');
    expect(m.get('/dev')?.fstype).toBe('tmpfs');
    expect(m.get('/dev/pts')?.fstype).toBe('devpts');
    expect(m.get('/dev/shm')?.fstype).toBe('tmpfs');
    expect(m.get('/dev/mqueue')?.fstype).toBe('mqueue');
    expect(m.get('/sys')?.options).toContain('ro');
    expect(m.get('/')?.options).toContain('ro'); // root.readonly
    expect(m.get('/proc/keys')?.fstype).toBe('devtmpfs'); // masked: the host's /dev/null bound over it
    expect(m.get('/proc/acpi')?.fstype).toBe('tmpfs'); // a masked directory: an empty read-only tmpfs
    expect(m.get('/proc/acpi')?.options).toContain('ro');
    // The bound host cgroup tree is read-only all the way down.
    for (const [point, info] of m) if (point.startsWith('/sys/fs/cgroup')) expect(info.options, point).toContain('ro');
    expect(m.get('/proc/sys')?.options).toContain('ro'); // read-only path
    if (as === 'rootless') {
      const user = inject('rootlessUser');
      expect(r.uid_map.trim().split(/\s+/)).toEqual(['0', String(user.uid), '1']);
      expect(r.gid_map.trim().split(/\s+/)).toEqual(['0', String(user.gid), '1']);
    } else {
      expect(r.uid_map.trim().split(/\s+/)).toEqual(['0', '0', '4294967295']);
    }
  });

  it('process: user, groups, umask, cwd, env, capabilities of a non-root user, ambient, rlimits, oom_score_adj, no_new_privs off', () => {
    const user = inject('rootlessUser');
    const subuid = readFileSync('/etc/subuid', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user.name}:`))
      ?.split(':');
    const subgid = readFileSync('/etc/subgid', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user.name}:`))
      ?.split(':');
    const r = probe(as, (c) => {
      if (as === 'rootless') {
        // Ids beyond the caller's own need newuidmap/newgidmap and the user's subordinate ranges.
        c.linux = {
          ...c.linux,
          uidMappings: [
            { containerID: 0, hostID: user.uid, size: 1 },
            { containerID: 1, hostID: Number(subuid?.[1]), size: 65536 },
          ],
          gidMappings: [
            { containerID: 0, hostID: user.gid, size: 1 },
            { containerID: 1, hostID: Number(subgid?.[1]), size: 65536 },
          ],
        };
      }
      c.process = {
        ...c.process,
        cwd: '/dev/shm',
        args: ['/probe'],
        env: ['A=1', 'PATH=/'],
        user: { uid: 1000, gid: 1001, additionalGids: [5, 1002], umask: 0o077 },
        capabilities: {
          bounding: ['CAP_CHOWN', 'CAP_NET_RAW'],
          permitted: ['CAP_CHOWN', 'CAP_NET_RAW'],
          effective: ['CAP_CHOWN'],
          inheritable: ['CAP_NET_RAW'],
          ambient: ['CAP_NET_RAW'],
        },
        rlimits: [
          { type: 'RLIMIT_NOFILE', soft: 64, hard: 128 },
          { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
        ],
        oomScoreAdj: 500,
        noNewPrivileges: false,
      };
    });
    expect([r.uid, r.gid, r.euid]).toEqual([1000, 1001, 1000]);
    expect(r.groups.sort((a, b) => a - b)).toEqual([5, 1002]);
    expect(r.Umask).toBe('0077');
    expect(r.cwd).toBe('/dev/shm');
    expect(r.env).toEqual(['A=1', 'PATH=/', 'HOME=/']); // no passwd in the image: /
    expect(r.CapBnd).toBe(capHex(['CAP_CHOWN', 'CAP_NET_RAW']));
    expect(r.CapInh).toBe(capHex(['CAP_NET_RAW']));
    expect(r.CapAmb).toBe(capHex(['CAP_NET_RAW']));
    // A non-root user keeps across exec only what is ambient (the kernel's rule; CAP_CHOWN was effective only before exec).
    expect(r.CapEff).toBe(capHex(['CAP_NET_RAW']));
    expect(r.CapPrm).toBe(capHex(['CAP_NET_RAW']));
    expect(r.rlimits['7']).toEqual([64, 128]);
    expect(r.rlimits['4']).toEqual([0, 0]);
    expect(r.oom_score_adj).toBe('500');
    expect(r.no_new_privs).toBe(0);
  });

  it('scheduler, I/O priority, personality', () => {
    const r = probe(as, (c) => {
      c.process = {
        ...c.process,
        cwd: '/',
        scheduler: { policy: 'SCHED_BATCH', nice: 5 },
        ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 6 },
      };
      c.linux = { ...c.linux, personality: { domain: 'LINUX32' } };
    });
    expect(r.sched_policy).toBe(3); // SCHED_BATCH
    expect(r.nice).toBe(5);
    expect(r.ioprio).toBe((2 << 13) | 6);
    expect(r.personality & 0xff).toBe(0x08); // PER_LINUX32
  });

  it('a time namespace with offsets', () => {
    const year = 365 * 24 * 3600;
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'cat', '/proc/uptime'] };
      c.linux = { ...c.linux, namespaces: [...(c.linux?.namespaces ?? []), { type: 'time' }], timeOffsets: { boottime: { secs: year } } };
    });
    const r = runBundle(b);
    const uptime = Number(r.stdout.split(' ')[0]);
    const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(uptime - hostUptime).toBeGreaterThan(year - 60);
    expect(uptime - hostUptime).toBeLessThan(year + 60);
  });

  it('process.cwd: one only root may search is entered before the ids switch; a missing one is made', () => {
    const missing = probe(as, (c) => {
      c.process = { ...c.process, cwd: '/does/not/exist' };
    });
    expect(missing.cwd).toBe('/does/not/exist');
    if (as === 'rootless') return; // one id mapped: no other user to switch to
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/private', user: { uid: 42, gid: 42 } };
    });
    mkdirSync(join(b.dir, 'rootfs', 'private'), { mode: 0o700 });
    const r = JSON.parse(runBundle(b).stdout) as ProbeReport;
    expect([r.cwd, r.uid]).toEqual(['/private', 42]);
  });

  it("HOME, when process.env has none: the user's home in the container's /etc/passwd, else /; exec too", () => {
    const b = makeBundle(as, (c) => {
      // A rootless container maps one id, 0.
      const uid = as === 'root' ? 1000 : 0;
      c.process = { ...c.process, cwd: '/', user: { uid, gid: uid }, args: ['/probe', 'sleep', '60'] };
    });
    const rootfs = join(b.dir, 'rootfs');
    mkdirSync(join(rootfs, 'etc'));
    mkdirSync(join(rootfs, 'data'));
    // The image's passwd is a link to an absolute path: it resolves inside the root, never to the host's file.
    writeFileSync(join(rootfs, 'data', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n');
    symlinkSync('/data/passwd', join(rootfs, 'etc', 'passwd'));
    ownBundle(b);
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    const env = (args: string[]) => (JSON.parse(tsrunIn(b, ['exec', ...args, id, '/probe']).stdout) as ProbeReport).env;
    expect(env([])).toContain(as === 'root' ? 'HOME=/home/u' : 'HOME=/root');
    expect(env(['--user', '0'])).toContain('HOME=/root');
    if (as === 'root') expect(env(['--user', '4242'])).toContain('HOME=/');
    expect(env(['--env', 'HOME=/mine'])).toEqual(expect.arrayContaining(['HOME=/mine']));
    expect(env(['--env', 'HOME=/mine']).filter((e) => e.startsWith('HOME='))).toHaveLength(1);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    const init = probe(as, (c) => {
      c.process = { ...c.process, cwd: '/', env: ['PATH=/bin', 'HOME=/set'] };
    });
    expect(init.env).toEqual(['PATH=/bin', 'HOME=/set']);
    // A masked /etc/passwd is empty to the process: HOME is / (as runc reads it, after the masks).
    const masked = makeBundle(as, (c) => {
      c.linux = { ...c.linux, maskedPaths: [...(c.linux?.maskedPaths ?? []), '/etc/passwd'] };
    });
    mkdirSync(join(masked.dir, 'rootfs', 'etc'));
    writeFileSync(join(masked.dir, 'rootfs', 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    ownBundle(masked);
    expect((JSON.parse(runBundle(masked).stdout) as ProbeReport).env).toContain('HOME=/');
  });

  it('ambient capabilities not also permitted and inheritable are left out, silently, as runc does (runc spec’s default runs)', () => {
    const three = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    const run = (inheritable: string[] | undefined, ambient: string[]) => {
      const r = runBundle(
        makeBundle(as, (c) => {
          c.process = {
            ...c.process,
            cwd: '/',
            capabilities: { bounding: three, effective: three, permitted: three, inheritable, ambient },
          };
        }),
      );
      expect(r.stderr).not.toMatch(/ambient|capabilit/i);
      return JSON.parse(r.stdout) as ProbeReport;
    };
    // `runc spec`: ambient = bounding = effective = permitted, no inheritable set: none can be raised.
    const none = run(undefined, three);
    expect([none.CapAmb, none.CapInh, none.CapPrm]).toEqual(['0'.repeat(16), '0'.repeat(16), capHex(three)]);
    // Of the ambient ones, only those permitted and inheritable.
    const some = run(['CAP_KILL'], [...three, 'CAP_SYS_ADMIN']);
    expect([some.CapAmb, some.CapInh]).toEqual([capHex(['CAP_KILL']), capHex(['CAP_KILL'])]);
  });

  it('process.env: a variable given twice has its first place and its last value (the PATH lookup too); exec and --env alike', () => {
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['probe', 'sleep', '60'], env: ['A=1', 'PATH=/nowhere', 'B=2', 'A=3', 'PATH=/'] };
    });
    const id = uniqueId();
    try {
      const run = tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]);
      expect(run.code, run.stderr).toBe(0);
      const env = (args: string[]) => {
        const r = tsrunIn(b, ['exec', ...args, id, 'probe']);
        expect(r.code, r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as ProbeReport).env;
      };
      expect(env([])).toEqual(['A=3', 'PATH=/', 'B=2', 'HOME=/']);
      expect(env(['--env', 'B=7', '--env', 'C=1', '--env', 'B=8'])).toEqual(['A=3', 'PATH=/', 'B=8', 'C=1', 'HOME=/']);
    } finally {
      expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    }
    const init = probe(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['probe'], env: ['A=1', 'PATH=/nowhere', 'B=2', 'A=3', 'PATH=/'] };
    });
    expect(init.env).toEqual(['A=3', 'PATH=/', 'B=2', 'HOME=/']);
  });

  it('process.env: an entry that is not NAME=VALUE is refused, naming it, before anything is made; exec --env too', () => {
    for (const [entry, problem] of [
      ['NOEQUALS', '"NOEQUALS" is not NAME=VALUE: it has no "=" (write "NOEQUALS=" for an empty value, or remove it)'],
      ['=x', '"=x" is not NAME=VALUE: the name before "=" is empty'],
    ] as const) {
      const b = makeBundle(as, (c) => {
        c.process = { ...c.process, cwd: '/', env: ['PATH=/', entry] };
      });
      const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`tsrun: run: ${join(b.dir, 'config.json')}: process.env[1]: ${problem}\n`);
      expect(existsSync(b.root) ? readdirSync(b.root) : []).toEqual([]);
    }
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '60'] };
    });
    const id = uniqueId();
    try {
      expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
      const r = tsrunIn(b, ['exec', '--env', 'A=1', '--env', 'NOEQ', id, '/probe']);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('exec --env: "NOEQ" is not NAME=VALUE: it has no "="');
    } finally {
      expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    }
  });

  it('hostname, domainname, and no uts namespace leaves the host hostname', () => {
    const r = probe(as, (c) => {
      c.hostname = 'box';
      c.domainname = 'example.test';
    });
    expect([r.hostname, r.domainname]).toEqual(['box', 'example.test']);
    const host = probe(as, (c) => {
      c.hostname = undefined;
      c.linux = { ...c.linux, namespaces: c.linux?.namespaces?.filter((n) => n.type !== 'uts') };
    });
    expect(host.hostname).toBe(require('node:os').hostname());
    expect(host.ns.uts).toBe(hostNs('uts'));
  });
});
