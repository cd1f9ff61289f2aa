import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../cli/errors.js';

function usableRuntimeDir(dir: string): boolean {
  try {
    const st = statSync(dir);
    accessSync(dir, constants.W_OK | constants.X_OK);
    return st.isDirectory() && st.uid === process.geteuid?.();
  } catch {
    return false;
  }
}

/** The state root: --root, else /run/tsrun as root, else $XDG_RUNTIME_DIR/tsrun (or /run/user/UID/tsrun). */
export function stateRoot(flag: string | undefined, rootless: boolean): string {
  if (flag !== undefined && flag !== '') return flag;
  if (!rootless) return '/run/tsrun';
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg) return join(xdg, 'tsrun');
  const fallback = `/run/user/${process.geteuid?.()}`;
  if (usableRuntimeDir(fallback)) return join(fallback, 'tsrun');
  throw new UserError(
    'rootless: XDG_RUNTIME_DIR is not set and /run/user/UID is not usable: set XDG_RUNTIME_DIR to a private directory you own, or pass --root DIR',
  );
}
