import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { fixtures, specValidator } from '../test/support/runtime-spec.js';
import { identities, scratchDir, tsrun } from './support/tsrun.js';

/** One line on stderr, starting "tsrun: ". */
function oneErrorLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tsrun: /);
  return lines[0] ?? '';
}

describe.each(identities)('as %s', (as) => {
  it('--version prints the lines engines parse', () => {
    const r = tsrun(as, ['--version']);
    expect(r.code).toBe(0);
    const [name, commit, spec] = r.stdout.split('\n');
    expect(name).toMatch(/^tsrun version \d+\.\d+\.\d+/);
    expect(commit).toMatch(/^commit: [0-9a-f]{40}$|^commit: unknown$/);
    expect(spec).toBe('spec: 1.3.0');
    expect(tsrun(as, ['-v']).stdout).toBe(r.stdout);
  });

  it('features validates against features-schema.json and claims nothing this build cannot do', () => {
    const r = tsrun(as, ['features']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const validate = specValidator('features-schema.json');
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.ociVersionMin).toBe('1.0.0');
    expect(doc.ociVersionMax).toBe('1.3.0');
    expect(doc.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect(doc.linux.namespaces.sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
    expect(doc.mountOptions).toEqual(expect.arrayContaining(['ro', 'nosuid', 'rbind', 'rprivate', 'strictatime']));
    expect(doc.mountOptions).toEqual(expect.arrayContaining(['rro', 'rnosuid', 'rnoexec']));
    expect(doc.linux.mountExtensions.idmap.enabled).toBe(true);
    // Not applied yet, so not advertised: tmpcopyup, cgroup v2, systemd cgroups.
    expect(doc.mountOptions).not.toContain('tmpcopyup');
    expect(doc.linux.seccomp.enabled).toBe(true);
    expect(doc.linux.seccomp.archs).toEqual(
      expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64']),
    );
    // This kernel (6.x) has every action and flag: the lists come from asking it.
    expect(doc.linux.seccomp.actions).toContain('SCMP_ACT_NOTIFY');
    expect(doc.linux.seccomp.supportedFlags).toEqual(doc.linux.seccomp.knownFlags);
    expect(doc.linux.cgroup).toEqual({ v1: true, v2: true, systemd: false, systemdUser: false, rdma: false });
  });

  it('state of a missing container: exit 1, "does not exist"', () => {
    const root = join(scratchDir(as), 'root');
    const r = tsrun(as, ['--root', root, 'state', 'nonexistent']);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toBe('tsrun: state: container "nonexistent" does not exist');
    expect(r.stdout).toBe('');
  });

  it.each([
    ['state', ['../escape']],
    ['delete', ['a/b']],
    ['kill', ['..', 'KILL']],
    ['create', ['x/../../y']],
    ['start', ['/etc']],
  ])('%s refuses an id with "/" or ".." before touching any file', (cmd, args) => {
    const dir = scratchDir(as);
    const root = join(dir, 'root');
    const r = tsrun(as, ['--root', root, cmd, ...args], { cwd: dir });
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(new RegExp(`^tsrun: ${cmd}: invalid container id`));
    expect(existsSync(root)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('delete --force of a missing container succeeds (engines always send it), plain delete does not', () => {
    const root = join(scratchDir(as), 'root');
    expect(tsrun(as, ['--root', root, 'delete', '--force', 'gone']).code).toBe(0);
    const r = tsrun(as, ['--root', root, 'delete', 'gone']);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toContain('container "gone" does not exist');
  });

  it('list with an empty root prints the header, or [] as JSON', () => {
    const root = join(scratchDir(as), 'root');
    expect(tsrun(as, ['--root', root, 'list']).stdout.trim()).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(JSON.parse(tsrun(as, ['--root', root, 'list', '--format', 'json']).stdout)).toEqual([]);
    expect(tsrun(as, ['--root', root, 'list', '-q']).stdout).toBe('');
  });

  it('accepts Go-style single-dash long flags', () => {
    const root = join(scratchDir(as), 'root');
    const r = tsrun(as, ['-root', root, '-log-format=json', 'list', '-format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('--log-format json writes the error as a {level,msg,time} line', () => {
    const dir = scratchDir(as);
    const log = join(dir, 'log.json');
    const r = tsrun(as, ['--root', join(dir, 'root'), '--log', log, '--log-format', 'json', 'kill', 'nope', '9']);
    expect(r.code).toBe(1);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '');
    expect(last.level).toBe('error');
    expect(last.msg).toBe('kill: container "nope" does not exist');
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
  });

  it('--log FILE is made for every command, also when nothing is logged; one it cannot open is one error line', () => {
    const dir = scratchDir(as);
    const root = join(dir, 'root');
    const commands = [['list'], ['features'], ['delete', '--force', 'nope'], ['spec', '--bundle', dir], ['state', 'nope']];
    for (const [i, args] of commands.entries()) {
      const log = join(dir, `log-${i}`);
      tsrun(as, ['--root', root, '--log', log, ...args]);
      expect(existsSync(log), args.join(' ')).toBe(true);
    }
    const missing = join(dir, 'no', 'log');
    const bad = tsrun(as, ['--root', root, '--log', missing, 'list']);
    expect(bad.code).toBe(1);
    expect(oneErrorLine(bad.stderr)).toBe(
      `tsrun: list: --log ${missing}: cannot open the log file: ENOENT (create its directory, or pass a file this user can write)`,
    );
  });

  it('spec writes a config valid for the spec schema, and refuses to overwrite it', () => {
    const bundle = scratchDir(as);
    const args = as === 'rootless' ? ['spec', '--rootless', '--bundle', bundle] : ['spec', '--bundle', bundle];
    expect(tsrun(as, args).code).toBe(0);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    const validate = specValidator('config-schema.json');
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    if (as === 'rootless') {
      const user = inject('rootlessUser');
      expect(config.linux.uidMappings).toEqual([{ containerID: 0, hostID: user.uid, size: 1 }]);
      expect(config.linux.gidMappings).toEqual([{ containerID: 0, hostID: user.gid, size: 1 }]);
    } else {
      expect(config.linux.uidMappings).toBeUndefined();
    }
    const again = tsrun(as, args);
    expect(again.code).toBe(1);
    expect(oneErrorLine(again.stderr)).toContain('config.json already exists');
  });

  it('create refuses a bad config naming the JSON path, and leaves no state behind', () => {
    const dir = scratchDir(as);
    const bundle = join(dir, 'bundle');
    const root = join(dir, 'root');
    mkdirSync(bundle);
    const [, text] = fixtures('config', 'bad').find(([n]) => n === 'linux-hugepage.json') ?? [];
    writeFileSync(join(bundle, 'config.json'), text ?? '');
    const r = tsrun(as, ['--root', root, 'create', '--bundle', bundle, 'c1']);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/^tsrun: create: .*config\.json: linux\.resources\.hugepageLimits\[0\]\.pageSize: /);
    expect(existsSync(root)).toBe(false);
  });

  it('create refuses an ociVersion outside 1.0.0–1.3.x with the reason', () => {
    const dir = scratchDir(as);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '2.0.0', root: { path: 'rootfs' } }));
    const r = tsrun(as, ['--root', join(dir, 'root'), 'create', '--bundle', dir, 'c1']);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toContain('ociVersion: major version 2 is not supported');
  });

  it.each([
    ['exec', ['c1', '/bin/true']],
    ['checkpoint', ['c1']],
    ['ps', ['c1']],
    ['pause', ['c1']],
    ['events', ['--stats', 'c1']],
  ])('%s exists, and on a missing container exits 1 (exec: 255, as runc; checkpoint: not supported)', (cmd, args) => {
    const dir = scratchDir(as);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.3.0', root: { path: 'rootfs' } }));
    const r = tsrun(as, ['--root', join(dir, 'root'), cmd, ...args], { cwd: dir });
    expect(r.code).toBe(cmd === 'exec' ? 255 : 1);
    expect(oneErrorLine(r.stderr)).toMatch(new RegExp(`^tsrun: ${cmd}: (not supported|container "c1" does not exist)`));
  });

  it('usage errors are one line and exit 1', () => {
    for (const args of [['bogus'], ['kill', '--bad', 'x'], ['state'], ['--log-format', 'xml', 'list']]) {
      const r = tsrun(as, args);
      expect(r.code, args.join(' ')).toBe(1);
      oneErrorLine(r.stderr);
    }
  });

  it('doctor reports every check, as text and as JSON', () => {
    const r = tsrun(as, ['doctor', '--json']);
    const { checks } = JSON.parse(r.stdout) as { checks: { name: string; level: string }[] };
    expect(checks.map((c) => c.name)).toEqual([
      'kernel',
      'mode',
      'user namespaces',
      'newuidmap/newgidmap',
      'subordinate ids',
      'cgroups',
      'seccomp',
      'pidfd',
      'openat2',
      'state root',
    ]);
    expect(checks.find((c) => c.name === 'mode')?.level).toBe('ok');
    // This host (Linux ≥ 5.6, user namespaces on) passes the checks the kernel answers.
    for (const name of ['kernel', 'user namespaces', 'pidfd', 'openat2', 'seccomp']) {
      expect(checks.find((c) => c.name === name)?.level, name).toBe('ok');
    }
    expect(r.code).toBe(checks.some((c) => c.level === 'error') ? 1 : 0);
    const text = tsrun(as, ['doctor']).stdout;
    expect(text).toMatch(/^ok\s+kernel\s+/m);
    expect(text).toMatch(as === 'root' ? /^ok\s+mode\s+root$/m : /^ok\s+mode\s+rootless \(euid \d+\)$/m);
  });
});

// An engine running tsrun as root passes its own environment on (the rootless runner clears it).
describe('the environment, as root', () => {
  it('NODE_OPTIONS does not steer tsrun: no code it names runs, no limit it sets applies', () => {
    const dir = scratchDir('root');
    const marker = join(dir, 'injected');
    const script = join(dir, 'inject.cjs');
    writeFileSync(script, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');`);
    const args = ['--root', join(dir, 'root'), 'state', 'nonexistent'];
    const plain = tsrun('root', args);
    for (const value of [`--require ${script}`, `--import ${script}`, '--max-old-space-size=1', '--stack-size=1']) {
      const r = tsrun('root', args, { wrapper: { argv: [], env: { ...process.env, NODE_OPTIONS: value } } });
      expect([r.code, r.stdout, r.stderr], value).toEqual([plain.code, plain.stdout, plain.stderr]);
    }
    expect(existsSync(marker)).toBe(false);
  });
});
