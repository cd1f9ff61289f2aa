/**
 * The seeded generator: each case is a base config with one to four mutations, each a change a
 * user or an engine makes (user and groups, cwd, env, capabilities, rlimits within the host's hard
 * limits, umask, hostname, tmpfs and bind mounts with options, masked and read-only paths, small
 * seccomp profiles, no_new_privs, namespaces, sysctls, oom_score_adj, root.readonly, rootfs
 * propagation, devices). A case's random numbers come from (seed, index) alone, so one case can be
 * made again without the others.
 */
import type { Config, Mount } from '../../src/spec/config.js';
import { prng } from '../../test/support/config-mutations.js';
import type { Identity } from '../support/tsrun.js';
import type { Base } from './configs.js';
import { subordinate } from './configs.js';
import { BUNDLE, type Case } from './harness.js';

type Rand = () => number;
type Seccomp = NonNullable<NonNullable<Config['linux']>['seccomp']>;
type SeccompRule = NonNullable<Seccomp['syscalls']>[number];
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const subset = <T>(r: Rand, xs: readonly T[], p = 0.5): T[] => xs.filter(() => r() < p);
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

interface Ctx {
  as: Identity;
}

/** A mutation changes the config and says how, or returns undefined when it does not apply. */
type Mutation = (r: Rand, c: Config, ctx: Ctx) => string | undefined;

const CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
  'CAP_SYS_ADMIN',
  'CAP_SYS_PTRACE',
  'CAP_NET_ADMIN',
  'CAP_SYSLOG',
  'CAP_BPF',
  'CAP_PERFMON',
  'CAP_CHECKPOINT_RESTORE',
];

/** Syscalls the probe tries (spec-tests/probe/probe.c, diff) and can be denied without harm. */
const HARMLESS = [
  'mkdirat',
  'mknodat',
  'chroot',
  'mount',
  'umount2',
  'sethostname',
  'reboot',
  'acct',
  'keyctl',
  'add_key',
  'ptrace',
  'setns',
  'bpf',
  'perf_event_open',
  'syslog',
  'io_uring_setup',
  'clone3',
  'socket',
  'unshare',
  'getppid',
  'uname',
];

/** The host's hard limits (this VM: root lacks CAP_SYS_RESOURCE): [name, largest hard limit a case may ask]. */
const RLIMITS: [string, number][] = [
  ['RLIMIT_NOFILE', 20000],
  ['RLIMIT_NPROC', 96367],
  ['RLIMIT_CORE', 2 ** 32],
  ['RLIMIT_STACK', 2 ** 30],
  ['RLIMIT_MEMLOCK', 8388608],
  ['RLIMIT_MSGQUEUE', 819200],
  ['RLIMIT_CPU', 100000],
  ['RLIMIT_FSIZE', 2 ** 40],
  ['RLIMIT_SIGPENDING', 96367],
];

const namespaces = (c: Config) => c.linux?.namespaces ?? [];
const hasNs = (c: Config, t: string) => namespaces(c).some((n) => n.type === t);
function setLinux(c: Config, edit: Partial<NonNullable<Config['linux']>>): void {
  c.linux = { ...c.linux, ...edit };
}
function proc(c: Config): NonNullable<Config['process']> {
  c.process = c.process ?? { cwd: '/', args: ['/probe', 'diff'] };
  return c.process;
}

/** Rootless: the user and its subordinate ranges mapped (newuidmap/newgidmap), so ids besides 0 exist. */
function wideMaps(c: Config, ctx: Ctx): string | undefined {
  if (ctx.as !== 'rootless' || (c.linux?.uidMappings?.length ?? 0) > 1) return undefined;
  const [u, g] = [subordinate('/etc/subuid'), subordinate('/etc/subgid')];
  const [uid, gid] = [c.linux?.uidMappings?.[0]?.hostID ?? 0, c.linux?.gidMappings?.[0]?.hostID ?? 0];
  setLinux(c, {
    uidMappings: [
      { containerID: 0, hostID: uid, size: 1 },
      { containerID: 1, hostID: u.start, size: Math.min(u.count, 65536) },
    ],
    gidMappings: [
      { containerID: 0, hostID: gid, size: 1 },
      { containerID: 1, hostID: g.start, size: Math.min(g.count, 65536) },
    ],
  });
  return 'rootless: ids 1-65536 mapped to the subordinate ranges';
}

