/**
 * systemd socket activation (sd_listen_fds(3)), as runc passes it on: when tsrun was started with
 * LISTEN_FDS meant for its own pid, those fds (from 3 on) go to the container's process ahead of
 * any --preserve-fds, and the process is told with LISTEN_FDS=N and LISTEN_PID=1 (it is pid 1 in
 * its namespace).
 */

/** How many fds socket activation handed to this process (0 when LISTEN_FDS is not for it). */
export function listenFdCount(env: NodeJS.ProcessEnv, pid: number): number {
  const fds = env.LISTEN_FDS;
  if (fds === undefined || !/^\d+$/.test(fds) || env.LISTEN_PID !== String(pid)) return 0;
  return Number(fds);
}

/** What the container's process is told of its listening fds. */
export const activationEnv = (count: number): string[] => [`LISTEN_FDS=${count}`, 'LISTEN_PID=1'];
