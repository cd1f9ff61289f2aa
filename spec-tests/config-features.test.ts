import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { Config } from '../src/spec/config.js';
import { hostMountinfo, makeBundle, mounts, ownBundle, type ProbeReport, runBundle, tsrunIn, uniqueId } from './support/containers.js';
import { shellQuote } from './support/host-tools.js';
import { asUser, identities, tsrun } from './support/tsrun.js';

const withArgs = (args: string[]) => (c: Config) => {
  c.process = { ...c.process, cwd: '/', args };
};

describe.each(identities)('config features as %s', (as) => {
  it('hooks: all six kinds run in order, with the state on stdin, in the right namespaces', () => {
    const log = join(makeBundle(as).dir, 'hooks.log');
    writeFileSync(log, '');
    chmodSync(log, 0o666);
    // Host hooks append "<kind> <hostname> <state JSON>"; the hostname tells which uts namespace ran them.
    const hostHook = (kind: string) => ({
      path: '/bin/sh',
      args: ['sh', '-c', `printf '%s %s %s\\n' ${kind} "$(cat /proc/sys/kernel/hostname)" "$(cat)" >> ${log}`],
    });
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'cat', '/dev/shm/started'] };
      c.hooks = {
        prestart: [hostHook('prestart')],
        createRuntime: [hostHook('createRuntime')],
        createContainer: [
          hostHook('createContainer'),
          // Where it runs: in the root filesystem, in the container's mount namespace (mounts made, before pivot_root).
          { path: '/bin/sh', args: ['sh', '-c', `{ pwd; readlink /proc/self/ns/mnt; test -d proc/self && echo proc; } > ${log}.where`] },
        ],
        // startContainer runs in the container: its path resolves there.
        startContainer: [{ path: '/probe', args: ['probe', 'write', '/dev/shm/started', 'startContainer ran'] }],
        poststart: [hostHook('poststart')],
        poststop: [hostHook('poststop')],
      };
    });
    const id = uniqueId();
    const r = runBundle(b, id);
    expect(r.stdout).toBe('startContainer ran');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']);
    const host = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    const fields = (l: string) => ({ host: l.split(' ')[1], state: JSON.parse(l.split(' ').slice(2).join(' ')) });
    expect(fields(lines[0] ?? '').host).toBe(host); // runtime namespace
    expect(fields(lines[2] ?? '').host).toBe('tsrun-test'); // container namespace
    const states = lines.map((l) => fields(l).state);
    expect(states.map((s) => s.status)).toEqual(['creating', 'creating', 'creating', 'running', 'stopped']);
    for (const s of states) expect(s).toMatchObject({ ociVersion: '1.3.0', id, bundle: b.dir });
    expect(states[0].pid).toBeGreaterThan(0);
    expect(readFileSync(`${log}.where`, 'utf8').split('\n')).toEqual([
      join(b.dir, 'rootfs'),
      expect.not.stringMatching(readlinkSync('/proc/self/ns/mnt')),
      'proc',
      '',
    ]);
  });

  it('a failing createRuntime hook stops the create and leaves nothing; a prestart hook times out', () => {
    const marker = join(makeBundle(as).dir, 'poststop-ran');
    const failing = makeBundle(as, (c) => {
      c.hooks = {
        createRuntime: [{ path: '/bin/false' }],
        // The lifecycle goes on to its end: poststop runs after a failed create.
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}`] }],
      };
    });
    const id = uniqueId();
    const r = tsrunIn(failing, ['create', '--bundle', failing.dir, id]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('tsrun: create: createRuntime hook /bin/false exited with status 1');
    expect(tsrunIn(failing, ['state', id]).stderr).toContain('does not exist');
    expect(existsSync(marker)).toBe(true);

    const slow = makeBundle(as, (c) => {
      c.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '5'], timeout: 1 }] };
    });
    const t = tsrunIn(slow, ['run', '--bundle', slow.dir, uniqueId()]);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('prestart hook /bin/sleep timed out after 1s');
  });

  it('a failing poststart hook fails start and stops the container (runtime-spec 1.3); failing poststop hooks warn, the rest run', () => {
    const marker = join(makeBundle(as).dir, 'poststop-ran');
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '30'] };
      c.hooks = {
        poststart: [{ path: '/bin/false' }],
        poststop: [{ path: '/bin/false' }, { path: '/bin/sh', args: ['sh', '-c', `echo >> ${marker}`] }],
      };
    });
    const failure =
      'poststart hook /bin/false exited with status 1: the container was stopped, as runtime-spec 1.3 asks after a failing poststart hook';
    const id = uniqueId();
    expect(tsrunIn(b, ['create', '--bundle', b.dir, id]).code).toBe(0);
    const pid = JSON.parse(tsrunIn(b, ['state', id]).stdout).pid as number;
    const started = tsrunIn(b, ['start', id]);
    expect([started.code, started.stderr.trim()]).toEqual([1, `tsrun: start: ${failure}`]);
    expect(JSON.parse(tsrunIn(b, ['state', id]).stdout).status).toBe('stopped');
    expect(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sleep')).toBe(false);
    expect(existsSync(marker)).toBe(false);
    const deleted = tsrunIn(b, ['delete', id]);
    expect(deleted.code).toBe(0);
    expect(deleted.stderr.trim()).toBe('tsrun: warning: delete: poststop hook /bin/false exited with status 1');
    expect(readFileSync(marker, 'utf8')).toBe('\n');
    // run: the same error, and the container deleted (its poststop hooks ran once more).
    const other = uniqueId();
    const run = tsrunIn(b, ['run', '--bundle', b.dir, other]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`tsrun: run: ${failure}`);
    expect(tsrunIn(b, ['state', other]).stderr).toContain('does not exist');
    expect(readFileSync(marker, 'utf8')).toBe('\n\n');
  });

  it('unknown capability names are skipped with one warning line naming them all (as runc), the known ones applied', () => {
    const b = makeBundle(as, (c) => {
      const caps = (set: string[] | undefined) => [...(set ?? []), 'CAP_FOO', 'CAP_KILL', 'CAP_BAR'];
      const now = c.process?.capabilities ?? {};
      c.process = {
        ...c.process,
        cwd: '/',
        capabilities: {
          bounding: caps(now.bounding),
          effective: caps(now.effective),
          permitted: caps(now.permitted),
          ambient: ['CAP_FOO'],
        },
      };
    });
    const r = runBundle(b);
    expect(r.stderr.trim()).toBe(
      'tsrun: warning: run: process.capabilities: ignoring unknown or unavailable capabilities: CAP_BAR, CAP_FOO',
    );
    const report = JSON.parse(r.stdout) as ProbeReport;
    for (const set of [report.CapBnd, report.CapEff]) expect((BigInt(`0x${set}`) >> 5n) & 1n).toBe(1n); // CAP_KILL
  });

  it("hooks without env get tsrun's own environment; with env, exactly that", () => {
    const out = makeBundle(as).dir;
    const dump = (name: string) => ['sh', '-c', `env | sort > ${join(out, name)}`];
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'exit', '0'] };
      c.hooks = {
        prestart: [{ path: '/bin/sh', args: dump('inherited') }],
        poststop: [{ path: '/bin/sh', args: dump('own'), env: ['ONLY=this'] }],
      };
    });
    // As root tsrun gets a variable of its own here; the rootless user's environment is asUser()'s.
    const wrapper = as === 'root' ? { argv: ['env', 'TSRUN_HOOK_TEST=inherited'], env: process.env } : undefined;
    const r = tsrun(as, ['--root', b.root, 'run', '--bundle', b.dir, uniqueId()], { cwd: b.dir, wrapper });
    expect(r.code, r.stderr).toBe(0);
    const inherited = readFileSync(join(out, 'inherited'), 'utf8').split('\n');
    const expected = as === 'root' ? 'TSRUN_HOOK_TEST=inherited' : `XDG_RUNTIME_DIR=${join(inject('rootlessUser').home, 'xdg')}`;
    expect(inherited).toContain(expected);
    expect(inherited).toContain(`PATH=${as === 'root' ? process.env.PATH : '/usr/bin:/bin'}`);
    // sh adds PWD (and nothing else) to what it is given.
    expect(
      readFileSync(join(out, 'own'), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('PWD=')),
    ).toEqual(['ONLY=this']);
  });

  it("joins a namespace given by path: a second container shares the first one's network and ipc", () => {
    const first = makeBundle(as, withArgs(['/probe', 'sleep', '30']));
    const id = uniqueId();
    const created = tsrunIn(first, ['run', '-d', '--bundle', first.dir, id]);
    expect(created.code, created.stderr).toBe(0);
    const pid = JSON.parse(tsrunIn(first, ['state', id]).stdout).pid;
    const ns = (t: string) => require('node:fs').readlinkSync(`/proc/${pid}/ns/${t}`) as string;
    const second = makeBundle(as, (c) => {
      c.linux = {
        ...c.linux,
        namespaces: [
          ...(c.linux?.namespaces ?? []).filter((n) => n.type !== 'ipc' && n.type !== 'network'),
          { type: 'ipc', path: `/proc/${pid}/ns/ipc` },
          ...(as === 'root' ? [{ type: 'network' as const, path: `/proc/${pid}/ns/net` }] : []),
        ],
      };
      if (as === 'rootless') {
        // Joining namespaces owned by another user namespace needs that user namespace too.
        c.linux.namespaces = [
          ...(c.linux.namespaces ?? []).filter((n) => n.type !== 'user'),
          { type: 'user', path: `/proc/${pid}/ns/user` },
        ];
        c.linux.uidMappings = undefined;
        c.linux.gidMappings = undefined;
      }
    });
    const report = JSON.parse(runBundle(second).stdout) as ProbeReport;
    expect(report.ns.ipc).toBe(ns('ipc'));
    if (as === 'root') expect(report.ns.net).toBe(ns('net'));
    else expect(report.ns.user).toBe(ns('user'));
    expect(tsrunIn(first, ['delete', '--force', id]).code).toBe(0);
  });

  it('refuses a namespace path that is not a namespace file', () => {
    const b = makeBundle(as, (c) => {
      c.linux = {
        ...c.linux,
        namespaces: [...(c.linux?.namespaces ?? []).filter((n) => n.type !== 'ipc'), { type: 'ipc', path: '/etc/hostname' }],
      };
    });
    const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/linux\.namespaces\[\d+\]\.path: \/etc\/hostname is not a namespace file$/);
  });

  it("sysctl in the container's own network namespace", () => {
    const b = makeBundle(as, (c) => {
      withArgs(['/probe', 'cat', '/proc/sys/net/ipv4/ip_forward'])(c);
      if (as === 'rootless') c.linux = { ...c.linux, namespaces: [...(c.linux?.namespaces ?? []), { type: 'network' }] };
      c.linux = { ...c.linux, sysctl: { 'net.ipv4.ip_forward': '1' } };
    });
    expect(runBundle(b).stdout.trim()).toBe('1');
  });

  it('linux.devices: created (root) or bound from the host (rootless), with the default devices', () => {
    const b = makeBundle(as, (c) => {
      withArgs(['/probe', 'stat', '/dev/null', '/dev/zero', '/dev/tty', '/dev/fuse', '/dev/fd', '/dev/ptmx'])(c);
      c.linux = { ...c.linux, devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }] };
    });
    const st = JSON.parse(runBundle(b).stdout);
    expect(st['/dev/null']).toMatchObject({ type: 'char', major: 1, minor: 3 });
    expect(st['/dev/zero']).toMatchObject({ type: 'char', major: 1, minor: 5 });
    expect(st['/dev/tty']).toMatchObject({ type: 'char', major: 5, minor: 0 });
    expect(st['/dev/fuse']).toMatchObject({ type: 'char', major: 10, minor: 229 });
    if (as === 'root') expect(st['/dev/fuse'].mode).toBe(0o600);
    expect(st['/dev/fd'].type).toBe('link');
    expect(st['/dev/ptmx'].type).toBe('link');
  });

  it('linux.devices naming nodes already there: the default devices, /dev/ptmx (a link into devpts all the same), a node the image has', () => {
    const b = makeBundle(as, (c) => {
      withArgs(['/probe', 'stat', '/dev/null', '/dev/tty', '/dev/ptmx', '/dev/fd'])(c);
      c.linux = {
        ...c.linux,
        devices: [
          { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o620 },
          { path: '/dev/null', type: 'c', major: 1, minor: 3 },
          { path: '/dev/ptmx', type: 'c', major: 5, minor: 2 },
        ],
      };
    });
    const st = JSON.parse(runBundle(b).stdout);
    expect(st['/dev/tty']).toMatchObject({ type: 'char', major: 5, minor: 0 });
    if (as === 'root') expect(st['/dev/tty'].mode).toBe(0o620); // the config's node replaced the default one
    expect(st['/dev/null']).toMatchObject({ type: 'char', major: 1, minor: 3 });
    expect(st['/dev/ptmx'].type).toBe('link');
    if (as === 'rootless') return;
    // No /dev mount: the nodes go into the image's /dev, where one already is.
    const image = makeBundle(as, (c) => {
      withArgs(['/probe', 'stat', '/dev/null'])(c);
      c.mounts = c.mounts?.filter((m) => !m.destination.startsWith('/dev'));
      c.root = { path: 'rootfs', readonly: false };
      c.linux = { ...c.linux, devices: [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }] };
    });
    mkdirSync(join(image.dir, 'rootfs', 'dev'));
    execFileSync('mknod', ['-m', '666', join(image.dir, 'rootfs', 'dev', 'null'), 'c', '1', '3']);
    expect(JSON.parse(runBundle(image).stdout)['/dev/null']).toMatchObject({ type: 'char', major: 1, minor: 3 });
  });

  it('a read-only /dev tmpfs: populated first (devices, links, /dev/pts below it), then read-only, keeping its other options', () => {
    const b = makeBundle(as, (c) => {
      withArgs(['/probe', 'write', '/dev/new', 'x'])(c);
      c.mounts = c.mounts?.map((m) => (m.destination === '/dev' ? { ...m, options: [...(m.options ?? []), 'ro'] } : m));
    });
    expect(runBundle(b, uniqueId(), 1).stdout.trim()).toBe('EROFS');
    const probed = makeBundle(as, (c) => {
      withArgs(['/probe'])(c);
      c.mounts = c.mounts?.map((m) => (m.destination === '/dev' ? { ...m, options: [...(m.options ?? []), 'ro'] } : m));
    });
    const m = mounts((JSON.parse(runBundle(probed).stdout) as ProbeReport).mountinfo);
    expect(m.get('/dev')?.options).toEqual(expect.arrayContaining(['ro', 'nosuid']));
    expect(m.get('/dev/pts')?.fstype).toBe('devpts');
  });

  it('a mount destination that is a dangling link: followed inside the root, and what it names is made', () => {
    const outside = `tsrun-dangling-${process.pid}`;
    const b = makeBundle(as, (c) => {
      withArgs(['/probe'])(c);
      c.mounts = [
        ...(c.mounts ?? []),
        { destination: '/etc/x', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
        { destination: '/etc/y', type: 'bind', source: 'config.json', options: ['bind', 'ro'] },
        { destination: '/etc/z', type: 'tmpfs', source: 'tmpfs' },
      ];
    });
    const etc = join(b.dir, 'rootfs', 'etc');
    mkdirSync(etc);
    symlinkSync('../foo/bar/not/here', join(etc, 'x'));
    symlinkSync('/abs/file', join(etc, 'y'));
    symlinkSync(`../../../../../../tmp/${outside}/d`, join(etc, 'z'));
    ownBundle(b);
    const m = mounts((JSON.parse(runBundle(b).stdout) as ProbeReport).mountinfo);
    expect(m.get('/foo/bar/not/here')?.fstype).toBe('tmpfs');
    expect(m.get('/abs/file')?.options).toContain('ro');
    expect(m.get(`/tmp/${outside}/d`)?.fstype).toBe('tmpfs'); // inside the root
    expect(existsSync(`/tmp/${outside}`)).toBe(false);
  });

  it('masked paths, read-only paths, a read-only root, and tmpfs/bind mounts with their options', () => {
    const b = makeBundle(as);
    const shared = join(b.dir, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'f'), 'from the host');
    if (as === 'rootless') require('node:fs').chownSync(shared, inject('rootlessUser').uid, inject('rootlessUser').gid);
    const edit = (args: string[]) => (c: Config) => {
      withArgs(args)(c);
      c.mounts = [
        ...(c.mounts ?? []),
        { destination: '/data', type: 'bind', source: shared, options: ['rbind', 'ro', 'nosuid'] },
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=700', 'noexec'] },
      ];
    };
    const write = (path: string) => runBundle(makeBundleLike(b, edit(['/probe', 'write', path, 'x'])), uniqueId(), 1).stdout.trim();
    expect(write('/newfile')).toBe('EROFS');
    expect(write('/proc/sys/kernel/hostname')).toBe('EROFS');
    expect(write('/data/f')).toBe('EROFS');
    expect(runBundle(makeBundleLike(b, edit(['/probe', 'write', '/scratch/ok', 'x']))).code).toBe(0);
    expect(runBundle(makeBundleLike(b, edit(['/probe', 'cat', '/data/f']))).stdout).toBe('from the host');
    const masked = runBundle(makeBundleLike(b, edit(['/probe', 'cat', '/proc/keys']))).stdout;
    expect(masked).toBe('');
    const m = mounts((JSON.parse(runBundle(makeBundleLike(b, edit(['/probe']))).stdout) as ProbeReport).mountinfo);
    expect(m.get('/data')?.options).toEqual(expect.arrayContaining(['ro', 'nosuid']));
    expect(m.get('/scratch')?.options).toEqual(expect.arrayContaining(['noexec', 'size=1024k', 'mode=700']));
  });

  it('--preserve-fds passes extra descriptors, and no other descriptor of tsrun leaks in', () => {
    const b = makeBundle(as);
    const extra = openSync(join(b.dir, 'config.json'), 'r');
    try {
      const leak = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()], [extra, extra]);
      expect((JSON.parse(leak.stdout) as ProbeReport).fds).toEqual([0, 1, 2]);
      const kept = tsrunIn(b, ['run', '--preserve-fds', '2', '--bundle', b.dir, uniqueId()], [extra, extra]);
      expect((JSON.parse(kept.stdout) as ProbeReport).fds).toEqual([0, 1, 2, 3, 4]);
    } finally {
      closeSync(extra);
    }
  });

  it('socket activation: the LISTEN_FDS given to tsrun for its pid go first, then --preserve-fds; the process is told', () => {
    const b = makeBundle(as);
    const extra = openSync(join(b.dir, 'config.json'), 'r');
    // LISTEN_PID must be tsrun's pid: the shell's own, which every exec down to tsrun keeps.
    const activated = (listenPid: string) => {
      const command = [...(as === 'rootless' ? ['setpriv', ...asUser()] : []), inject('tsrunBin')];
      const args = ['--root', b.root, 'run', '--preserve-fds', '1', '--bundle', b.dir, uniqueId()];
      const line = [...command.slice(0, -1), 'env', `LISTEN_PID=${listenPid}`, 'LISTEN_FDS=2', ...command.slice(-1), ...args]
        .map((w) => (w === 'LISTEN_PID=$$' ? w : shellQuote(w)))
        .join(' ');
      const r = spawnSync('sh', ['-c', `exec ${line}`], {
        cwd: b.dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe', extra, extra, extra],
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as ProbeReport;
    };
    try {
      const mine = activated('$$');
      expect(mine.fds).toEqual([0, 1, 2, 3, 4, 5]);
      expect(mine.env).toEqual(expect.arrayContaining(['LISTEN_FDS=2', 'LISTEN_PID=1']));
      // Meant for another process: not passed on, and only the preserved fd comes in.
      const others = activated('1');
      expect(others.fds).toEqual([0, 1, 2, 3]);
      expect(others.env.filter((e) => e.startsWith('LISTEN_'))).toEqual([]);
    } finally {
      closeSync(extra);
    }
  });

  it('a session keyring of its own, named after the container, unless --no-new-keyring', () => {
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'cat', '/proc/keys'] };
      c.linux = { ...c.linux, maskedPaths: [] };
    });
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '--bundle', b.dir, id]).stdout).toMatch(new RegExp(`keyring\\s+_ses\\.${id}: `));
    const shared = uniqueId();
    expect(tsrunIn(b, ['run', '--no-new-keyring', '--bundle', b.dir, shared]).stdout).not.toContain(`_ses.${shared}`);
  });
});

/** Another bundle over the same rootfs directory layout, for one more run with a different config. */
function makeBundleLike(b: { as: (typeof identities)[number] }, edit: (c: Config) => void) {
  return makeBundle(b.as, edit);
}

describe.each(identities)('config edge cases as %s', (as) => {
  it('without a mount namespace: chroot, mounts in the host under the rootfs, taken down by delete', () => {
    const b = makeBundle(as, (c) => {
      withArgs(['/probe', 'sleep', '30'])(c);
      c.root = { path: 'rootfs' };
      c.linux = {
        ...c.linux,
        namespaces: c.linux?.namespaces?.filter((n) => n.type !== 'mount'),
        maskedPaths: undefined,
        readonlyPaths: undefined,
      };
      c.mounts = [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
      ];
    });
    const id = uniqueId();
    const r = tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]);
    if (as === 'rootless') {
      // An unprivileged user cannot mount in the host's mount namespace at all.
      expect(r.stderr.trim()).toBe(
        'tsrun: run: config.json: mounts needs a mount namespace of the container\'s own (add {"type": "mount"})',
      );
      return;
    }
    expect(r.code, r.stderr).toBe(0);
    const rootfs = join(b.dir, 'rootfs');
    const under = () =>
      hostMountinfo()
        .split('\n')
        .filter((l) => l.split(' ')[4]?.startsWith(`${rootfs}/`));
    expect(under().length).toBe(2);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    expect(under()).toEqual([]);
  });

  it('rootfsPropagation shared: the new root is a shared mount', () => {
    const r = JSON.parse(
      runBundle(
        makeBundle(as, (c) => {
          c.linux = { ...c.linux, rootfsPropagation: 'shared' };
        }),
      ).stdout,
    ) as ProbeReport;
    const root = r.mountinfo.split('\n').find((l) => l.split(' ')[4] === '/');
    expect(root).toMatch(/ shared:\d+ /);
  });

  it.each([
    ['rshared', / shared:\d+ /],
    ['rslave', /^(?!.* shared:)/], // a slave of the host's copy: nothing propagates back
    ['runbindable', / unbindable /],
    ['rprivate', /^[^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ - /],
  ] as const)('rootfsPropagation %s: applied to / and every mount below it', (propagation, expected) => {
    const r = JSON.parse(
      runBundle(
        makeBundle(as, (c) => {
          c.linux = { ...c.linux, rootfsPropagation: propagation };
        }),
      ).stdout,
    ) as ProbeReport;
    const lines = r.mountinfo.split('\n').filter((l) => ['/', '/proc', '/dev'].includes(l.split(' ')[4] ?? ''));
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(expected);
  });

  it('--no-pivot moves the root instead of pivot_root, and leaves no whole procfs of the host to mount a fresh one by', () => {
    const b = makeBundle(as);
    const r = tsrunIn(b, ['run', '--no-pivot', '--bundle', b.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ProbeReport).pid).toBe(1);
    // A nested user namespace may mount a fresh procfs only while a whole one is in its mount namespace: the
    // container's own /proc is masked in places, so only a host procfs left below the moved root would allow it.
    const nested = (noPivot: boolean) => {
      const c = makeBundle(as, withArgs(['/probe', 'mount-proc', '/dev/shm']));
      const r = tsrunIn(c, ['run', ...(noPivot ? ['--no-pivot'] : []), '--bundle', c.dir, uniqueId()]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    expect(nested(false)).toBe('EPERM');
    expect(nested(true)).toBe('EPERM');
  });

  it.each([
    [
      'net devices (not supported yet)',
      (c: Config) => (c.linux = { ...c.linux, netDevices: { eth0: {} } }),
      'linux.netDevices is not supported',
    ],
    ['a missing root', (c: Config) => (c.root = { path: 'nonexistent' }), 'root.path: '],
    [
      'an unknown namespace',
      (c: Config) => (c.linux = { ...c.linux, namespaces: [{ type: 'bogus' as 'pid' }] }),
      'linux.namespaces[0].type',
    ],
    [
      'a namespace listed twice (the cgroup namespace of `tsrun spec` on a unified host, added again)',
      (c: Config) => (c.linux = { ...c.linux, namespaces: [...(c.linux?.namespaces ?? []), { type: 'cgroup' }, { type: 'cgroup' }] }),
      'namespace "cgroup" is listed twice',
    ],
    [
      'the sysctl kernel.hostname (as runc: "hostname" is the field for it)',
      (c: Config) => (c.linux = { ...c.linux, sysctl: { 'kernel.hostname': 'other' } }),
      'linux.sysctl "kernel.hostname" conflicts with the "hostname" field',
    ],
    [
      'a relative mount destination',
      (c: Config) => (c.mounts = [{ destination: 'tmp', type: 'tmpfs', source: 'tmpfs' }]),
      'mounts[0].destination: "tmp" is not an absolute path',
    ],
    [
      'a uid mapping with no user namespace',
      (c: Config) => {
        c.hostname = undefined;
        c.linux = { ...c.linux, namespaces: [{ type: 'mount' }], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] };
      },
      'need a user namespace',
    ],
    [
      'an AppArmor profile on a host without AppArmor',
      (c: Config) => (c.process = { ...c.process, cwd: '/', apparmorProfile: 'docker-default' }),
      'AppArmor is not enabled',
    ],
  ])('refuses %s with one clear line, leaving nothing', (_what, edit, message) => {
    const b = makeBundle(as, edit);
    const id = uniqueId();
    const r = tsrunIn(b, ['create', '--bundle', b.dir, id]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  it('refuses a bad id map, leaving nothing', () => {
    const b = makeBundle(as, (c) => {
      c.hostname = undefined;
      c.linux = {
        ...c.linux,
        namespaces: [...(c.linux?.namespaces ?? []).filter((n) => n.type !== 'user'), { type: 'user' }],
        // Overlapping container ranges: no kernel accepts them.
        uidMappings: [
          { containerID: 0, hostID: 100000, size: 10 },
          { containerID: 5, hostID: 200000, size: 10 },
        ],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 10 }],
      };
    });
    const id = uniqueId();
    const r = tsrunIn(b, ['create', '--bundle', b.dir, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(as === 'root' ? /writing \/proc\/\d+\/uid_map: EINVAL/ : /newuidmap .* failed/);
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  it('refuses an unreadable bundle, leaving nothing', () => {
    const b = makeBundle(as);
    chmodSync(b.dir, 0o000);
    const id = uniqueId();
    try {
      const r = tsrunIn(b, ['create', '--bundle', b.dir, id]);
      if (as === 'rootless') {
        expect(r.code).toBe(1);
        expect(r.stderr.trim()).toMatch(/config\.json: EACCES$/);
      } else {
        // Root reads through mode 000 (CAP_DAC_OVERRIDE): that is a valid bundle for root.
        expect(r.code, r.stderr).toBe(0);
        expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
      }
    } finally {
      chmodSync(b.dir, 0o700);
    }
  });
});

describe('a rootful container in a user namespace', () => {
  /** A user namespace mapping 65536 ids from host uid/gid 300000. */
  const mapped = (c: Config) => {
    c.linux = {
      ...c.linux,
      namespaces: [...(c.linux?.namespaces ?? []), { type: 'user' }],
      uidMappings: [{ containerID: 0, hostID: 300000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 300000, size: 65536 }],
    };
  };

  it('maps many ids, binds devices from the host instead of mknod', () => {
    // The container's root (host uid 300000) must be able to reach its root filesystem.
    const b = makeBundle('root', mapped);
    chmodSync(b.dir, 0o755);
    // A user-namespaced image belongs to the ids it maps to: its root creates its own mount points.
    chownSync(join(b.dir, 'rootfs'), 300000, 300000);
    const r = JSON.parse(runBundle(b).stdout) as ProbeReport;
    expect(r.uid_map.trim().split(/\s+/)).toEqual(['0', '300000', '65536']);
    expect(r.uid).toBe(0);
    expect(mounts(r.mountinfo).get('/dev/null')?.fstype).toBe('devtmpfs');
  });

  it("bind sources are opened with the host root's rights: a directory the mapped root cannot search is still bound", () => {
    const b = makeBundle('root', (c) => {
      mapped(c);
      c.mounts = [
        ...(c.mounts ?? []),
        { destination: '/data', type: 'bind', source: 'private/data', options: ['rbind'] },
        { destination: '/file', type: 'bind', source: 'private/file', options: ['bind', 'ro'] },
      ];
    });
    chmodSync(b.dir, 0o755);
    chownSync(join(b.dir, 'rootfs'), 300000, 300000);
    // Only the host's root may search private/: the container's root (host uid 300000) may not.
    mkdirSync(join(b.dir, 'private', 'data'), { recursive: true, mode: 0o700 });
    chmodSync(join(b.dir, 'private'), 0o700);
    chownSync(join(b.dir, 'private', 'data'), 300000, 300000);
    writeFileSync(join(b.dir, 'private', 'file'), 'secret-free');
    chmodSync(join(b.dir, 'private', 'file'), 0o644);
    const m = mounts((JSON.parse(runBundle(b).stdout) as ProbeReport).mountinfo);
    expect(m.get('/data')).toBeDefined();
    expect(m.get('/file')?.options).toContain('ro');
  });
});

describe('idmapped mounts', () => {
  const userns = (c: Config) => {
    c.linux = {
      ...c.linux,
      namespaces: [...(c.linux?.namespaces ?? []), { type: 'user' }],
      uidMappings: [{ containerID: 0, hostID: 300000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 300000, size: 65536 }],
    };
  };

  it('a host directory owned by root appears owned by the container root, and takes its writes as host root', () => {
    const holder = makeBundle('root').dir;
    chmodSync(holder, 0o755); // the plain bind below is opened as the container's root, host uid 300000
    const shared = join(holder, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    const run = (idmap: boolean, args: string[]) => {
      const b = makeBundle('root', (c) => {
        userns(c);
        c.process = { ...c.process, cwd: '/', args };
        const maps = [{ containerID: 0, hostID: 300000, size: 65536 }];
        c.mounts = [
          ...(c.mounts ?? []),
          {
            destination: '/data',
            type: 'bind',
            source: shared,
            options: ['rbind'],
            ...(idmap ? { uidMappings: maps, gidMappings: maps } : {}),
          },
        ];
      });
      chmodSync(b.dir, 0o755);
      chownSync(join(b.dir, 'rootfs'), 300000, 300000);
      return tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    };
    const first = run(false, ['/probe', 'stat', '/data']);
    expect(first.code, first.stderr).toBe(0);
    const plain = JSON.parse(first.stdout);
    expect(plain['/data'].uid).toBe(65534); // unmapped: nobody
    const mapped = JSON.parse(run(true, ['/probe', 'stat', '/data']).stdout);
    expect(mapped['/data'].uid).toBe(0);
    expect(run(true, ['/probe', 'write', '/data/new', 'x']).code).toBe(0);
    expect(statSync(join(shared, 'new')).uid).toBe(0);
    // Nothing of it is visible on the host.
    expect(hostMountinfo()).not.toContain(shared);
  });

  it('is refused rootless, and for anything but a bind mount', () => {
    const maps = [{ containerID: 0, hostID: 0, size: 1 }];
    const rootless = makeBundle('rootless', (c) => {
      c.mounts = [
        ...(c.mounts ?? []),
        { destination: '/data', type: 'bind', source: '/tmp', options: ['rbind'], uidMappings: maps, gidMappings: maps },
      ];
    });
    expect(tsrunIn(rootless, ['create', '--bundle', rootless.dir, uniqueId()]).stderr).toContain('idmapped mounts need root');
    const tmpfs = makeBundle('root', (c) => {
      userns(c);
      c.mounts = [...(c.mounts ?? []), { destination: '/data', type: 'tmpfs', source: 'tmpfs', uidMappings: maps, gidMappings: maps }];
    });
    expect(tsrunIn(tmpfs, ['create', '--bundle', tmpfs.dir, uniqueId()]).stderr).toContain('only bind mounts can be idmapped');
  });
});
