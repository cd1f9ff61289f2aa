/**
 * zod schema for config.json: the common part and the Linux part of runtime-spec 1.3.
 * Unknown fields are dropped (zod's default), so newer or foreign extensions do not fail.
 * Types for the rest of tsrun come from here (z.infer).
 */
import * as z from 'zod/mini';
import { envEntryProblem } from './env.js';
import './zod-messages.js';

const intRange = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const int32 = intRange(-2147483648, 2147483647);
const uint16 = intRange(0, 65535);
const uint32 = intRange(0, 4294967295);
/** 64-bit values: numbers, or bigint where parseJson found them beyond 2^53. */
const uint64 = z.union([z.int().check(z.minimum(0)), z.bigint().check(z.minimum(0n), z.maximum(2n ** 64n - 1n))]);
const int64 = z.union([z.int(), z.bigint().check(z.minimum(-(2n ** 63n)), z.maximum(2n ** 63n - 1n))]);
const stringMap = z.record(z.string(), z.string());
const strings = z.array(z.string());
/** A process.env entry: NAME=VALUE, as runc requires (refused before anything is made on the host). */
const envEntry = z.string().check(
  z.superRefine((entry, ctx) => {
    const problem = envEntryProblem(entry);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: entry });
  }),
);

export const hookSchema = z.object({
  path: z.string(),
  args: z.optional(strings),
  env: z.optional(strings),
  timeout: z.optional(z.int().check(z.minimum(1))),
});

export const hooksSchema = z.object({
  prestart: z.optional(z.array(hookSchema)),
  createRuntime: z.optional(z.array(hookSchema)),
  createContainer: z.optional(z.array(hookSchema)),
  startContainer: z.optional(z.array(hookSchema)),
  poststart: z.optional(z.array(hookSchema)),
  poststop: z.optional(z.array(hookSchema)),
});

export const idMappingSchema = z.object({ containerID: uint32, hostID: uint32, size: uint32 });

export const mountSchema = z.object({
  destination: z.string(),
  source: z.optional(z.string()),
  type: z.optional(z.string()),
  options: z.optional(strings),
  uidMappings: z.optional(z.array(idMappingSchema)),
  gidMappings: z.optional(z.array(idMappingSchema)),
});

export const capabilitiesSchema = z.object({
  bounding: z.optional(strings),
  permitted: z.optional(strings),
  effective: z.optional(strings),
  inheritable: z.optional(strings),
  ambient: z.optional(strings),
});

export const rlimitSchema = z.object({
  type: z.string().check(z.regex(/^RLIMIT_[A-Z]+$/, 'must be an RLIMIT_* name')),
  soft: uint64,
  hard: uint64,
});