const MUTATIONS: Record<string, [number, Mutation]> = {
  user: [
    4,
    (r, c, ctx) => {
      const user = {
        uid: pick(r, [0, 1000, 65534, 123]),
        gid: pick(r, [0, 1000, 5, 123]),
        additionalGids: r() < 0.5 ? subset(r, [5, 1000, 123, 0]) : undefined,
      };
      proc(c).user = { ...proc(c).user, ...user };
      const maps = user.uid !== 0 || user.gid !== 0 || (user.additionalGids?.length ?? 0) > 0 ? wideMaps(c, ctx) : undefined;
      return `process.user = ${JSON.stringify(proc(c).user)}${maps ? `; ${maps}` : ''}`;
    },
  ],
  umask: [
    2,
    (r, c) => {
      const umask = pick(r, [0, 0o22, 0o77, 0o27, 0o2, undefined]);
      proc(c).user = { uid: 0, gid: 0, ...proc(c).user, umask };
      return `process.user.umask = ${umask === undefined ? '(unset)' : `0${umask.toString(8).padStart(3, '0')}`}`;
    },
  ],
  cwd: [
    3,
    (r, c) => {
      const cwd = pick(r, ['/', '/root', '/home/u1000', '/etc', '/dev', '/dev/shm', '/proc', '/nonexistent/sub', '/etc/passwd']);
      proc(c).cwd = cwd;
      return `process.cwd = ${cwd}`;
    },
  ],
  env: [
    3,
    (r, c) => {
      const p = proc(c);
      const how = pick(r, ['empty', 'home', 'extra', 'duplicate', 'no equals', 'no PATH']);
      if (how === 'empty') p.env = [];
      if (how === 'home') p.env = [...(p.env ?? []), 'HOME=/custom/home'];
      if (how === 'extra') p.env = [...(p.env ?? []), 'FOO=bar', 'EMPTY=', 'WITH_EQ=a=b'];
      if (how === 'duplicate') p.env = [...(p.env ?? []), 'DUP=1', 'DUP=2'];
      if (how === 'no equals') p.env = [...(p.env ?? []), 'NOEQUALS'];
      if (how === 'no PATH') p.env = (p.env ?? []).filter((e) => !e.startsWith('PATH='));
      return `process.env: ${how} → ${JSON.stringify(p.env)}`;
    },
  ],
  capabilities: [
    4,
    (r, c) => {
      const bounding = subset(r, CAPS, 0.4);
      const permitted = subset(r, bounding, 0.8);
      const effective = subset(r, permitted, 0.8);
      const inheritable = r() < 0.5 ? subset(r, bounding, 0.5) : undefined;
      const ambient = r() < 0.4 ? (r() < 0.7 ? permitted.filter((x) => inheritable?.includes(x)) : subset(r, permitted, 0.5)) : undefined;
      proc(c).capabilities = { bounding, permitted, effective, inheritable, ambient };
      return `process.capabilities = ${JSON.stringify(proc(c).capabilities)}`;
    },
  ],
  'unknown capability': [
    1,
    (r, c) => {
      const caps = proc(c).capabilities ?? {};
      const name = pick(r, ['CAP_NOT_A_CAP', 'CAP_FUTURE_42']);
      proc(c).capabilities = { ...caps, bounding: [...(caps.bounding ?? []), name], permitted: [...(caps.permitted ?? []), name] };
      return `process.capabilities: ${name} added to bounding and permitted`;
    },
  ],
  rlimits: [
    3,
    (r, c) => {
      const rlimits = subset(r, RLIMITS, 0.3).map(([type, max]) => {
        const hard = r() < 0.1 ? max * 2 : int(r, 1, max);
        return { type, hard, soft: int(r, 0, hard) };
      });
      proc(c).rlimits = rlimits;
      return `process.rlimits = ${JSON.stringify(rlimits)}`;
    },
  ],
  hostname: [
    2,
    (r, c) => {
      const hostname = pick(r, ['diffhost', '', undefined, 'a-very-long-hostname-0123456789']);
      c.hostname = hostname;
      if (r() < 0.3) c.domainname = pick(r, ['example.org', '']);
      return `hostname = ${JSON.stringify(hostname)}${c.domainname !== undefined ? `, domainname = ${JSON.stringify(c.domainname)}` : ''}`;
    },
  ],
  tmpfs: [
    3,
    (r, c) => {
      const destination = pick(r, ['/mnt/t', '/srv/t', '/tmp', '/run', '/data/deep/er']);
      const options = subset(
        r,
        [
          'ro',
          'nosuid',
          'nodev',
          'noexec',
          'mode=700',
          'mode=1777',
          'size=1m',
          'nr_inodes=100',
          'uid=1000',
          'gid=1000',
          'strictatime',
          'noatime',
          'rprivate',
          'private',
          'rslave',
          'shared',
          'runbindable',
        ],
        0.2,
      );
      const m: Mount = { destination, type: 'tmpfs', source: 'tmpfs', options };
      c.mounts = [...(c.mounts ?? []).filter((x) => x.destination !== destination), m];
      return `mount ${JSON.stringify(m)}`;
    },
  ],
  bind: [
    3,
    (r, c) => {
      const [source, destination] = pick(r, [
        ['share', '/mnt/b'],
        [`${BUNDLE}/share`, '/srv/b'],
        [`${BUNDLE}/share/file`, '/srv/file'],
        ['share/file', '/etc/dangling'],
        [`${BUNDLE}/share`, '/home/u1000/b'],
      ] as const);
      const options = [
        pick(r, ['bind', 'rbind']),
        ...subset(r, ['ro', 'nosuid', 'nodev', 'noexec', 'rprivate', 'rslave', 'private', 'slave', 'rshared', 'runbindable'], 0.2),
      ];
      const m: Mount = { destination, type: pick(r, ['bind', 'none']), source, options };
      c.mounts = [...(c.mounts ?? []).filter((x) => x.destination !== destination), m];
      return `mount ${JSON.stringify(m).replaceAll(BUNDLE, '<bundle>')}`;
    },
  ],
  'drop a mount': [
    1,
    (r, c) => {
      const destination = pick(r, ['/dev/shm', '/dev/mqueue', '/sys/fs/cgroup', '/dev/pts', '/sys', '/dev']);
      c.mounts = (c.mounts ?? []).filter((m) => m.destination !== destination);
      return `mount on ${destination} removed`;
    },
  ],
  'dev options': [
    1,
    (r, c) => {
      const extra = pick(r, ['ro', 'noexec', 'size=1m', 'mode=700']);
      c.mounts = (c.mounts ?? []).map((m) => (m.destination === '/dev' ? { ...m, options: [...(m.options ?? []), extra] } : m));
      return `/dev mount: option ${extra} added`;
    },
  ],
  maskedPaths: [
    2,
    (r, c) => {
      if (r() < 0.2) {
        setLinux(c, { maskedPaths: [] });
        return 'linux.maskedPaths = []';
      }
      const add = subset(
        r,
        ['/proc/kcore', '/proc/nonexistent', '/sys/kernel/debug', '/proc/sys/kernel/core_pattern', '/etc/passwd', '/root', '/home'],
        0.3,
      );
      setLinux(c, { maskedPaths: [...(c.linux?.maskedPaths ?? []), ...add] });
      return `linux.maskedPaths += ${JSON.stringify(add)}`;
    },
  ],
  readonlyPaths: [
    2,
    (r, c) => {
      if (r() < 0.2) {
        setLinux(c, { readonlyPaths: [] });
        return 'linux.readonlyPaths = []';
      }
      const add = subset(r, ['/proc/sys/net', '/etc', '/home', '/nonexistent', '/dev/shm', '/proc/sys'], 0.3);
      setLinux(c, { readonlyPaths: [...(c.linux?.readonlyPaths ?? []), ...add] });
      return `linux.readonlyPaths += ${JSON.stringify(add)}`;
    },
  ],
  seccomp: [
    3,
    (r, c) => {
      const architectures = pick(r, [
        undefined,
        ['SCMP_ARCH_X86_64'],
        ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      ]);
      const errnoRet = () => pick(r, [undefined, 1, 13, 38, 22]);
      const rules = Array.from({ length: int(r, 1, 3) }, () => {
        const names = subset(r, HARMLESS, 0.15);
        const action = pick(r, ['SCMP_ACT_ERRNO', 'SCMP_ACT_ERRNO', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW']);
        const rule = { names: names.length > 0 ? names : ['keyctl'], action } as SeccompRule;
        if (action === 'SCMP_ACT_ERRNO') rule.errnoRet = errnoRet();
        // socket(AF_INET=2, …) only: an argument comparison
        if (r() < 0.2)
          return { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] } as SeccompRule;
        return rule;
      });
      setLinux(c, { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', architectures, syscalls: rules } as Seccomp });
      return `linux.seccomp = ${JSON.stringify(c.linux?.seccomp)}`;
    },
  ],
  'seccomp deny by default': [
    1,
    (r, c) => {
      // Everything the probe and both runtimes need after the filter is loaded, but not the harmless calls.
      const allow = [
        'read',
        'write',
        'openat',
        'open',
        'close',
        'fstat',
        'newfstatat',
        'lseek',
        'mmap',
        'munmap',
        'mprotect',
        'brk',
        'rt_sigaction',
        'rt_sigprocmask',
        'rt_sigreturn',
        'ioctl',
        'readv',
        'writev',
        'access',
        'getpid',
        'gettid',
        'getuid',
        'getgid',
        'geteuid',
        'getegid',
        'getresuid',
        'getresgid',
        'getgroups',
        'getcwd',
        'getdents64',
        'readlink',
        'readlinkat',
        'prctl',
        'arch_prctl',
        'set_tid_address',
        'exit',
        'exit_group',
        'execve',
        'execveat',
        'fork',
        'vfork',
        'clone',
        'wait4',
        'waitid',
        'futex',
        'getrlimit',
        'prlimit64',
        'umask',
        'fcntl',
        'capget',
        'capset',
        'setgroups',
        'setuid',
        'setgid',
        'setresuid',
        'setresgid',
        'sched_yield',
        'nanosleep',
        'getppid',
        'uname',
        'personality',
        'tgkill',
        'kill',
        'sigaltstack',
        'set_robust_list',
        'rseq',
        'statx',
        'stat',
        'lstat',
        'fchdir',
        'chdir',
        'dup',
        'dup2',
        'dup3',
        'pipe2',
        'epoll_pwait',
        'close_range',
        'madvise',
        'mremap',
        'clock_gettime',
        'getrandom',
        'fstatfs',
        'statfs',
        'epoll_ctl',
        'epoll_create1',
        'pipe',
        'getdents',
        'openat2',
        'faccessat',
        'faccessat2',
        'clock_nanosleep',
        'sched_getaffinity',
        'pread64',
        'mincore',
        'setsid',
        'getpgrp',
        'getsid',
        'fchown',
        'fchmod',
        'fsync',
        'select',
        'poll',
      ];
      const denied = subset(r, HARMLESS, 0.3);
      const seccomp = {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: pick(r, [undefined, 1, 38]),
        architectures: pick(r, [undefined, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']]),
        syscalls: [{ names: [...allow, ...HARMLESS.filter((n) => !denied.includes(n))], action: 'SCMP_ACT_ALLOW' }],
      };
      setLinux(c, { seccomp: seccomp as Seccomp });
      return `linux.seccomp: deny by default (errnoRet ${seccomp.defaultErrnoRet ?? '(unset)'}, architectures ${JSON.stringify(seccomp.architectures)}); not allowed: ${JSON.stringify(denied)}`;
    },
  ],
  noNewPrivileges: [
    2,
    (r, c) => {
      proc(c).noNewPrivileges = pick(r, [true, false, undefined]);
      return `process.noNewPrivileges = ${proc(c).noNewPrivileges ?? '(unset)'}`;
    },
  ],
  namespaces: [
    3,
    (r, c, ctx) => {
      const options = ['ipc', 'uts', 'pid', 'cgroup', ...(ctx.as === 'root' ? ['network', 'mount'] : ['network'])];
      const t = pick(r, options) as 'ipc';
      if (hasNs(c, t)) {
        setLinux(c, { namespaces: namespaces(c).filter((n) => n.type !== t) });
        return `namespace ${t} removed`;
      }
      setLinux(c, { namespaces: [...namespaces(c), { type: t }] });
      return `namespace ${t} added`;
    },
  ],
  sysctl: [
    2,
    (r, c) => {
      const all: Record<string, string[]> = {
        'kernel.shmmax': ['68719476736', '1048576'],
        'kernel.msgmax': ['4096', '16384'],
        'kernel.sem': ['250 32000 32 128'],
        'fs.mqueue.msg_max': ['20'],
        'net.ipv4.ip_unprivileged_port_start': ['0', '80'],
        'net.ipv4.ping_group_range': ['1 0', '0 0'],
        'net.core.somaxconn': ['128'],
        'kernel.domainname': ['example.org'],
        'kernel.hostname': ['sysctlhost'],
        'vm.swappiness': ['10'],
      };
      const sysctl = Object.fromEntries(subset(r, Object.keys(all), 0.25).map((k) => [k, pick(r, all[k] ?? [''])]));
      setLinux(c, { sysctl });
      return `linux.sysctl = ${JSON.stringify(sysctl)}`;
    },
  ],
  oomScoreAdj: [
    2,
    (r, c) => {
      proc(c).oomScoreAdj = pick(r, [-1000, -500, 0, 100, 500, 1000, undefined]);
      return `process.oomScoreAdj = ${proc(c).oomScoreAdj ?? '(unset)'}`;
    },
  ],
  'root.readonly': [
    2,
    (_r, c) => {
      c.root = { path: c.root?.path ?? 'rootfs', readonly: !c.root?.readonly };
      return `root.readonly = ${c.root.readonly}`;
    },
  ],
  'absolute root.path': [
    1,
    (_r, c) => {
      c.root = { ...c.root, path: `${BUNDLE}/rootfs` };
      return 'root.path = <bundle>/rootfs (absolute)';
    },
  ],
  rootfsPropagation: [
    2,
    (r, c) => {
      const p = pick(r, ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']);
      // Written as is: tsrun's type has no recursive values (issue 12 item 5), the spec's text does.
      setLinux(c, { rootfsPropagation: p as 'private' });
      return `linux.rootfsPropagation = ${p}`;
    },
  ],
  devices: [
    2,
    (r, c) => {
      const all = [
        { path: '/dev/fuse', type: 'c', major: 10, minor: 229 },
        { path: '/dev/kmsg', type: 'c', major: 1, minor: 11 },
        { path: '/dev/null', type: 'c', major: 1, minor: 3 },
        { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
        { path: '/dev/net/tun', type: 'c', major: 10, minor: 200 },
      ];
      const devices = subset(r, all, 0.4).map((d) => ({
        ...d,
        fileMode: pick(r, [undefined, 0o666, 0o600, 0o640]),
        uid: pick(r, [undefined, 0, 1000]),
        gid: pick(r, [undefined, 0, 5]),
      }));
      setLinux(c, { devices });
      return `linux.devices = ${JSON.stringify(devices)}`;
    },
  ],
};

/** count cases for an identity (half the total each), from the identity's bases. */
export function generate(seed: number, total: number, as: Identity, bases: Base[]): Case[] {
  const weighted = Object.entries(MUTATIONS).flatMap(([name, [w, m]]) => Array.from({ length: w }, () => [name, m] as const));
  const cases: Case[] = [];
  const offset = as === 'root' ? 0 : Math.ceil(total / 2);
  const count = as === 'root' ? Math.ceil(total / 2) : Math.floor(total / 2);
  for (let i = offset; i < offset + count; i++) {
    const r = prng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
    const base = pick(r, bases);
    const config = structuredClone(base.config);
    const mutations: string[] = [];
    const n = int(r, 1, 4);
    for (let k = 0; k < n; k++) {
      const [, m] = pick(r, weighted);
      const said = m(r, config, { as });
      if (said) mutations.push(said);
    }
    const short = mutations.map((m) => m.split(/ = | += |: |\(/)[0]?.trim()).join(', ');
    cases.push({ name: `#${i} ${base.name}: ${short}`, as, base: base.name, mutations, config, seed, index: i });
  }
  return cases;
}
