import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import x86_64 from '../src/seccomp/tables/x86_64.json' with { type: 'json' };
import type { Config } from '../src/spec/config.js';
import { makeBundle, type ProbeReport, runBundle, tsrunIn, uniqueId } from './support/containers.js';
import { dockerLikeProfile } from './support/docker-like-seccomp.js';
import { hostProbe } from './support/host-tools.js';
import { type Identity, identities, scratchDir } from './support/tsrun.js';

const archs: NonNullable<NonNullable<Config['linux']>['seccomp']>['architectures'] = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

/** The probe's seccomp agent on the host, as the identity: answers every notified call with value. */
async function startAgent(as: Identity, value: number) {
  const dir = scratchDir(as);
  const socket = join(dir, 'agent.sock');
  const stateFile = join(dir, 'state.json');
  const agent = await hostProbe(as, ['seccomp-agent', socket, stateFile, String(value)], socket);
  return {
    socket,
    /** The container process state it received, once it has exited (its filter gone). */
    async state(): Promise<Record<string, unknown>> {
      await agent.done();
      return JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    },
  };
}

function bundle(as: (typeof identities)[number], args: string[], seccomp: NonNullable<Config['linux']>['seccomp'], nnp = true) {
  return makeBundle(as, (c) => {
    c.process = { ...c.process, cwd: '/', args, noNewPrivileges: nnp };
    c.linux = { ...c.linux, seccomp };
  });
}

