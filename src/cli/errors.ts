import { SyscallError } from '../linux/errno.js';
import { InvalidDocumentError } from '../spec/validate.js';

/** An error meant for the user: printed as one line `tsrun: <command>: <message>`, exit status 1. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A subcommand whose work belongs to a later milestone, or that the host cannot support. */
export function notSupported(why: string): UserError {
  return new UserError(`not supported (${why})`);
}

/** True for errors whose message is already written for the user (no stack trace needed). */
export function isExpected(err: unknown): err is Error {
  return err instanceof UserError || err instanceof SyscallError || err instanceof InvalidDocumentError;
}

/**
 * The exit status of a subcommand that fails (not its container process): 1, but 255 for `exec`,
 * as runc (engines tell a failed exec from the process's own status by it).
 */
export function failureStatus(command: string | undefined): number {
  return command === 'exec' ? 255 : 1;
}
