/**
 * Config fuzzing (issue 7): mutated config.json documents, seeded from the spec's good fixtures and
 * tsrun's own default configs, through the parse and plan path. Every one must end in a working
 * plan or in an error written for the user; nothing else (a TypeError, a RangeError …) may escape.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isExpected } from '../src/cli/errors.js';
import { buildPlans } from '../src/plan/build.js';
import { configSchema } from '../src/spec/config.js';
import { defaultConfig, rootlessConfig } from '../src/spec/default-config.js';
import { parseDocument } from '../src/spec/validate.js';
import { fixtures } from './support/runtime-spec.js';

const CASES = 100_000;
const bundle = mkdtempSync(join(tmpdir(), 'tsrun-fuzz-'));
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const WEIRD: Json[] = [
  null,
  true,
  0,
  -1,
  2 ** 53 + 1,
  1e308,
  -0.5,
  '',
  '/',
  '..',
  '../../etc',
  'x'.repeat(5000),
  'ünï\u0000code',
  'SCMP_ACT_NOTIFY',
  'CAP_SYS_ADMIN',
  'rw,rbind,rprivate',
  [],
  {},
  [null],
  { type: 'bind' },
];

/** Every path to a value in a document. */
function paths(doc: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (doc === null || typeof doc !== 'object') return [prefix];
  const keys = Array.isArray(doc) ? doc.map((_, i) => i) : Object.keys(doc);
  return [prefix, ...keys.flatMap((k) => paths((doc as Record<string, Json>)[k] as Json, [...prefix, k]))];
}

function mutate(doc: Json, rand: () => number): Json {
  const copy = structuredClone(doc) as Json;
  const all = paths(copy).filter((p) => p.length > 0);
  for (let n = 1 + Math.floor(rand() * 3); n > 0 && all.length > 0; n--) {
    const path = all[Math.floor(rand() * all.length)] as (string | number)[];
    // (An earlier mutation of this round may have taken the path away.)
    const parent = path
      .slice(0, -1)
      .reduce<Json | undefined>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, Json>)[k] : undefined), copy);
    if (parent === null || parent === undefined || typeof parent !== 'object') continue;
    const key = path.at(-1) as string | number;
    const roll = rand();
    const target = parent as Record<string | number, Json>;
    if (roll < 0.3) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete target[key];
    } else if (roll < 0.8) {
      target[key] = structuredClone(WEIRD[Math.floor(rand() * WEIRD.length)] as Json);
    } else if (roll < 0.9 && Array.isArray(target[key])) {
      (target[key] as Json[]).push(...structuredClone(target[key] as Json[]));
    } else {
      target[`x-${Math.floor(rand() * 1e6)}`] = structuredClone(target[key] as Json);
    }
  }
  return copy;
}

describe('config fuzzing', () => {
  it(`${CASES} mutated configs through parse and plan: a plan or a clear error, never a crash`, () => {
    const seeds: Json[] = [
      ...fixtures('config', 'good').map(([, text]) => JSON.parse(text) as Json),
      JSON.parse(JSON.stringify(defaultConfig())) as Json,
      JSON.parse(JSON.stringify(rootlessConfig(1000, 1000))) as Json,
    ];
    const rand = prng(7);
    let planned = 0;
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const doc = mutate(seeds[i % seeds.length] as Json, rand);
      const text = JSON.stringify(doc);
      try {
        const config = parseDocument(configSchema, text, 'config.json');
        buildPlans({
          config,
          bundleDir: bundle,
          rootfs: bundle,
          rootless: i % 2 === 1,
          noPivot: false,
          execFifo: join(bundle, 'exec.fifo'),
          preserveFds: 0,
          relay: false,
          warn: () => {},
        }).container(() => '{}');
        planned++;
      } catch (err) {
        if (!isExpected(err)) throw new Error(`case ${i}: ${(err as Error).stack}\n${text.slice(0, 2000)}`);
        expect((err as Error).message).not.toBe('');
        refused++;
      }
    }
    expect(planned + refused).toBe(CASES);
    expect(planned).toBeGreaterThan(CASES / 100); // enough mutated configs get through to the plan compiler
  }, 600_000);
});