describe.each(identities)('seccomp in real containers, as %s', (as) => {
  it('a rule returns a custom errno, another kills the process, the rest is allowed', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW' as const,
      architectures: archs,
      syscalls: [
        { names: ['open', 'openat'], action: 'SCMP_ACT_ERRNO' as const, errnoRet: 13 },
        { names: ['getppid'], action: 'SCMP_ACT_KILL_PROCESS' as const },
      ],
    };
    expect(runBundle(bundle(as, ['/probe', 'write', '/dev/shm/f', 'x'], profile), uniqueId(), 1).stdout.trim()).toBe('EACCES');
    const killed = bundle(as, ['/probe'], profile);
    expect(tsrunIn(killed, ['run', '--bundle', killed.dir, uniqueId()]).code).toBe(128 + 31); // SIGSYS
    expect(runBundle(bundle(as, ['/probe', 'personality', '0xffffffff'], profile)).stdout.trim()).not.toBe('');
  });

  it('argument filters: personality only with the allowed values', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW' as const,
      // As runc reads rules: one conditional rule (an ALLOW beside an unconditional ERRNO would not count).
      syscalls: [
        {
          names: ['personality'],
          action: 'SCMP_ACT_ERRNO' as const,
          errnoRet: 1,
          args: [{ index: 0, op: 'SCMP_CMP_NE' as const, value: 0xffffffff }],
        },
      ],
    };
    expect(Number(runBundle(bundle(as, ['/probe', 'personality', '0xffffffff'], profile)).stdout)).toBeGreaterThanOrEqual(0);
    expect(runBundle(bundle(as, ['/probe', 'personality', '0x8'], profile)).stdout.trim()).toBe('EPERM');
  });

  it('a profile listing only other architectures still filters the native one', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW' as const,
      architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] as typeof archs,
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO' as const }],
    };
    expect(runBundle(bundle(as, ['/probe', 'personality', '0x8'], profile)).stdout.trim()).toBe('EPERM');
  });

  it('a syscall numbered above every one the profile names gets ENOSYS; an unnamed one below, the default', () => {
    // Docker's allow list cut at number 400, as an older profile would be: pidfd_open (434) is newer.
    const docker = dockerLikeProfile();
    const [allowed, ...rest] = docker.syscalls ?? [];
    const old = {
      ...docker,
      syscalls: [{ ...allowed, names: (allowed?.names ?? []).filter((n) => (x86_64[n as keyof typeof x86_64] ?? 999) < 400) }, ...rest],
    };
    expect(runBundle(bundle(as, ['/probe', 'syscall', String(x86_64.pidfd_open)], old as typeof docker)).stdout.trim()).toBe('ENOSYS');
    expect(runBundle(bundle(as, ['/probe', 'syscall', String(x86_64.acct)], old as typeof docker)).stdout.trim()).toBe('EPERM');
  });

  it('a profile that refuses exec and exit: the run ends, naming the failure, and no process is left spinning', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW' as const,
      syscalls: [{ names: ['execve', 'exit', 'exit_group'], action: 'SCMP_ACT_ERRNO' as const }],
    };
    for (const nnp of [true, false]) {
      const b = bundle(as, ['/probe', 'exit', '3'], profile, nnp);
      const id = uniqueId();
      const r = tsrunIn(b, ['run', '--bundle', b.dir, id]);
      expect(r.stderr).toContain('exec /probe: Operation not permitted');
      expect(r.code).toBe(128 + 4); // SIGILL: the shim's way out when exit is refused
      expect(tsrunIn(b, ['state', id]).stderr).toContain('does not exist'); // run deleted it: nothing is left
    }
  });

  it("tsrun seccomp compile prints the program a bundle's profile compiles to", () => {
    const b = bundle(as, ['/probe'], dockerLikeProfile());
    const r = tsrunIn(b, ['seccomp', 'compile', '--bundle', b.dir]);
    expect(r.code, r.stderr).toBe(0);
    const [head, ...lines] = r.stdout.trim().split('\n');
    expect(head).toMatch(/^; (\d+) instructions, flags 0$/);
    expect(lines).toHaveLength(Number(/; (\d+)/.exec(head ?? '')?.[1]));
    expect(r.stdout).toContain('ret ERRNO(1)');
  });

  it('a Docker-like default profile: a busy probe runs without spurious denials, loaded before the capabilities drop', () => {
    for (const nnp of [true, false]) {
      const r = JSON.parse(runBundle(bundle(as, ['/probe'], dockerLikeProfile(), nnp)).stdout) as ProbeReport;
      expect(r.Seccomp).toBe('2');
      expect(r.pid).toBe(1);
    }
    expect(runBundle(bundle(as, ['/probe', 'personality', '0x1234'], dockerLikeProfile())).stdout.trim()).toBe('EPERM');
    expect(runBundle(bundle(as, ['/probe', 'personality', '0x8'], dockerLikeProfile())).stdout.trim()).toMatch(/^\d+$/);
  });

  it('notify: the agent gets the container process state with the listener fd, and answers the notified syscall', async () => {
    for (const nnp of [true, false]) {
      const agent = await startAgent(as, 4242);
      const profile = {
        defaultAction: 'SCMP_ACT_ALLOW' as const,
        listenerPath: agent.socket,
        listenerMetadata: 'from-the-test',
        syscalls: [{ names: ['personality'], action: 'SCMP_ACT_NOTIFY' as const }],
      };
      const b = bundle(as, ['/probe', 'personality', '8'], profile, nnp);
      const id = uniqueId();
      // The probe prints what personality(2) returned: the agent's answer, not the kernel's.
      expect(runBundle(b, id).stdout.trim(), `noNewPrivileges ${nnp}`).toBe('4242');
      const state = await agent.state();
      expect(state).toMatchObject({ ociVersion: '1.3.0', fds: ['seccompFd'], metadata: 'from-the-test' });
      expect(state.state).toMatchObject({ ociVersion: '1.3.0', id, status: 'creating', bundle: b.dir });
      expect(state.pid).toBeGreaterThan(0);
      expect((state.state as { pid: number }).pid).toBe(state.pid);
    }
  });

  it('notify with no agent at listenerPath: create fails naming the socket, and leaves nothing', () => {
    const socket = join(scratchDir(as), 'nobody.sock');
    const b = bundle(as, ['/probe'], {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: socket,
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_NOTIFY' }],
    });
    const r = tsrunIn(b, ['create', '--bundle', b.dir, uniqueId()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`connect to the seccomp agent at ${socket}`);
    expect(r.stderr).toContain('ENOENT');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(b.root) ? readdirSync(b.root) : []).toEqual([]);
  });
});
