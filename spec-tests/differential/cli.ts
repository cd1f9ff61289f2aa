/**
 * CLI sequences run by both runtimes on identical bundles: per step the exit status (error or not,
 * never the text) and, for `state`, the runtime-spec's state fields (status, pid present, bundle,
 * annotations, id). The two step lists are compared step by step.
 */
import type { Config } from '../../src/spec/config.js';
import type { Identity } from '../support/tsrun.js';
import { bases } from './configs.js';
import {
  type Case,
  type DiffBundle,
  type Difference,
  forceDelete,
  makeDiffBundle,
  RUNTIMES,
  type Runtime,
  removeBundle,
  runtimeCommand,
} from './harness.js';

type Step = [string, string];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctl {
  /** Runs a command against the bundle's state root; the result as the test compares it. */
  run(args: string[]): Promise<string>;
  /** `state`, as its spec fields. */
  state(id: string): Promise<string>;
  b: DiffBundle;
}

function ctl(rt: Runtime, as: Identity, b: DiffBundle): Ctl {
  const raw = (args: string[]) => runtimeCommand(rt, as, ['--root', b.root, ...args], b.dir);
  const run = async (args: string[]) => {
    const o = await raw(args);
    return o.timedOut ? 'timed out' : `exit ${o.code}`;
  };
  const state = async (id: string) => {
    const o = await raw(['state', id]);
    if (o.code !== 0) return `exit ${o.code}`;
    try {
      const s = JSON.parse(o.stdout) as {
        id?: string;
        status?: string;
        pid?: number;
        bundle?: string;
        annotations?: Record<string, string>;
      };
      return `exit 0; id ${s.id === id ? 'same' : s.id}, status ${s.status}, pid ${s.pid && s.pid > 0 ? 'present' : 'absent/0'}, bundle ${
        s.bundle === b.dir ? '<bundle>' : s.bundle
      }, annotations ${JSON.stringify(Object.entries(s.annotations ?? {}).sort())}`;
    } catch {
      return `exit 0, not JSON: ${o.stdout.slice(0, 100)}`;
    }
  };
  return { run, state, b };
}

/** Waits (at most 5 s) until state says stopped; the last state seen. */
async function untilStopped(c: Ctl, id: string): Promise<string> {
  let s = '';
  for (let i = 0; i < 50; i++) {
    s = await c.state(id);
    if (s.includes('status stopped') || !s.startsWith('exit 0')) break;
    await sleep(100);
  }
  return s;
}

export interface Sequence {
  name: string;
  edit: (c: Config) => void;
  steps: (c: Ctl) => Promise<Step[]>;
}

const sleeping = (c: Config) => {
  c.process = { ...(c.process ?? { cwd: '/' }), args: ['/probe', 'sleep', '30'] };
  c.annotations = { 'org.example.diff': 'yes', 'io.kubernetes.cri.container-type': 'container' };
};

export const SEQUENCES: Sequence[] = [
  {
    name: 'missing container',
    edit: sleeping,
    steps: async (c) => [
      ['state missing', await c.run(['state', 'missing'])],
      ['kill missing KILL', await c.run(['kill', 'missing', 'KILL'])],
      ['delete missing', await c.run(['delete', 'missing'])],
      ['delete --force missing', await c.run(['delete', '--force', 'missing'])],
      ['start missing', await c.run(['start', 'missing'])],
    ],
  },
  {
    name: 'create, start, kill, delete',
    edit: sleeping,
    steps: async (c) => {
      const id = c.b.id;
      const s: Step[] = [];
      s.push(['create', await c.run(['create', '--bundle', c.b.dir, id])]);
      s.push(['state (created)', await c.state(id)]);
      s.push(['create again, same id', await c.run(['create', '--bundle', c.b.dir, id])]);
      s.push(['start', await c.run(['start', id])]);
      s.push(['start again', await c.run(['start', id])]);
      s.push(['state (running)', await c.state(id)]);
      s.push(['kill 0 (signal 0, running)', await c.run(['kill', id, '0'])]);
      s.push(['kill 15 (TERM by number; pid 1 ignores it)', await c.run(['kill', id, '15'])]);
      s.push(['kill KILL (running)', await c.run(['kill', id, 'KILL'])]);
      s.push(['state after KILL', await untilStopped(c, id)]);
      s.push(['kill KILL (stopped)', await c.run(['kill', id, 'KILL'])]);
      s.push(['kill --all KILL (stopped)', await c.run(['kill', '--all', id, 'KILL'])]);
      s.push(['delete (stopped)', await c.run(['delete', id])]);
      s.push(['state (deleted)', await c.state(id)]);
      return s;
    },
  },
  {
    name: 'delete of a created container',
    edit: sleeping,
    steps: async (c) => [
      ['create', await c.run(['create', '--bundle', c.b.dir, c.b.id])],
      ['delete without --force (created)', await c.run(['delete', c.b.id])],
      ['state', await c.state(c.b.id)],
    ],
  },
  {
    name: 'delete of a running container',
    edit: sleeping,
    steps: async (c) => [
      ['create', await c.run(['create', '--bundle', c.b.dir, c.b.id])],
      ['start', await c.run(['start', c.b.id])],
      ['kill SIGCONT (by name, with the SIG prefix)', await c.run(['kill', c.b.id, 'SIGCONT'])],
      ['delete without --force (running)', await c.run(['delete', c.b.id])],
      ['delete --force (running)', await c.run(['delete', '--force', c.b.id])],
      ['state', await c.state(c.b.id)],
    ],
  },
  {
    name: 'run: the process exit status',
    edit: (c) => {
      c.process = { ...(c.process ?? { cwd: '/' }), args: ['/probe', 'exit', '3'] };
    },
    steps: async (c) => [['run (probe exit 3)', await c.run(['run', '--bundle', c.b.dir, c.b.id])]],
  },
  {
    name: 'run: a program that is not there',
    edit: (c) => {
      c.process = { ...(c.process ?? { cwd: '/' }), args: ['/nonexistent'] };
    },
    steps: async (c) => [
      ['run (/nonexistent)', await c.run(['run', '--bundle', c.b.dir, c.b.id])],
      ['state after the failed run', await c.state(c.b.id)],
    ],
  },
];

/** Runs a sequence under both runtimes (at the same time), and the step-by-step differences. */
export async function cliSequence(as: Identity, seq: Sequence, tag: string): Promise<{ c: Case; diffs: Difference[] }> {
  const base = bases(as)[0] as NonNullable<ReturnType<typeof bases>[number]>;
  const config = structuredClone(base.config);
  seq.edit(config);
  const c: Case = { name: `CLI: ${seq.name}`, as, base: base.name, mutations: [], config };
  const bundles = { runc: makeDiffBundle(c, 'runc', `${tag}r`), tsrun: makeDiffBundle(c, 'tsrun', `${tag}t`) };
  try {
    const [runc, tsrun] = (await Promise.all(RUNTIMES.map((rt) => seq.steps(ctl(rt, as, bundles[rt]))))) as [Step[], Step[]];
    const diffs: Difference[] = [];
    for (const [k, [step, r]] of runc.entries()) {
      const t = tsrun[k]?.[1];
      if (r !== t) diffs.push({ field: `cli ${seq.name}: ${step}`, runc: r, tsrun: t });
    }
    return { c, diffs };
  } finally {
    for (const rt of RUNTIMES) {
      forceDelete(rt, as, bundles[rt].root, bundles[rt].id);
      removeBundle(bundles[rt]);
    }
  }
}
