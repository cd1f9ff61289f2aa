/**
 * The home directory of a user as the container's own /etc/passwd says, read from the host through
 * the container's root without leaving it (a link in the image to a host file resolves inside the
 * root, as it would for the container).
 */
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import * as libc from './libc.js';

/** The passwd entry's home of uid, or undefined when the file or the user is missing. */
export function passwdHome(root: string, uid: number): string | undefined {
  let rootFd: number | undefined;
  let fd: number | undefined;
  try {
    rootFd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
    fd = libc.openat2('etc/passwd', libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS, rootFd);
    for (const line of readFileSync(fd, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 7 && Number(fields[2]) === uid && fields[2] !== '') return fields[5] || undefined;
    }
    return undefined;
  } catch {
    return undefined; // no passwd file (or not a readable one): no home from it
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (rootFd !== undefined) closeSync(rootFd);
  }
}

/**
 * The process's environment with HOME, when it names none: the user's home from the container's
 * passwd (none without a root to read it from), else "/" (what runc and crun give).
 */
export function withHome(env: readonly string[], root: string | undefined, uid: number): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return [...env];
  return [...env, `HOME=${(root !== undefined && passwdHome(root, uid)) || '/'}`];
}
