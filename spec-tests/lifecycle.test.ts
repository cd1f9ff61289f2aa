import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { specValidator } from '../test/support/runtime-spec.js';
import { hostMountinfo, makeBundle, spawnTsrun, type TestBundle, tsrunIn, uniqueId } from './support/containers.js';
import { asUser, identities } from './support/tsrun.js';

const sleeping = (as: (typeof identities)[number]) =>
  makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '30'] };
  });

function state(b: TestBundle, id: string) {
  const r = tsrunIn(b, ['state', id]);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  const validate = specValidator('state-schema.json');
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc as { status: string; pid: number; id: string; bundle: string };
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(identities)('lifecycle as %s', (as) => {
  it('create → created (init waiting), start → running, kill → stopped, delete → gone', async () => {
    const b = sleeping(as);
    const id = uniqueId();
    const pidFile = join(b.dir, 'init.pid');
    const created = tsrunIn(b, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
    expect(created.code, created.stderr).toBe(0);
    const s1 = state(b, id);
    expect(s1).toMatchObject({ id, status: 'created', bundle: b.dir });
    expect(readFileSync(pidFile, 'utf8')).toBe(String(s1.pid));
    expect(alive(s1.pid)).toBe(true);
    // The init waits on the exec FIFO: the user program has not run yet.
    expect(readFileSync(`/proc/${s1.pid}/cmdline`, 'utf8')).not.toContain('sleep');
    expect(tsrunIn(b, ['list', '--format', 'json']).stdout).toContain(`"status":"created"`);
    expect(tsrunIn(b, ['kill', id, '0']).code).toBe(0); // signal 0: the init is there

    expect(tsrunIn(b, ['start', id]).code).toBe(0);
    expect(state(b, id).status).toBe('running');
    const zero = tsrunIn(b, ['kill', id, '0']);
    expect([zero.code, zero.stderr]).toEqual([0, '']);
    expect(state(b, id).status).toBe('running');
    expect(readFileSync(`/proc/${s1.pid}/cmdline`, 'utf8')).toBe('/probe\0sleep\x0030\0');
    const again = tsrunIn(b, ['start', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('cannot start a container that is running');

    // delete refuses a running container and changes nothing.
    const refused = tsrunIn(b, ['delete', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('that is running');
    expect(state(b, id).status).toBe('running');

    // (TERM would be ignored: the init of a pid namespace gets no default signal actions.)
    expect(tsrunIn(b, ['kill', id, 'KILL']).code).toBe(0);
    await until(() => !alive(s1.pid), 'the init to die');
    expect(state(b, id)).toMatchObject({ status: 'stopped', pid: 0 });
    const late = tsrunIn(b, ['kill', id, 'KILL']);
    expect(late.code).toBe(1);
    expect(late.stderr.trim()).toBe(`tsrun: kill: container "${id}" is stopped: container not running`);
    // Signal 0 only asks whether the init is there (runc: exit 1 once it is gone); --all of a stopped
    // container does nothing and succeeds (runc 1.1: engines send it while cleaning up).
    expect(tsrunIn(b, ['kill', id, '0']).code).toBe(1);
    for (const signal of ['KILL', '0']) {
      const all = tsrunIn(b, ['kill', '--all', id, signal]);
      expect([all.code, all.stderr], signal).toEqual([0, '']);
    }

    expect(tsrunIn(b, ['delete', id]).code).toBe(0);
    expect(tsrunIn(b, ['state', id]).stderr).toContain('does not exist');
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  it('kill takes signal names and numbers; kill --all reaches every process; delete --force stops a running container', async () => {
    const b = sleeping(as);
    const id = uniqueId();
    expect(tsrunIn(b, ['run', '--detach', '--bundle', b.dir, id]).code).toBe(0);
    const { pid } = state(b, id);
    for (const bad of ['NOPE', '65', '99']) expect(tsrunIn(b, ['kill', id, bad]).stderr).toContain('invalid signal');
    expect(tsrunIn(b, ['kill', id, 'SIGCONT']).code).toBe(0);
    expect(tsrunIn(b, ['kill', id, '18']).code).toBe(0);
    expect(tsrunIn(b, ['kill', '--all', id, 'KILL']).code).toBe(0);
    await until(() => !alive(pid), 'kill --all');
    expect(tsrunIn(b, ['delete', id]).code).toBe(0);

    const id2 = uniqueId();
    expect(tsrunIn(b, ['run', '-d', '--bundle', b.dir, id2]).code).toBe(0);
    const pid2 = state(b, id2).pid;
    expect(tsrunIn(b, ['delete', '--force', id2]).code).toBe(0);
    expect(alive(pid2)).toBe(false);
    expect(existsSync(join(b.root, id2))).toBe(false);
  });

  it('delete of a created (never started) container fails without --force (runtime-spec), and leaves it; with --force it goes', () => {
    const b = sleeping(as);
    const id = uniqueId();
    expect(tsrunIn(b, ['create', '--bundle', b.dir, id]).code).toBe(0);
    const { pid } = state(b, id);
    const refused = tsrunIn(b, ['delete', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`tsrun: delete: cannot delete container "${id}" that is created: stop it first, or use --force`);
    expect(state(b, id).status).toBe('created');
    expect(alive(pid)).toBe(true);
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  it('an id already in use is refused, and the first container is untouched', () => {
    const b = sleeping(as);
    const id = uniqueId();
    expect(tsrunIn(b, ['create', '--bundle', b.dir, id]).code).toBe(0);
    const second = tsrunIn(b, ['create', '--bundle', b.dir, id]);
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`tsrun: create: container "${id}" already exists`);
    expect(state(b, id).status).toBe('created');
    expect(tsrunIn(b, ['delete', '--force', id]).code).toBe(0);
  });

  it('run in the foreground returns the exit status, and 128+N for a signal', () => {
    const exit7 = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'exit', '7'] };
    });
    const id = uniqueId();
    expect(tsrunIn(exit7, ['run', '--bundle', exit7.dir, id]).code).toBe(7);
    expect(existsSync(join(exit7.root, id))).toBe(false); // run deletes what it ran
    const keep = uniqueId();
    expect(tsrunIn(exit7, ['run', '--keep', '--bundle', exit7.dir, keep]).code).toBe(7);
    expect(state(exit7, keep).status).toBe('stopped');
    expect(tsrunIn(exit7, ['delete', keep]).code).toBe(0);
  });

  it('run forwards signals to the container process, and reports death by signal as 128+N', async () => {
    const waiter = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'wait-signal'] };
    });
    const run = spawnTsrun(waiter, ['run', '--bundle', waiter.dir, uniqueId()]);
    await until(() => run.out().includes('waiting'), 'the container to start');
    run.child.kill('SIGUSR1');
    expect(await run.exited).toBe(0);
    expect(run.out()).toContain('got signal 10');

    const b = sleeping(as);
    const id = uniqueId();
    const run2 = spawnTsrun(b, ['run', '--bundle', b.dir, id]);
    await until(() => existsSync(join(b.root, id, 'state.json')) && !existsSync(join(b.root, id, 'exec.fifo')), 'the start');
    expect(tsrunIn(b, ['kill', id, 'KILL']).code).toBe(0);
    expect(await run2.exited).toBe(137);
  });

  it('state says "creating" while a create runs; a create killed half-way leaves a stopped container that delete clears', async () => {
    const b = makeBundle(as, (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'sleep', '30'] };
      c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '3'] }] };
    });
    const id = uniqueId();
    const create = spawnTsrun(b, ['create', '--bundle', b.dir, id]);
    await until(() => tsrunIn(b, ['state', id]).code === 0, 'the first record');
    const s = state(b, id);
    expect(s.status).toBe('creating');
    create.child.kill('SIGKILL');
    await create.exited;
    await until(() => state(b, id).status === 'stopped', 'the dead create to show as stopped');
    expect(tsrunIn(b, ['delete', id]).code).toBe(0);
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  it('a failed create leaves no state, no process and no mount behind', () => {
    const b = makeBundle(as, (c) => {
      c.mounts = [...(c.mounts ?? []), { destination: '/bad', type: 'nosuchfs', source: 'none' }];
    });
    const id = uniqueId();
    const r = tsrunIn(b, ['create', '--bundle', b.dir, id]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^tsrun: create: mount nosuchfs on "\/bad": mount on \/bad: ENODEV$/);
    expect(existsSync(join(b.root, id))).toBe(false);
    // (Other tests run at the same time: look only at this bundle's paths.)
    expect(hostMountinfo()).not.toContain(b.dir);
    const leftover = require('node:child_process').spawnSync('pgrep', ['-f', b.dir]).stdout.toString();
    expect(leftover).toBe('');
  });
});

describe('uid 0 inside a user namespace, as rootless podman runs its runtime', () => {
  it('is rootless mode: state under XDG_RUNTIME_DIR, a single-id map, and the container runs', () => {
    const b = makeBundle('rootless', (c) => {
      c.process = { ...c.process, cwd: '/', args: ['/probe', 'exit', '0'] };
      // Inside that namespace the caller is uid 0: the map names 0, which it may map.
      c.linux = {
        ...c.linux,
        uidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
        gidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
      };
    });
    const user = inject('rootlessUser');
    const run = (args: string[]) =>
      spawnSync('setpriv', [...asUser(), 'unshare', '--user', '--map-root-user', inject('tsrunBin'), ...args], {
        cwd: b.dir,
        encoding: 'utf8',
      });
    const doctor = JSON.parse(run(['doctor', '--json']).stdout) as { checks: { name: string; detail: string }[] };
    expect(doctor.checks.find((c) => c.name === 'mode')?.detail).toBe('rootless (euid 0)');
    expect(doctor.checks.find((c) => c.name === 'state root')?.detail).toContain(join(user.home, 'xdg', 'tsrun'));
    const r = run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.status, r.stderr).toBe(0);
  });
});
