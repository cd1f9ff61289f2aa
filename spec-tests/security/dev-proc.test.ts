/**
 * Attacks through /dev and /proc (issue 7): an image's /dev/null that is not the null device
 * (CVE-2025-31133 class), /dev/console and /dev/pts entries that are links (CVE-2025-52565 class),
 * and a procfs write redirected by a mount over its file (CVE-2025-52881 class).
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/spec/config.js';
import { hostMountinfo, makeBundle, ownBundle, type TestBundle, tsrunIn, uniqueId } from '../support/containers.js';
import { fdReceiver } from '../support/host-tools.js';
import { type Identity, identities } from '../support/tsrun.js';

const rootfs = (b: TestBundle) => join(b.dir, 'rootfs');

/** A bundle whose /dev is the image's own (no tmpfs on /dev): what the image put there is what the container gets. */
function imageDevBundle(as: Identity, args: string[], edit: (c: Config) => void = () => {}) {
  const b = makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args };
    c.mounts = (c.mounts ?? []).filter((m) => m.destination !== '/dev');
    edit(c);
  });
  mkdirSync(join(rootfs(b), 'dev'));
  mkdirSync(join(rootfs(b), 'etc'));
  writeFileSync(join(rootfs(b), 'etc', 'victim'), 'untouched');
  symlinkSync('pts/ptmx', join(rootfs(b), 'dev', 'ptmx'));
  return b;
}

/** Runs the bundle with its terminal sent to a receiver; tsrun's result, and what the terminal showed. */
async function runWithConsole(b: TestBundle) {
  ownBundle(b);
  const receiver = await fdReceiver(b.as);
  const r = tsrunIn(b, ['run', '--console-socket', receiver.socket, '--bundle', b.dir, uniqueId()]);
  return { ...r, terminal: await receiver.result() };
}

describe.each(identities)('attacks through /dev and /proc, as %s', (as) => {
  it.each([
    ['a link to a procfs file', (dev: string) => symlinkSync('/proc/sys/kernel/core_pattern', join(dev, 'null'))],
    ['a link to a file of the image', (dev: string) => symlinkSync('/etc/victim', join(dev, 'null'))],
    ['a regular file', (dev: string) => writeFileSync(join(dev, 'null'), 'not the null device')],
  ])("maskedPaths, with the image's /dev/null %s: masked by the real null device", (_what, plant) => {
    const masked = ['/proc/keys', '/proc/timer_list', '/proc/sys/kernel/core_pattern'];
    const b = imageDevBundle(as, ['/probe', 'stat', ...masked], (c) => {
      if (c.linux) c.linux.maskedPaths = masked;
    });
    plant(join(rootfs(b), 'dev'));
    ownBundle(b);
    const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as Record<string, { type: string; major: number; minor: number }>;
    for (const path of masked) expect(seen[path], path).toMatchObject({ type: 'char', major: 1, minor: 3 });
    expect(readFileSync(join(rootfs(b), 'etc', 'victim'), 'utf8')).toBe('untouched');
  });

  it.each([
    ['/dev/console', '/etc/victim'],
    ['/dev/console', '/proc/sys/kernel/core_pattern'],
    ['/dev/console', '/dev/pts/0'],
  ])('%s a link to %s: the pty is not bound through it', async (link, target) => {
    const b = imageDevBundle(as, ['/probe', 'cat', '/proc/self/mountinfo'], (c) => {
      if (c.process) c.process.terminal = true;
    });
    symlinkSync(target, join(rootfs(b), link));
    const before = hostMountinfo();
    const r = await runWithConsole(b);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `tsrun: run: make the process's terminal: ${link} is a symbolic link or not a file: the pty is not bound onto it: ELOOP`,
    );
    expect(readFileSync(join(rootfs(b), 'etc', 'victim'), 'utf8')).toBe('untouched');
    expect(hostMountinfo()).toBe(before);
  });

  it("/dev/pts/N links in the image: the terminal is a pty of the container's own devpts, on /dev/console", async () => {
    const b = imageDevBundle(as, ['/probe', 'tty'], (c) => {
      if (c.process) c.process.terminal = true;
    });
    // What an image could leave under /dev/pts: links to files it wants the runtime to open or bind.
    mkdirSync(join(rootfs(b), 'dev', 'pts'));
    for (let n = 0; n < 8; n++) symlinkSync('/etc/victim', join(rootfs(b), 'dev', 'pts', String(n)));
    writeFileSync(join(rootfs(b), 'dev', 'console'), '');
    const r = await runWithConsole(b);
    expect(r.code, r.stderr).toBe(0);
    const tty = JSON.parse(r.terminal.trim()) as { isatty: number; name: string; console: number };
    expect(tty).toMatchObject({ isatty: 1, console: 1 });
    expect(tty.name).toMatch(/^\/dev\/pts\/\d+$/);
    expect(readFileSync(join(rootfs(b), 'etc', 'victim'), 'utf8')).toBe('untouched');
  });

  // The sysctl's file, and another one of the container's network namespace the attack points it at.
  const sysctlFile = '/proc/sys/net/ipv4/ip_default_ttl';
  const otherFile = '/proc/sys/net/ipv4/tcp_fin_timeout';
  const sysctlBundle = (edit: (c: Config) => void = () => {}) =>
    makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'cat', otherFile] };
      const namespaces = c.linux?.namespaces ?? [];
      // Rootless configs share the host's network namespace; a namespaced sysctl needs its own.
      if (!namespaces.some((n) => n.type === 'network')) namespaces.push({ type: 'network' });
      c.linux = { ...c.linux, namespaces, sysctl: { 'net.ipv4.ip_default_ttl': '77' } };
      edit(c);
    });

  it('a sysctl whose procfs file has another procfs file mounted over it: refused, the other file is not written', () => {
    const b = sysctlBundle((c) => {
      c.mounts = [...(c.mounts ?? []), { destination: sysctlFile, type: 'bind', source: otherFile, options: ['bind'] }];
    });
    const r = tsrunIn(b, ['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'tsrun: run: set sysctl net.ipv4.ip_default_ttl: open /proc/sys/net/ipv4/ip_default_ttl: a mount is in the way: EXDEV',
    );
  });

  it('a sysctl with no mount in its way is written, to its own file only', () => {
    const other = sysctlBundle();
    const r = tsrunIn(other, ['run', '--bundle', other.dir, uniqueId()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('60'); // the kernel's default in a new network namespace
    const own = sysctlBundle((c) => {
      if (c.process) c.process.args = ['/probe', 'cat', sysctlFile];
    });
    expect(tsrunIn(own, ['run', '--bundle', own.dir, uniqueId()]).stdout.trim()).toBe('77');
  });
});
