/**
 * Differential test against runc (issue 12, "the lasting fix"): the same bundle run by `runc run` and
 * `tsrun run`, as root and as the rootless user, and what the probe sees inside compared field by
 * field; and the CLI's results (exit codes, error presence, state fields) for lifecycle sequences.
 * Every difference fails the test unless allowlist.ts accepts it.
 *
 *   TSRUN_DIFF_SEED=N     the generator's seed (default 20261204; printed with every failure)
 *   TSRUN_DIFF_CASES=N    how many generated cases, root and rootless together (default 480)
 *   TSRUN_DIFF_ONLY=I,J   only these generated cases (to reproduce a failure)
 *   TSRUN_DIFF_REPORT=F   also write every difference seen (accepted or not) as JSON to F
 */
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { identities } from '../support/tsrun.js';
import { ALLOWED, accepted, type Entry, KNOWN_OPEN, NEW } from './allowlist.js';
import { cliSequence, SEQUENCES } from './cli.js';
import { bases } from './configs.js';
import { generate } from './generator.js';
import { type Case, type Difference, runCase } from './harness.js';

const SEED = Number(process.env.TSRUN_DIFF_SEED ?? 20261204);
const CASES = Number(process.env.TSRUN_DIFF_CASES ?? 480);
const ONLY = process.env.TSRUN_DIFF_ONLY?.split(',').map(Number);

/** Every difference seen, by the entry that accepted it (or "not accepted"), for the summary. */
const seen = new Map<string, { count: number; example: string }>();
const all: { case: string; diffs: (Difference & { accepted?: string })[] }[] = [];
/** Cases both runtimes refused (compared only in that): a generator drawing mostly these would test little. */
let bothFailed = 0;
const bothFailedWhy = new Map<string, number>();

function describeCase(c: Case): string {
  const lines = [`case: ${c.name} (as ${c.as})`, `base: ${c.base}`];
  if (c.mutations.length > 0) lines.push(`mutations:\n${c.mutations.map((m) => `  - ${m}`).join('\n')}`);
  if (c.seed !== undefined)
    lines.push(
      `seed ${c.seed}, case ${c.index}; reproduce: TSRUN_DIFF_SEED=${c.seed} TSRUN_DIFF_CASES=${CASES} TSRUN_DIFF_ONLY=${c.index} npx vitest run --project spec spec-tests/differential`,
    );
  return lines.join('\n');
}

const show = (v: string | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v));

/** Fails with a readable diff for whatever no allowlist entry accepts. */
function judge(c: Case, diffs: Difference[]): void {
  const open: Difference[] = [];
  const record: (Difference & { accepted?: string })[] = [];
  for (const d of diffs) {
    const e: Entry | undefined = accepted(d, c, diffs);
    const key = e
      ? e.id
      : `NOT ACCEPTED: ${d.field}${d.field === 'run' ? ` runc ${d.runc?.slice(0, 60)} / tsrun ${d.tsrun?.slice(0, 60)}` : ''}`;
    const s = seen.get(key) ?? { count: 0, example: `${d.field}: runc ${show(d.runc)} / tsrun ${show(d.tsrun)} [${c.name}]` };
    s.count++;
    seen.set(key, s);
    record.push({ ...d, accepted: e?.id });
    if (!e) open.push(d);
  }
  if (record.length > 0) all.push({ case: describeCase(c), diffs: record });
  const text = open.map((d) => `  ${d.field}\n    runc:  ${show(d.runc)}\n    tsrun: ${show(d.tsrun)}`).join('\n');
  expect(open, `runc and tsrun differ:\n${text}\n${describeCase(c)}`).toEqual([]);
}

afterAll(() => {
  const used = new Set(seen.keys());
  const lines = [...seen.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([k, v]) => `  ${String(v.count).padStart(4)}  ${k}   e.g. ${v.example}`);
  const unused = [...ALLOWED, ...KNOWN_OPEN, ...NEW].filter((e) => !used.has(e.id)).map((e) => e.id);
  console.log(
    `differential summary (seed ${SEED}, ${CASES} generated cases; ${bothFailed} cases both runtimes refused):\n${lines.join('\n') || '  no differences'}` +
      `\n  both refused, by tsrun's error: ${[...bothFailedWhy.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([k, n]) => `${n}× ${k}`)
        .join('; ')}` +
      (unused.length > 0 ? `\n  allowlist entries not seen in this run (fixed, or not drawn): ${unused.join(', ')}` : ''),
  );
  if (process.env.TSRUN_DIFF_REPORT) writeFileSync(process.env.TSRUN_DIFF_REPORT, JSON.stringify(all, null, 2));
});

describe.each(identities)('runc and tsrun see the same, as %s', (as) => {
  const fixed: Case[] = bases(as).map((b) => ({
    name: b.name,
    as,
    base: `${b.name} (adapted: ${b.adaptations.join('; ')})`,
    mutations: [],
    config: b.config,
  }));
  it.each(fixed.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    judge(c, (await runCase(c, `f${as[0]}${fixed.indexOf(c)}`)).diffs);
  });

  const generated = generate(SEED, CASES, as, bases(as)).filter((c) => ONLY === undefined || ONLY.includes(c.index ?? -1));
  it.each(generated.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { diffs, seen } = await runCase(c, `g${c.index}`);
    if ('failed' in seen.runc && 'failed' in seen.tsrun) {
      bothFailed++;
      const why = seen.tsrun.failed.replace(/\/tmp\/\S+/g, 'PATH').slice(0, 120);
      bothFailedWhy.set(why, (bothFailedWhy.get(why) ?? 0) + 1);
    }
    judge(c, diffs);
  });

  it.each(SEQUENCES.map((s, i) => [s.name, s, i] as const))('CLI: %s', async (_name, seq, i) => {
    const { c, diffs } = await cliSequence(as, seq, `c${as[0]}${i}`);
    judge(c, diffs);
  });
});
