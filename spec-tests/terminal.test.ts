/**
 * Terminals and fd sockets: process.terminal with a console socket (the pty master sent over it),
 * in the foreground without one (the caller's terminal, here a pty made by script(1)), exec -t,
 * and --pidfd-socket. The receiving end is the probe's fd-receiver, run on the host as the same user.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { Config } from '../src/spec/config.js';
import { makeBundle, type TestBundle, tsrunIn, uniqueId } from './support/containers.js';
import { fdReceiver, inTerminal } from './support/host-tools.js';
import { asUser, type Identity, identities } from './support/tsrun.js';

/** Runs tsrun in a pty of its own, that terminal sized rows×cols; its output and status. */
function tsrunInTerminal(b: TestBundle, args: string[], size = '40 120') {
  const [rows, cols] = size.split(' ');
  const argv = [...(b.as === 'rootless' ? ['setpriv', ...asUser()] : []), inject('tsrunBin'), '--root', b.root, ...args];
  return inTerminal(argv, { cwd: b.dir, setup: `stty rows ${rows} cols ${cols}` });
}

function bundle(as: Identity, args: string[], edit: (c: Config) => void = () => {}) {
  return makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args, terminal: true, consoleSize: { height: 33, width: 101 } };
    edit(c);
  });
}

const TTY = { isatty: 1, name: '/dev/pts/0', leader: 1, ctty: 1 };

/** Rootless: the user's own id as 0 and its subordinate ranges above (newuidmap/newgidmap), so 1000 exists. */
function subordinateMaps() {
  const user = inject('rootlessUser');
  const range = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user.name}:`))
      ?.split(':') ?? [];
  const map = (own: number, file: string) => [
    { containerID: 0, hostID: own, size: 1 },
    { containerID: 1, hostID: Number(range(file)[1]), size: 65536 },
  ];
  return { uidMappings: map(user.uid, '/etc/subuid'), gidMappings: map(user.gid, '/etc/subgid') };
}

describe.each(identities)('terminals, as %s', (as) => {
  it('--console-socket: the pty master goes to the socket; the process has the pty as its controlling terminal and /dev/console', async () => {
    const r = await fdReceiver(as);
    const b = bundle(as, ['/probe', 'tty']);
    const id = uniqueId();
    const run = tsrunIn(b, ['run', '-d', '--console-socket', r.socket, '--bundle', b.dir, id]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse((await r.result()).trim())).toEqual({ ...TTY, rows: 33, cols: 101, console: 1 });
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('in the foreground without a console socket, the caller’s terminal: its size, its input and output, the exit status', async () => {
    const b = bundle(as, ['/probe', 'tty']);
    const r = await tsrunInTerminal(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.trim())).toEqual({ ...TTY, rows: 40, cols: 120, console: 1 });
    const exit = bundle(as, ['/probe', 'exit', '3']);
    const exited = await tsrunInTerminal(exit, ['run', '--bundle', exit.dir, uniqueId()]);
    expect(exited.code, exited.out).toBe(3);
  });

  it('exec -t: with a console socket, and in the foreground', async () => {
    const b = bundle(as, ['/probe', 'sleep', '30'], (c) => {
      if (c.process) c.process.terminal = false;
    });
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
    const r = await fdReceiver(as);
    expect(tsrunIn(b, ['exec', '-t', '-d', '--console-socket', r.socket, id, '/probe', 'tty']).code).toBe(0);
    expect(JSON.parse((await r.result()).trim())).toMatchObject(TTY);
    const fg = await tsrunInTerminal(b, ['exec', '-t', id, '/probe', 'tty'], '20 80');
    expect(JSON.parse(fg.out.trim())).toEqual({ ...TTY, rows: 20, cols: 80, console: 0 });
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('the pty belongs to the process user, its group kept, as runc gives it (run, and exec -t --user)', async () => {
    const mapped = (c: Config) => {
      if (as === 'rootless') c.linux = { ...c.linux, ...subordinateMaps() };
    };
    const b = bundle(as, ['/probe', 'stat', '/dev/pts/0', '/dev/console'], (c) => {
      if (c.process) c.process.user = { uid: 1000, gid: 1000 };
      mapped(c);
    });
    // The devpts mount's gid=5 (tty) as root; `tsrun spec --rootless` has no gid=, so the opener's group 0.
    const pty = { type: 'char', mode: 0o620, major: 136, minor: 0, uid: 1000, gid: as === 'root' ? 5 : 0 };
    const r = await fdReceiver(as);
    const id = uniqueId();
    try {
      const run = tsrunIn(b, ['run', '-d', '--console-socket', r.socket, '--bundle', b.dir, id]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse((await r.result()).trim())).toEqual({ '/dev/pts/0': pty, '/dev/console': pty });
    } finally {
      expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    }
    const sleeping = bundle(as, ['/probe', 'sleep', '30'], (c) => {
      if (c.process) c.process.terminal = false;
      mapped(c);
    });
    const e = await fdReceiver(as);
    const running = uniqueId();
    try {
      expect(tsrunIn(sleeping, ['run', '-d', '--bundle', sleeping.dir, running]).code).toBe(0);
      const exec = ['exec', '-t', '-d', '--user', '1000:1000', '--console-socket', e.socket, running, '/probe', 'stat', '/dev/pts/0'];
      const x = tsrunIn(sleeping, exec);
      expect(x.code, x.stderr).toBe(0);
      expect(JSON.parse((await e.result()).trim())).toEqual({ '/dev/pts/0': pty });
    } finally {
      expect(tsrunIn(sleeping, ['delete', '--force', running]).code).toBe(0);
    }
  });

  it('a detached terminal needs a console socket; a console socket needs a terminal', () => {
    const b = bundle(as, ['/probe']);
    const r = tsrunIn(b, ['run', '-d', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('tsrun: run: process.terminal is true: a detached process needs --console-socket to hand its terminal to');
    const plain = bundle(as, ['/probe'], (c) => {
      if (c.process) c.process.terminal = false;
    });
    const p = tsrunIn(plain, ['create', '--console-socket', join(plain.dir, 'x.sock'), '--bundle', plain.dir, uniqueId()]);
    expect(p.stderr.trim()).toBe('tsrun: create: --console-socket is given, and process.terminal is false: there is no terminal to send');
    expect(existsSync(plain.root) ? readdirSync(plain.root) : []).toEqual([]);
  });

  it('--pidfd-socket: a pidfd of the init (create) and of an exec’d process goes to the socket', async () => {
    const b = bundle(as, ['/probe', 'sleep', '30'], (c) => {
      if (c.process) c.process.terminal = false;
    });
    const id = uniqueId();
    const r = await fdReceiver(as);
    expect(tsrunIn(b, ['create', '--pidfd-socket', r.socket, '--bundle', b.dir, id]).code).toBe(0);
    expect(Number(await r.result())).toBe(JSON.parse(tsrunIn(b, ['state', id]).stdout).pid);
    const e = await fdReceiver(as);
    const pidFile = join(b.dir, 'exec.pid');
    expect(tsrunIn(b, ['exec', '-d', '--pid-file', pidFile, '--pidfd-socket', e.socket, id, '/probe', 'sleep', '30']).code).toBe(0);
    expect(Number(await e.result())).toBe(Number(readFileSync(pidFile, 'utf8')));
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });
});
