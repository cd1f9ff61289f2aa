import { constants } from 'node:os';

const namesByNumber = new Map<number, string>(Object.entries(constants.errno).map(([name, num]) => [num, name]));

/** The symbolic name of an errno value, e.g. 1 → "EPERM"; unknown values become "errno 123". */
export function errnoName(errno: number): string {
  return namesByNumber.get(errno) ?? `errno ${errno}`;
}

/** A failed libc or kernel call: which call, and its errno. */
export class SyscallError extends Error {
  readonly call: string;
  readonly errno: number;
  readonly code: string;

  constructor(call: string, errno: number, context?: string) {
    const code = errnoName(errno);
    super(context ? `${call} ${context}: ${code}` : `${call}: ${code}`);
    this.name = 'SyscallError';
    this.call = call;
    this.errno = errno;
    this.code = code;
  }
}
