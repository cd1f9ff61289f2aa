import { describe, expect, it } from 'vitest';
import type { Config } from '../src/spec/config.js';
import { makeBundle, type ProbeReport, runBundle, tsrunIn, uniqueId } from './support/containers.js';
import { dockerLikeProfile } from './support/docker-like-seccomp.js';
import { identities } from './support/tsrun.js';

const archs: NonNullable<NonNullable<Config['linux']>['seccomp']>['architectures'] = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

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
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, op: 'SCMP_CMP_EQ' as const, value: 0xffffffff }] },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO' as const, errnoRet: 1 },
      ],
    };
    expect(Number(runBundle(bundle(as, ['/probe', 'personality', '0xffffffff'], profile)).stdout)).toBeGreaterThanOrEqual(0);
    expect(runBundle(bundle(as, ['/probe', 'personality', '0x8'], profile)).stdout.trim()).toBe('EPERM');
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
});
