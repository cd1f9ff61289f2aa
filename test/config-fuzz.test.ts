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
import { type Json, mutate, prng } from './support/config-mutations.js';
import { fixtures } from './support/runtime-spec.js';

const CASES = 100_000;
const bundle = mkdtempSync(join(tmpdir(), 'tsrun-fuzz-'));
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

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
