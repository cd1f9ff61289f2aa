/**
 * The file descriptors a caller hands on to a container process beyond stdio (--preserve-fds,
 * socket activation's LISTEN_FDS): fds 3 … 3+N-1 of tsrun. Each must be open before anything is
 * made on the host. Node fills the holes the caller left with its own event-loop fds (epoll,
 * eventfd, first of all), so such an fd in that range is one the caller did not pass either.
 */
import { readlinkSync } from 'node:fs';
import { UserError } from '../cli/errors.js';

/** What an fd of this process is, from its /proc/self/fd link: undefined when it is not open. */
export type FdTarget = string | undefined;

/** The fds of Node's own event loop (never something a caller passes on to a container). */
const EVENT_LOOP_FDS = new Set(['anon_inode:[eventpoll]', 'anon_inode:[eventfd]']);

function target(fd: number): FdTarget {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * The first fd of 3 … 3+count-1 that the caller did not pass, and why; undefined when all are
 * there. lookup: the fd's /proc/self/fd link (a parameter for tests).
 */
export function missingFd(count: number, lookup: (fd: number) => FdTarget = target): { fd: number; why: string } | undefined {
  for (let fd = 3; fd < 3 + count; fd++) {
    const link = lookup(fd);
    if (link === undefined) return { fd, why: 'it is not open (EBADF)' };
    if (EVENT_LOOP_FDS.has(link)) return { fd, why: `it was not passed to tsrun (it is tsrun's own ${link})` };
  }
  return undefined;
}

/** Refuses the command when a passed-on fd is missing; flag names what asked for them, e.g. "--preserve-fds 5". */
export function checkInheritedFds(count: number, flag: string): void {
  const missing = missingFd(count);
  if (missing === undefined) return;
  const last = 2 + count;
  throw new UserError(
    `${flag}: file descriptor ${missing.fd} (of 3 to ${last}) cannot be passed to the container: ${missing.why}; ` +
      `open fds 3 to ${last} in the process that runs tsrun, or pass a smaller number`,
  );
}
