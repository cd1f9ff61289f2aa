/** The environment a hook runs with: its own `env` exactly when given, else tsrun's (as runc and crun do). */
import type { Hook } from '../spec/config.js';

/** name=value entries: the hook's env, or tsrun's own environment when the hook has none. */
export function hookEnv(hook: Pick<Hook, 'env'>, runtimeEnv: NodeJS.ProcessEnv = process.env): string[] {
  if (hook.env !== undefined) return hook.env;
  return Object.entries(runtimeEnv)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`);
}
