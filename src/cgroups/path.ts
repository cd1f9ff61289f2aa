/** Where a container's cgroup goes: linux.cgroupsPath read as runc reads it, or tsrun's default. */
import { UserError } from '../cli/errors.js';

/**
 * A systemd slice's path in the tree: each dash starts a level below ("user-1000.slice" lives in
 * "user.slice"), as systemd lays slices out.
 */
export function slicePath(slice: string): string {
  if (slice === '' || slice === '-.slice') return '/';
  if (!slice.endsWith('.slice') || slice.includes('/') || slice.includes('--'))
    throw new UserError(`config.json: linux.cgroupsPath: "${slice}" is not a systemd slice name (like system.slice or user-1000.slice)`);
  const parts = slice.slice(0, -'.slice'.length).split('-');
  return `/${parts.map((_, i) => `${parts.slice(0, i + 1).join('-')}.slice`).join('/')}`;
}

/**
 * The container's cgroup path. With --systemd-cgroup, "slice:prefix:name" names the unit
 * <prefix>-<name>.scope in the slice (tsrun places it there through cgroupfs: it does not talk to
 * systemd). Otherwise an absolute path is taken as is, a relative one under base (the root, or
 * a rootless user's delegated cgroup), and no path means <base>/tsrun/<id>.
 */
export function cgroupPath(cgroupsPath: string | undefined, id: string, opts: { systemd: boolean; base: string }): string {
  const value = cgroupsPath ?? '';
  if (value.split('/').includes('..')) throw new UserError(`config.json: linux.cgroupsPath: "${value}" may not contain ".."`);
  if (opts.systemd) {
    const parts = value === '' ? ['', 'tsrun', id] : value.split(':');
    if (parts.length !== 3)
      throw new UserError(`config.json: linux.cgroupsPath: "${value}" is not slice:prefix:name (needed with --systemd-cgroup)`);
    const [slice, prefix, name] = parts as [string, string, string];
    const unit = name.endsWith('.slice') ? name : `${prefix ? `${prefix}-` : ''}${name}.scope`;
    return `${slicePath(slice || 'system.slice').replace(/\/$/, '')}/${unit}`;
  }
  const base = opts.base.replace(/\/$/, '');
  if (value === '') return `${base}/tsrun/${id}`;
  return value.startsWith('/') ? value : `${base}/${value}`;
}
