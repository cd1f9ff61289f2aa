/**
 * Go programs (go-runc, urfave/cli users) pass long flags with one dash: `-no-subreaper`,
 * `-root=/x`. Rewrites those to the two-dash form when the name is one tsrun knows, leaving short
 * flag clusters (`-dt`) and everything after `--` alone.
 */
export function normalizeGoStyleFlags(argv: readonly string[], longNames: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const arg of argv) {
    if (passthrough || arg === '--') {
      passthrough = true;
      out.push(arg);
      continue;
    }
    const m = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(arg);
    out.push(m?.[1] !== undefined && longNames.has(m[1]) ? `-${arg}` : arg);
  }
  return out;
}