export const processSchema = z.object({
  args: z.optional(strings),
  commandLine: z.optional(z.string()),
  consoleSize: z.optional(z.object({ height: uint64, width: uint64 })),
  cwd: z.string(),
  env: z.optional(z.array(envEntry)),
  terminal: z.optional(z.boolean()),
  user: z.optional(
    z.object({
      uid: z.optional(uint32),
      gid: z.optional(uint32),
      umask: z.optional(uint32),
      additionalGids: z.optional(z.array(uint32)),
      username: z.optional(z.string()),
    }),
  ),
  capabilities: z.optional(capabilitiesSchema),
  apparmorProfile: z.optional(z.string()),
  oomScoreAdj: z.optional(z.int()),
  selinuxLabel: z.optional(z.string()),
  ioPriority: z.optional(
    z.object({
      class: z.enum(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']),
      priority: z.optional(int32),
    }),
  ),
  noNewPrivileges: z.optional(z.boolean()),
  scheduler: z.optional(
    z.object({
      policy: z.enum(['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE']),
      nice: z.optional(int32),
      priority: z.optional(int32),
      flags: z.optional(
        z.array(
          z.enum([
            'SCHED_FLAG_RESET_ON_FORK',
            'SCHED_FLAG_RECLAIM',
            'SCHED_FLAG_DL_OVERRUN',
            'SCHED_FLAG_KEEP_POLICY',
            'SCHED_FLAG_KEEP_PARAMS',
            'SCHED_FLAG_UTIL_CLAMP_MIN',
            'SCHED_FLAG_UTIL_CLAMP_MAX',
          ]),
        ),
      ),
      runtime: z.optional(uint64),
      deadline: z.optional(uint64),
      period: z.optional(uint64),
    }),
  ),
  rlimits: z.optional(z.array(rlimitSchema)),
  execCPUAffinity: z.optional(
    z.object({
      initial: z.optional(z.string().check(z.regex(/^[0-9, -]*$/, 'must be a CPU list like "0-3,7"'))),
      final: z.optional(z.string().check(z.regex(/^[0-9, -]*$/, 'must be a CPU list like "0-3,7"'))),
    }),
  ),
});

export const namespaceTypes = ['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup', 'time'] as const;
export const namespaceSchema = z.object({ type: z.enum(namespaceTypes), path: z.optional(z.string()) });

export const deviceSchema = z.object({
  type: z.string().check(z.regex(/^[cbup]$/, 'must be one of c, b, u, p')),
  path: z.string(),
  fileMode: z.optional(intRange(0, 0o777)),
  major: z.optional(int64),
  minor: z.optional(int64),
  uid: z.optional(uint32),
  gid: z.optional(uint32),
});

export const deviceCgroupSchema = z.object({
  allow: z.boolean(),
  type: z.optional(z.string()),
  major: z.optional(int64),
  minor: z.optional(int64),
  access: z.optional(z.string()),
});

const blockIODevice = { major: int64, minor: int64 };
const weight = uint16;
const throttle = z.object({ ...blockIODevice, rate: z.optional(uint64) });

export const resourcesSchema = z.object({
  unified: z.optional(stringMap),
  devices: z.optional(z.array(deviceCgroupSchema)),
  pids: z.optional(z.object({ limit: int64 })),
  blockIO: z.optional(
    z.object({
      weight: z.optional(weight),
      leafWeight: z.optional(weight),
      throttleReadBpsDevice: z.optional(z.array(throttle)),
      throttleWriteBpsDevice: z.optional(z.array(throttle)),
      throttleReadIOPSDevice: z.optional(z.array(throttle)),
      throttleWriteIOPSDevice: z.optional(z.array(throttle)),
      weightDevice: z.optional(z.array(z.object({ ...blockIODevice, weight: z.optional(weight), leafWeight: z.optional(weight) }))),
    }),
  ),
  cpu: z.optional(
    z.object({
      cpus: z.optional(z.string()),
      mems: z.optional(z.string()),
      period: z.optional(uint64),
      quota: z.optional(int64),
      burst: z.optional(uint64),
      realtimePeriod: z.optional(uint64),
      realtimeRuntime: z.optional(int64),
      shares: z.optional(uint64),
      idle: z.optional(int64),
    }),
  ),
  hugepageLimits: z.optional(
    z.array(z.object({ pageSize: z.string().check(z.regex(/^[1-9][0-9]*[KMG]B$/, 'must look like "2MB" or "1GB"')), limit: uint64 })),
  ),
  memory: z.optional(
    z.object({
      kernel: z.optional(int64),
      kernelTCP: z.optional(int64),
      limit: z.optional(int64),
      reservation: z.optional(int64),
      swap: z.optional(int64),
      swappiness: z.optional(uint64),
      disableOOMKiller: z.optional(z.boolean()),
      useHierarchy: z.optional(z.boolean()),
      checkBeforeUpdate: z.optional(z.boolean()),
    }),
  ),
  network: z.optional(
    z.object({
      classID: z.optional(uint32),
      priorities: z.optional(z.array(z.object({ name: z.string(), priority: uint32 }))),
    }),
  ),
  rdma: z.optional(z.record(z.string(), z.object({ hcaHandles: z.optional(uint32), hcaObjects: z.optional(uint32) }))),
});

export const seccompActions = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export const seccompOperators = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export const seccompFlags = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export const seccompArchs = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
] as const;

