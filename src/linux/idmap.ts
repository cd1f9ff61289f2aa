import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { UserError } from '../cli/errors.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

const format = (maps: readonly IdMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');

function writeMap(pid: number, file: string, content: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, content);
  } catch (err) {
    throw new UserError(`writing /proc/${pid}/${file}: ${(err as NodeJS.ErrnoException).code} (mapping ${JSON.stringify(content.trim())})`);
  }
}

function helper(tool: string, pid: number, maps: readonly IdMapping[], idsFile: string): void {
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.error) throw new UserError(`${tool}: ${(r.error as NodeJS.ErrnoException).code} (install uidmap: it maps more than your own id)`);
  if (r.status !== 0) {
    throw new UserError(
      `${tool} ${args.join(' ')} failed: ${r.stderr.trim() || `exit status ${r.status}`} (are the ranges in ${idsFile}?)`,
    );
  }
}

const isSelfOnly = (maps: readonly IdMapping[], own: number) => maps.length === 1 && maps[0]?.hostID === own && maps[0]?.size === 1;

/**
 * Gives the container's new user namespace its id maps. Host root writes them directly; a user
 * maps only itself directly (after denying setgroups, as the kernel requires), and anything wider
 * through the setuid newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
 */
export function writeIdMaps(pid: number, uidMaps: readonly IdMapping[], gidMaps: readonly IdMapping[]): void {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  if (euid === 0) {
    writeMap(pid, 'uid_map', format(uidMaps));
    writeMap(pid, 'gid_map', format(gidMaps));
    return;
  }
  if (isSelfOnly(uidMaps, euid)) writeMap(pid, 'uid_map', format(uidMaps));
  else helper('newuidmap', pid, uidMaps, '/etc/subuid');
  if (isSelfOnly(gidMaps, egid)) {
    writeMap(pid, 'setgroups', 'deny');
    writeMap(pid, 'gid_map', format(gidMaps));
  } else helper('newgidmap', pid, gidMaps, '/etc/subgid');
}
