import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownV2CgroupPath } from '../src/cgroups/detect.js';
import { processStartTime } from '../src/container/status.js';
import { missingFd } from '../src/linux/inherited-fds.js';
import { isHostIdMap } from '../src/linux/rootless.js';
import { subIdRanges } from '../src/linux/subid.js';

describe('subordinate id files', () => {
  const text = 'alice:100000:65536\n1001:300000:1000\nbob:200000:65536\nbroken\nalice:500000:0\n';
  it('finds ranges by name and by uid, skipping malformed and empty ones', () => {
    expect(subIdRanges(text, 'alice', 1001)).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 1000 },
    ]);
    expect(subIdRanges(text, 'carol', 1002)).toEqual([]);
  });
});

describe('cgroup v2 path of a process', () => {
  it('reads the 0:: line', () => {
    expect(ownV2CgroupPath('12:pids:/x\n0::/user.slice/user-1000.slice\n')).toBe('/user.slice/user-1000.slice');
    expect(ownV2CgroupPath('12:pids:/x\n')).toBeUndefined();
  });
});

describe('process start time', () => {
  it('is stable for a live process, and gone once it is reaped', async () => {
    const child = spawn('sleep', ['10'], { stdio: 'ignore' });
    const pid = child.pid ?? 0;
    const start = processStartTime(pid);
    expect(start).toBeGreaterThan(0);
    expect(processStartTime(pid)).toBe(start);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(processStartTime(pid)).toBeUndefined();
  });

  it('parses a comm that holds spaces and parentheses', () => {
    // comm comes from the executed file's name: run sleep through a link named "a) b (c".
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-comm-'));
    const link = join(dir, 'a) b (c');
    symlinkSync('/bin/sleep', link);
    const child = spawn(link, ['10'], { stdio: 'ignore' });
    const pid = child.pid ?? 0;
    try {
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(a) b (c)');
      const start = processStartTime(pid);
      expect(start).toBeGreaterThan(0);
      expect(start).toBe(processStartTime(pid));
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true });
    }
  });
});

describe('fds passed on to a container (--preserve-fds)', () => {
  const fds = (links: Record<number, string>) => (fd: number) => links[fd];
  it("are all there, or the first missing one is named: not open, or one of tsrun's own event-loop fds", () => {
    expect(missingFd(0, fds({}))).toBeUndefined();
    expect(missingFd(2, fds({ 3: '/dev/null', 4: 'pipe:[1]' }))).toBeUndefined();
    expect(missingFd(3, fds({ 3: '/dev/null', 4: 'pipe:[1]' }))).toEqual({ fd: 5, why: 'it is not open (EBADF)' });
    expect(missingFd(2, fds({ 3: 'anon_inode:[eventpoll]', 4: 'pipe:[1]' }))?.fd).toBe(3);
    expect(missingFd(2, fds({ 3: 'socket:[9]', 4: 'anon_inode:[eventfd]' }))?.why).toContain("tsrun's own anon_inode:[eventfd]");
  });
});

describe('uid maps that are the host ids (not rootless)', () => {
  it.each([
    ['0 0 4294967295', true],
    ['         0          0 4294967295\n', true],
    ['0 0 1000\n1000 1000 4294966295', true],
    ['1000 1000 4294966295\n0 0 1000', true],
    ['0 0 4294967294', false],
    ['0 1000 1', false],
    ['0 1000 1\n1 100000 65536', false],
    ['0 0 1000\n1000 2000 4294966295', false],
    ['', false],
  ])('%j → %s', (text, expected) => {
    expect(isHostIdMap(text)).toBe(expected);
  });
});
