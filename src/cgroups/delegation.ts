/** The cgroup v2 subtree an unprivileged user may manage: its own cgroup, when it can write there. */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownV2CgroupPath } from './detect.js';
import { UNIFIED_ROOT } from './select.js';

/**
 * The user's delegated cgroup (e.g. a systemd user slice with Delegate=yes): tsrun's own v2
 * cgroup, if this user can create cgroups in it and move processes out of it. Undefined when not.
 */
export function delegatedCgroup(procSelfCgroup = readFileSync('/proc/self/cgroup', 'utf8')): string | undefined {
  const own = ownV2CgroupPath(procSelfCgroup);
  if (own === undefined) return undefined;
  const dir = join(UNIFIED_ROOT, own);
  try {
    accessSync(dir, constants.W_OK);
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
  } catch {
    return undefined;
  }
  return own;
}
