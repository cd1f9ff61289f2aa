import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'json';

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
