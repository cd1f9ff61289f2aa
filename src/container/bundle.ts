import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../cli/errors.js';
import { type Config, configSchema } from '../spec/config.js';
import { parseDocument } from '../spec/validate.js';
import { ociVersionProblem } from '../spec/version.js';

export interface Bundle {
  /** Absolute path of the bundle directory. */
  dir: string;
  config: Config;
}

/** Reads and validates <dir>/config.json; nothing is created when it is refused. */
export function loadBundle(dir: string): Bundle {
  const abs = resolve(dir);
  const file = join(abs, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (is --bundle right? `tsrun spec` writes a default config.json)' : '';
    throw new UserError(`reading ${file}: ${code}${hint}`);
  }
  const config = parseDocument(configSchema, text, file);
  const versionProblem = ociVersionProblem(config.ociVersion);
  if (versionProblem) throw new UserError(`${file}: ociVersion: ${versionProblem}`);
  return { dir: abs, config };
}
