import { appendFileSync, closeSync, openSync } from 'node:fs';
import { UserError } from './errors.js';

export type LogFormat = 'text' | 'json';

/** The --log file cannot be opened: the error goes to stderr only. */
export class LogFileError extends UserError {}

/** Makes the --log file before the command runs (as runc does): engines read it even when nothing was logged. */
export function openLogFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o644));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LogFileError(`--log ${file}: cannot open the log file: ${code} (create its directory, or pass a file this user can write)`);
  }
}

/**
 * Where tsrun reports: stderr for people, and with --log a file engines read. With
 * --log-format json each line is {"level","msg","time"}: containerd shows the msg of the last
 * error line to its user.
 */
export class Logger {
  constructor(
    private readonly file: string | undefined,
    private readonly format: LogFormat,
  ) {}

  /** An error goes to the log file (for engines) and always to stderr. */
  error(msg: string): void {
    this.toFile('error', msg);
    process.stderr.write(`tsrun: ${msg}\n`);
  }

  /** A warning: the operation goes on. */
  warn(msg: string): void {
    this.toFile('warning', msg);
    process.stderr.write(`tsrun: warning: ${msg}\n`);
  }

  private toFile(level: 'error' | 'warning', msg: string): void {
    if (this.file === undefined) return;
    const time = new Date().toISOString();
    const line = this.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    try {
      appendFileSync(this.file, `${line}\n`);
    } catch (err) {
      process.stderr.write(`tsrun: cannot write log file ${this.file}: ${(err as NodeJS.ErrnoException).code}\n`);
    }
  }
}
