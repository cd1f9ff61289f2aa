/**
 * Crash consistency (issue 7): tsrun SIGKILLed at every point of a create (after each report the
 * shim sends, through TSRUN_DEBUG_CRASH_AFTER_REPORTS); `delete --force` then leaves nothing: no
 * state, no process, no cgroup.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { makeBundle, tsrunIn, uniqueId } from '../support/containers.js';
import { asUser, identities } from '../support/tsrun.js';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe.each(identities)('a create killed at every step, as %s', (as) => {
  it('delete --force leaves nothing, whatever step the create died at', () => {
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '30'] };
      c.linux = { ...c.linux, cgroupsPath: as === 'root' ? `/tsrun-spec/crash-${process.pid}` : undefined };
    });
    let completed = false;
    let steps = 0;
    for (let n = 1; n <= 200 && !completed; n++) {
      const id = uniqueId('crash');
      const argv = [inject('tsrunBin'), '--root', b.root, 'create', '--bundle', b.dir, id];
      const env = { ...process.env, TSRUN_DEBUG_CRASH_AFTER_REPORTS: String(n) };
      // Output to a file: a process the dead create left behind would hold a pipe open.
      const log = join(b.dir, `create-${n}.log`);
      const out = openSync(log, 'w+');
      const opts = { env, cwd: b.dir, stdio: ['ignore', out, out] as ('ignore' | number)[] };
      const r =
        as === 'root'
          ? spawnSync(argv[0] as string, argv.slice(1), opts)
          : spawnSync('setpriv', [...asUser().slice(0, -1), `TSRUN_DEBUG_CRASH_AFTER_REPORTS=${n}`, ...asUser().slice(-1), ...argv], opts);
      closeSync(out);
      completed = r.status === 0;
      if (!completed) expect(r.signal, `step ${n}: ${readFileSync(log, 'utf8')}`).toBe('SIGKILL');
      steps = n;
      const state = tsrunIn(b, ['state', id]);
      const pid = state.code === 0 ? (JSON.parse(state.stdout).pid as number) : 0;
      const del = tsrunIn(b, ['delete', '--force', id]);
      expect(del.code, `step ${n}: ${del.stderr}`).toBe(0);
      expect(existsSync(join(b.root, id)), `step ${n}`).toBe(false);
      if (pid > 0) expect(alive(pid), `step ${n}: pid ${pid}`).toBe(false);
      if (as === 'root') expect(existsSync(`/sys/fs/cgroup/pids/tsrun-spec/crash-${process.pid}`), `step ${n}`).toBe(false);
    }
    expect(completed).toBe(true);
    expect(steps).toBeGreaterThan(10); // a create is many reports: every one of them was a crash point
    expect(readdirSync(b.root)).toEqual([]);
  }, 300_000);
});

describe.each(identities)('the init killed between create and start, as %s', (as) => {
  it('start reports a stopped container; state says stopped; delete leaves nothing', async () => {
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '30'] };
    });
    const id = uniqueId();
    expect(tsrunIn(b, ['create', '--bundle', b.dir, id]).code).toBe(0);
    const pid = JSON.parse(tsrunIn(b, ['state', id]).stdout).pid as number;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 250 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
    const start = tsrunIn(b, ['start', id]);
    expect(start.code).toBe(1);
    expect(start.stderr.trim()).toBe('tsrun: start: cannot start a container that is stopped');
    expect(JSON.parse(tsrunIn(b, ['state', id]).stdout)).toMatchObject({ status: 'stopped', pid: 0 });
    expect(tsrunIn(b, ['delete', id]).code).toBe(0);
    expect(readdirSync(b.root)).toEqual([]);
  });
});
