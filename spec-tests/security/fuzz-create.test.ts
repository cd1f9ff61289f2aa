/**
 * Config fuzzing through the real binary (issue 7): mutated config.json documents, seeded from the
 * configs the spec-tests run, each given to `tsrun create`. Every case ends in a created container
 * (state says so, and delete --force removes it) or in one clear line on stderr and exit 1. After
 * every case nothing is left: no state, no mount under the bundle, no process of the create; and
 * at the end the host's cgroup trees are as they were.
 *
 * root.path is never mutated: a container rooted in a host directory would have tsrun mount there.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/spec/config.js';
import { type Json, mutate, prng } from '../../test/support/config-mutations.js';
import { baseConfig, hostMountinfo, makeBundle, tsrunAsync } from '../support/containers.js';
import { type Identity, identities } from '../support/tsrun.js';

const CASES: Record<Identity, number> = { root: 1400, rootless: 600 };
const WORKERS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The seeds: the plain probe container, and one using more of the config (limits, mounts, sysctls, devices). */
function seeds(as: Identity): Json[] {
  const plain = baseConfig(as);
  plain.process = { ...plain.process, cwd: '/', args: ['/probe', 'exit', '0'] };
  const rich: Config = structuredClone(plain);
  rich.process = {
    ...rich.process,
    cwd: '/tmp',
    env: ['PATH=/', 'A=b'],
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 64, hard: 64 }],
    oomScoreAdj: 100,
    noNewPrivileges: true,
  };
  const namespaces = rich.linux?.namespaces ?? [];
  if (!namespaces.some((n) => n.type === 'network')) namespaces.push({ type: 'network' });
  rich.linux = {
    ...rich.linux,
    namespaces,
    sysctl: { 'net.ipv4.ip_forward': '1' },
    resources: { pids: { limit: 100 }, memory: { limit: 64 << 20 }, cpu: { shares: 512 } },
    // Rootless, a device is the host's node bound in: only paths the host has.
    devices: [{ path: as === 'root' ? '/dev/fuzz-null' : '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666 }],
    maskedPaths: ['/proc/keys', '/proc/timer_list'],
  };
  rich.mounts = [...(rich.mounts ?? []), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'nosuid'] }];
  return [plain, rich].map((c) => JSON.parse(JSON.stringify(c)) as Json);
}

/** A mutated config with the seed's root.path. */
function mutated(seed: Json, rand: () => number): Json {
  const { root, ...rest } = seed as { root: Json };
  return { ...(mutate(rest, rand) as Record<string, Json>), root };
}

/** Live processes whose process group is group. */
function inGroup(group: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === group && fields[0] !== 'Z' && fields[0] !== 'X') out.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** Every cgroup directory of the host's hierarchies. */
function cgroupDirs(dir = '/sys/fs/cgroup', out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      out.push(join(dir, e.name));
      cgroupDirs(join(dir, e.name), out);
    }
  }
  return out;
}

describe.each(identities)('config fuzzing through tsrun create, as %s', (as) => {
  it(`${CASES[as]} mutated configs: a created container or one clear line, and nothing left either way`, async () => {
    const rand = prng(as === 'root' ? 21 : 22);
    const seedDocs = seeds(as);
    const docs = Array.from({ length: CASES[as] }, (_, i) => mutated(seedDocs[i % seedDocs.length] as Json, rand));
    const cgroupsBefore = cgroupDirs();
    let created = 0;
    let refused = 0;
    const worker = async (w: number) => {
      const b = makeBundle(as);
      for (let i = w; i < docs.length; i += WORKERS) {
        const text = JSON.stringify(docs[i]);
        const what = `case ${i}: ${text.slice(0, 1500)}`;
        writeFileSync(join(b.dir, 'config.json'), text);
        const id = `fz${process.pid}-${i}`;
        const r = await tsrunAsync(b, ['create', '--bundle', b.dir, id], { detached: true });
        expect(r.signal, what).toBe(null);
        const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('tsrun: warning:'));
        if (r.code === 0) {
          created++;
          const state = await tsrunAsync(b, ['state', id]);
          expect(JSON.parse(state.stdout).status, what).toBe('created');
          const del = await tsrunAsync(b, ['delete', '--force', id]);
          expect(del.code, `${what}\n${del.stderr}`).toBe(0);
        } else {
          refused++;
          expect(r.code, `${what}\n${r.stderr}`).toBe(1);
          expect(lines, what).toHaveLength(1);
          expect(lines[0], what).toMatch(/^tsrun: create: /);
          expect(lines[0], what).not.toContain('internal error');
        }
        expect(existsSync(b.root) ? readdirSync(b.root) : [], what).toEqual([]);
        expect(hostMountinfo().includes(b.dir), what).toBe(false);
        let left = inGroup(r.pid);
        for (let t = 0; t < 100 && left.length > 0; t++) {
          await sleep(20);
          left = inGroup(r.pid);
        }
        expect(left, what).toEqual([]);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    expect(created + refused).toBe(CASES[as]);
    // Enough mutated configs make real containers for the path past parsing to be exercised.
    expect(created).toBeGreaterThan(CASES[as] / 10);
    // New cgroups where tsrun was told to put these containers: the default /tsrun/<id>, or a cgroupsPath of a case
    // (the host makes cgroups of its own meanwhile, and tests beside this one theirs).
    const paths = docs
      .map((d) => (d as { linux?: { cgroupsPath?: unknown } }).linux?.cgroupsPath ?? '')
      .filter((p) => typeof p === 'string' && p !== '');
    const ours = (d: string) => /\/tsrun\/fz/.test(d) || paths.some((p) => d.endsWith(`/${(p as string).replace(/^\/+/, '')}`));
    expect(cgroupDirs().filter((d) => !cgroupsBefore.includes(d) && ours(d))).toEqual([]);
  }, 1_200_000);
});
