import { readFileSync } from 'node:fs';

export type RootlessSetting = 'auto' | 'true' | 'false';

const FULL_RANGE = 4294967295;

/**
 * Whether a uid_map text maps every id to itself (0→0 over the full range, in one line or in
 * contiguous ones): the host's ids, so not rootless, whichever namespace holds them (runc's rule).
 */
export function isHostIdMap(text: string): boolean {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  let next = 0;
  for (const [inside, outside, size] of lines) {
    if (inside !== next || outside !== inside || size === undefined || !(size > 0)) return false;
    next += size;
  }
  return next === FULL_RANGE;
}

/** True in the host's user namespace, where uid_map is the identity over the full range. */
export function inInitialUserNamespace(): boolean {
  return isHostIdMap(readFileSync('/proc/self/uid_map', 'utf8'));
}

/**
 * Rootless means tsrun cannot use host-root powers: euid ≠ 0, or uid 0 inside a user namespace
 * that is not the host's (rootless podman runs its runtime that way), or --rootless true.
 */
export function isRootless(setting: RootlessSetting): boolean {
  if (setting !== 'auto') return setting === 'true';
  return process.geteuid?.() !== 0 || !inInitialUserNamespace();
}
