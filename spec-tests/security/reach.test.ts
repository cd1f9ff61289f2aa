/**
 * What a container process can reach of the runtime and the host (issue 7): a process tsrun adds
 * with exec, while it is still the shim (CVE-2016-9962 class: ptrace, /proc/PID/exe, CVE-2019-5736
 * class: writing it), and, rootless, the host's cgroups (CVE-2023-25809 class).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeBundle, mounts, type ProbeReport, spawnTsrun, tsrunIn, uniqueId } from '../support/containers.js';
import { identities } from '../support/tsrun.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(identities)('a joining exec, as %s', (as) => {
  it('the container cannot read, write or ptrace an exec process before it runs its program', async () => {
    const execs = 30;
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'snoop', '12'] };
    });
    const id = uniqueId();
    const init = spawnTsrun(b, ['run', '--bundle', b.dir, id]);
    for (let i = 0; i < 100 && tsrunIn(b, ['state', id]).stdout.indexOf('"running"') < 0; i++) await sleep(20);
    // A long PATH keeps each process a while between its last setup step and its exec: the
    // window a ptrace-attach attack aims at.
    const path = [...Array.from({ length: 2000 }, (_, i) => `/no/such/dir/${i}`), '/'].join(':');
    for (let i = 0; i < execs; i++) {
      const r = tsrunIn(b, ['exec', '-d', '--env', `PATH=${path}`, id, 'probe', 'sleep', '2']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await init.exited, init.err()).toBe(0);
    const seen = JSON.parse(init.out()) as { seen: number; exe_read: number; exe_written: number; attached: number };
    expect(seen).toMatchObject({ exe_read: 0, exe_written: 0, attached: 0 });
    // The watcher did see the processes once they ran their program: it was looking.
    expect(seen.seen).toBe(execs);
  });
});

describe("the host's cgroups, as rootless", () => {
  it('the container cannot write to them, nor make its view of them writable', () => {
    const plain = makeBundle('rootless');
    const report = JSON.parse(tsrunIn(plain, ['run', '--bundle', plain.dir, uniqueId()]).stdout) as ProbeReport;
    const cgroupMounts = [...mounts(report.mountinfo)].filter(([point]) => point.startsWith('/sys/fs/cgroup'));
    expect(cgroupMounts.length).toBeGreaterThan(0);
    for (const [point, m] of cgroupMounts) expect(m.options, point).toContain('ro');
    // Every controller the host has, tried from inside: its process list, and the mount made writable.
    const controllers = readdirSync('/sys/fs/cgroup');
    const tries = controllers.flatMap((c) => [
      ['write', `/sys/fs/cgroup/${c}/cgroup.procs`, '1'],
      ['remount-rw', `/sys/fs/cgroup/${c}`],
    ]);
    for (const args of [['remount-rw', '/sys/fs/cgroup'], ...tries]) {
      const b = makeBundle('rootless', (c) => {
        c.process = { ...c.process, cwd: '/', args: ['/probe', ...args] };
      });
      const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
      expect(r.stdout.trim(), args.join(' ')).toMatch(/^(EROFS|EPERM|EACCES|ENOENT)$/);
    }
  });
});
