/**
 * process.env as runc reads it: every entry NAME=VALUE (split at the first "="), a name that is
 * not empty, no NUL byte; a name given twice keeps the place of its first entry and the value of
 * its last (runc sets the entries one by one into an empty environment).
 */

/** What is wrong with one environment entry, or undefined when it is a valid NAME=VALUE. */
export function envEntryProblem(entry: string): string | undefined {
  const quoted = JSON.stringify(entry);
  const eq = entry.indexOf('=');
  if (eq < 0) return `${quoted} is not NAME=VALUE: it has no "=" (write ${JSON.stringify(`${entry}=`)} for an empty value, or remove it)`;
  if (eq === 0) return `${quoted} is not NAME=VALUE: the name before "=" is empty`;
  if (entry.includes('\0')) return `${quoted} holds a NUL byte, which an environment entry cannot carry`;
  return undefined;
}

/** The environment the process gets: one entry per name, at its first place, with its last value. */
export function dedupeEnv(env: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    byName.set(eq < 0 ? entry : entry.slice(0, eq), entry);
  }
  return [...byName.values()];
}