export const seccompSchema = z.object({
  defaultAction: z.enum(seccompActions),
  defaultErrnoRet: z.optional(uint32),
  flags: z.optional(z.array(z.enum(seccompFlags))),
  listenerPath: z.optional(z.string()),
  listenerMetadata: z.optional(z.string()),
  architectures: z.optional(z.array(z.enum(seccompArchs))),
  syscalls: z.optional(
    z.array(
      z.object({
        names: z.array(z.string()).check(z.minLength(1)),
        action: z.enum(seccompActions),
        errnoRet: z.optional(uint32),
        args: z.optional(z.array(z.object({ index: uint32, value: uint64, valueTwo: z.optional(uint64), op: z.enum(seccompOperators) }))),
      }),
    ),
  ),
});

const timeOffset = z.object({ secs: z.optional(int64), nanosecs: z.optional(uint32) });

export const linuxSchema = z.object({
  devices: z.optional(z.array(deviceSchema)),
  netDevices: z.optional(z.record(z.string(), z.object({ name: z.optional(z.string()) }))),
  uidMappings: z.optional(z.array(idMappingSchema)),
  gidMappings: z.optional(z.array(idMappingSchema)),
  namespaces: z.optional(z.array(namespaceSchema)),
  resources: z.optional(resourcesSchema),
  cgroupsPath: z.optional(z.string()),
  rootfsPropagation: z.optional(z.enum(['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable'])),
  seccomp: z.optional(seccompSchema),
  sysctl: z.optional(stringMap),
  maskedPaths: z.optional(strings),
  readonlyPaths: z.optional(strings),
  mountLabel: z.optional(z.string()),
  intelRdt: z.optional(
    z.object({
      closID: z.optional(z.string()),
      schemata: z.optional(strings),
      l3CacheSchema: z.optional(z.string()),
      memBwSchema: z.optional(z.string().check(z.regex(/^MB:[^\n]*$/, 'must start with "MB:"'))),
      enableMonitoring: z.optional(z.boolean()),
    }),
  ),
  memoryPolicy: z.optional(
    z.object({
      mode: z.enum([
        'MPOL_DEFAULT',
        'MPOL_BIND',
        'MPOL_INTERLEAVE',
        'MPOL_WEIGHTED_INTERLEAVE',
        'MPOL_PREFERRED',
        'MPOL_PREFERRED_MANY',
        'MPOL_LOCAL',
      ]),
      nodes: z.optional(z.string()),
      flags: z.optional(z.array(z.enum(['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES']))),
    }),
  ),
  personality: z.optional(z.object({ domain: z.optional(z.enum(['LINUX', 'LINUX32'])), flags: z.optional(strings) })),
  timeOffsets: z.optional(z.object({ boottime: z.optional(timeOffset), monotonic: z.optional(timeOffset) })),
});

/** The document's shape; which ociVersion tsrun runs is decided when a bundle is loaded (container/bundle.ts). */
export const configSchema = z.object({
  ociVersion: z.string(),
  root: z.optional(z.object({ path: z.string(), readonly: z.optional(z.boolean()) })),
  mounts: z.optional(z.array(mountSchema)),
  process: z.optional(processSchema),
  hostname: z.optional(z.string()),
  domainname: z.optional(z.string()),
  hooks: z.optional(hooksSchema),
  annotations: z.optional(stringMap),
  linux: z.optional(linuxSchema),
});

export type Config = z.infer<typeof configSchema>;
export type Process = z.infer<typeof processSchema>;
export type Mount = z.infer<typeof mountSchema>;
export type Hook = z.infer<typeof hookSchema>;
export type Linux = z.infer<typeof linuxSchema>;
export type NamespaceType = (typeof namespaceTypes)[number];
