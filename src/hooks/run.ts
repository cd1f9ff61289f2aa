import { spawn } from 'node:child_process';
import { UserError } from '../cli/errors.js';
import type { Hook } from '../spec/config.js';
import { hookEnv } from './env.js';

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** Runs one hook in the runtime namespace: the state JSON on its stdin, its env (hookEnv) and args, its timeout. */
export function runHook(kind: HookKind, hook: Hook, state: string): Promise<void> {
  const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, args, { argv0, env: envObject(hookEnv(hook)), stdio: ['pipe', 'inherit', 'inherit'] });
    let timedOut = false;
    const expire = () => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const timer = hook.timeout ? setTimeout(expire, hook.timeout * 1000) : undefined;
    child.stdin?.on('error', () => {});
    child.stdin?.end(state);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new UserError(`${kind} hook ${hook.path}: ${err.code}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new UserError(`${kind} hook ${hook.path} timed out after ${hook.timeout}s`));
      else if (code === 0) resolve();
      else reject(new UserError(`${kind} hook ${hook.path} ${signal ? `killed by ${signal}` : `exited with status ${code}`}`));
    });
  });
}

/** Runs hooks in order; a failing one is a warning and the rest still run (poststop hooks: runtime.md step 13). */
export async function runHooksWarning(
  kind: HookKind,
  hooks: readonly Hook[] | undefined,
  state: string,
  warn: (msg: string) => void,
): Promise<void> {
  for (const hook of hooks ?? []) await runHook(kind, hook, state).catch((err: Error) => warn(err.message));
}

/** Runs hooks in order; the first failure stops the rest. */
export async function runHooks(kind: HookKind, hooks: readonly Hook[] | undefined, state: string): Promise<void> {
  for (const hook of hooks ?? []) await runHook(kind, hook, state);
}
