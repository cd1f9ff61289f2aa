import { readFileSync } from 'node:fs';

export type RootlessSetting = 'auto' | 'true' | 'false';

/** True in the host's user namespace, where uid_map is the identity over the full range. */
export function inInitialUserNamespace(): boolean {
  const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
  return map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
}

/**
 * Rootless means tsrun cannot use host-root powers: euid ≠ 0, or uid 0 inside a user namespace
 * that is not the host's (rootless podman runs its runtime that way), or --rootless true.
 */
export function isRootless(setting: RootlessSetting): boolean {
  if (setting !== 'auto') return setting === 'true';
  return process.geteuid?.() !== 0 || !inInitialUserNamespace();
}
