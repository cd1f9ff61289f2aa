/** What the running kernel's seccomp supports: checked before a create, and reported by `tsrun features`. */
import { release } from 'node:os';
import { UserError } from '../cli/errors.js';
import { seccompActionAvailable, seccompFlagsKnown } from '../linux/libc.js';
import type { seccompActions, seccompFlags } from '../spec/config.js';
import { actionValue, FLAG_BITS, SECCOMP_FILTER_FLAG_NEW_LISTENER, type Seccomp } from './compile.js';

type Flag = (typeof seccompFlags)[number];
type Action = (typeof seccompActions)[number];

const SECCOMP_RET_ACTION_FULL = 0xffff0000;

export function kernelKnowsFlag(flag: Flag): boolean {
  // The kernel accepts WAIT_KILLABLE_RECV only beside NEW_LISTENER.
  const extra = flag === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  return seccompFlagsKnown(FLAG_BITS[flag] | extra);
}

export function kernelHasAction(action: Action): boolean {
  return seccompActionAvailable((actionValue(action, 0) & SECCOMP_RET_ACTION_FULL) >>> 0);
}

/** Refuses a profile whose flags or actions this kernel does not have, naming them. */
export function checkKernelSupport(seccomp: Seccomp): void {
  for (const flag of seccomp.flags ?? []) {
    if (!kernelKnowsFlag(flag))
      throw new UserError(`config.json: linux.seccomp.flags: this kernel (${release()}) does not support ${flag}; remove it`);
  }
  const actions = new Set([seccomp.defaultAction, ...(seccomp.syscalls ?? []).map((rule) => rule.action)]);
  for (const action of actions) {
    if (!kernelHasAction(action)) throw new UserError(`config.json: linux.seccomp: this kernel (${release()}) does not support ${action}`);
  }
}
