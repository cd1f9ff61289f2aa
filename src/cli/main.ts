import { type Command, CommanderError } from 'commander';
import { versionText } from '../version.js';
import { normalizeGoStyleFlags } from './argv.js';
import { failureStatus, isExpected } from './errors.js';
import { LogFileError, type LogFormat, Logger, openLogFile } from './log.js';
import { buildProgram, longFlagNames } from './program.js';

/** The subcommand named on the command line, for the "tsrun: <command>: …" prefix of errors. */
function subcommandOf(program: Command, argv: readonly string[]): string | undefined {
  const names = new Set(program.commands.map((c) => c.name()));
  return argv.find((a) => names.has(a));
}

/** A logger for errors raised before or outside a subcommand's own context (stderr only when the log file is the problem). */
function loggerFor(program: Command, err?: unknown): Logger {
  const opts = program.opts<{ log?: string; logFormat?: LogFormat }>();
  return new Logger(err instanceof LogFileError ? undefined : opts.log, opts.logFormat ?? 'text');
}

export async function main(rawArgv: readonly string[]): Promise<number> {
  const program = buildProgram(versionText());
  const all = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(all)];
  for (const cmd of all(program)) cmd.exitOverride().configureOutput({ outputError: () => {} });
  program.hook('preAction', () => {
    const log = program.opts<{ log?: string }>().log;
    if (log !== undefined) openLogFile(log);
  });
  const argv = normalizeGoStyleFlags(rawArgv, longFlagNames(program));
  const command = subcommandOf(program, argv);
  const prefix = command ? `${command}: ` : '';
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      loggerFor(program).error(`${prefix}${err.message.replace(/^error: /, '')} (see tsrun ${command ?? ''} --help)`.replace('  ', ' '));
      return 1;
    }
    const logger = loggerFor(program, err);
    if (isExpected(err)) {
      logger.error(`${prefix}${err.message}`);
    } else {
      logger.error(`${prefix}internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (program.opts().debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    }
    return failureStatus(command);
  }
}
