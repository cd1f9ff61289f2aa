/**
 * Mutations of config.json documents for the fuzz tests (issue 7): a seeded random source, and a
 * mutator that deletes values, replaces them with hostile ones, doubles arrays and adds unknown keys.
 */

/** A small deterministic random source (mulberry32): the same seed, the same cases. */
export function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

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

/** A copy of doc with one to three random mutations. */
export function mutate(doc: Json, rand: () => number): Json {
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
