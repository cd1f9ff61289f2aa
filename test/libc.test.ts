import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SyscallError } from '../src/linux/errno.js';
import * as libc from '../src/linux/libc.js';

function syscallError(fn: () => unknown): SyscallError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SyscallError) return err;
    throw err;
  }
  throw new Error('expected a SyscallError');
}

describe('seccomp probes of the running kernel', () => {
  it('tell known filter flags from unknown ones, and available actions from made-up ones', () => {
    expect(libc.seccompFlagsKnown(2)).toBe(true); // SECCOMP_FILTER_FLAG_LOG, Linux 4.14
    expect(libc.seccompFlagsKnown(1 << 20)).toBe(false);
    expect(libc.seccompActionAvailable(0x7fff0000)).toBe(true); // ALLOW
    expect(libc.seccompActionAvailable(0x7fc00000)).toBe(true); // USER_NOTIF, Linux 5.0
    expect(libc.seccompActionAvailable(0x12340000)).toBe(false);
  });
});

describe('libc bindings: the error path', () => {
  it('flock on a closed fd throws SyscallError(flock, EBADF)', () => {
    const err = syscallError(() => libc.flock(987654, libc.LOCK_EX));
    expect([err.call, err.code, err.errno]).toEqual(['flock', 'EBADF', 9]);
    expect(err.message).toBe('flock: EBADF');
  });

  it('pidfd_open of a pid that does not exist throws ESRCH', () => {
    const err = syscallError(() => libc.pidfdOpen(2 ** 22 + 1));
    expect([err.call, err.code]).toEqual(['pidfd_open', 'ESRCH']);
  });

  it('openat2 names the call and the path', () => {
    const err = syscallError(() => libc.openat2('/nonexistent/tsrun', 0n));
    expect(err.message).toBe('openat2 "/nonexistent/tsrun": ENOENT');
  });

  it('openat2 with RESOLVE_NO_SYMLINKS refuses a symlink (ELOOP)', () => {
    const RESOLVE_NO_SYMLINKS = 0x04n;
    expect(syscallError(() => libc.openat2('/proc/self/exe', RESOLVE_NO_SYMLINKS)).code).toBe('ELOOP');
  });

  it('fcntl with a bad command throws EINVAL', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect(syscallError(() => libc.fcntl(fd, 987654, 0)).code).toBe('EINVAL');
    } finally {
      closeSync(fd);
    }
  });
});

describe('libc bindings: the success path', () => {
  it('a sealed memfd refuses writes', () => {
    const fd = libc.memfdCreate('tsrun-test', libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    try {
      writeSync(fd, 'abc');
      libc.fcntl(fd, libc.F_ADD_SEALS, libc.F_SEAL_SEAL | libc.F_SEAL_WRITE | libc.F_SEAL_GROW | libc.F_SEAL_SHRINK);
      expect(libc.fcntl(fd, libc.F_GET_SEALS, 0)).toBe(0xf);
      expect(() => writeSync(fd, 'more')).toThrow(/EPERM/);
      expect(fstatSync(fd).size).toBe(3);
    } finally {
      closeSync(fd);
    }
  });

  it('pidfd_open and openat2 return fds that close', () => {
    for (const fd of [libc.pidfdOpen(process.pid), libc.openat2('/', 0n)]) {
      expect(fd).toBeGreaterThan(2);
      libc.close(fd);
    }
  });

  it('flock takes and releases a lock', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      libc.flock(fd, libc.LOCK_EX | libc.LOCK_NB);
      libc.flock(fd, libc.LOCK_UN);
    } finally {
      closeSync(fd);
    }
  });
});
