import type * as z from 'zod/mini';
import { parseJson } from './json.js';

/** A document that is not valid JSON or does not match its schema; the message names the JSON path. */
export class InvalidDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDocumentError';
  }
}

function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** Describes the first problem zod found: `linux.resources.pids.limit: expected number, received string`. */
export function describeIssues(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid document';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return `${jsonPath(issue.path)}: ${issue.message}${more}`;
}

/** Parses JSON text and checks it against a schema; `what` names the document in messages ("config.json"). */
export function parseDocument<S extends z.ZodMiniType>(schema: S, text: string, what: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (err) {
    throw new InvalidDocumentError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new InvalidDocumentError(`${what}: ${describeIssues(result.error)}`);
  return result.data;
}
