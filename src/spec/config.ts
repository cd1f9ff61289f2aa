/**
 * zod schema for config.json: the common part and the Linux part of runtime-spec 1.3.
 * Unknown fields are dropped (zod's default), so newer or foreign extensions do not fail.
 * Types for the rest of tsrun come from here (z.infer).
 */
import { z } from 'zod';

const intRange = (min: number, max: number) => z.number().int().min(min).max(max);
const int32 = intRange(-2147483648, 2147483647);
const uint16 = intRange(0, 65535);
const uint32 = intRange(0, 4294967295);
/** 64-bit values: numbers, or bigint where parseJson found them beyond 2^53. */
const uint64 = z.union([
  z.number().int().nonnegative(),
  z
    .bigint()
    .min(0n)
    .max(2n ** 64n - 1n),
]);
const int64 = z.union([
  z.number().int(),
  z
    .bigint()
    .min(-(2n ** 63n))
    .max(2n ** 63n - 1n),
]);
const stringMap = z.record(z.string(), z.string());
const strings = z.array(z.string());

export const hookSchema = z.object({
  path: z.string(),
  args: strings.optional(),
  env: strings.optional(),
  timeout: z.number().int().min(1).optional(),
});

export const hooksSchema = z.object({
  prestart: z.array(hookSchema).optional(),
  createRuntime: z.array(hookSchema).optional(),
  createContainer: z.array(hookSchema).optional(),
  startContainer: z.array(hookSchema).optional(),
  poststart: z.array(hookSchema).optional(),
  poststop: z.array(hookSchema).optional(),
});

export const idMappingSchema = z.object({ containerID: uint32, hostID: uint32, size: uint32 });

export const mountSchema = z.object({
  destination: z.string(),
  source: z.string().optional(),
  type: z.string().optional(),
  options: strings.optional(),
  uidMappings: z.array(idMappingSchema).optional(),
  gidMappings: z.array(idMappingSchema).optional(),
});

export const capabilitiesSchema = z.object({
  bounding: strings.optional(),
  permitted: strings.optional(),
  effective: strings.optional(),
  inheritable: strings.optional(),
  ambient: strings.optional(),
});

export const rlimitSchema = z.object({
  type: z.string().regex(/^RLIMIT_[A-Z]+$/, 'must be an RLIMIT_* name'),
  soft: uint64,
  hard: uint64,
});

export const processSchema = z.object({
  args: strings.optional(),
  commandLine: z.string().optional(),
  consoleSize: z.object({ height: uint64, width: uint64 }).optional(),
  cwd: z.string(),
  env: strings.optional(),
  terminal: z.boolean().optional(),
  user: z
    .object({
      uid: uint32.optional(),
      gid: uint32.optional(),
      umask: uint32.optional(),
      additionalGids: z.array(uint32).optional(),
      username: z.string().optional(),
    })
    .optional(),
  capabilities: capabilitiesSchema.optional(),
  apparmorProfile: z.string().optional(),
  oomScoreAdj: z.number().int().optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: z
    .object({
      class: z.enum(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']),
      priority: int32.optional(),
    })
    .optional(),
  noNewPrivileges: z.boolean().optional(),
  scheduler: z
    .object({
      policy: z.enum(['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE']),
      nice: int32.optional(),
      priority: int32.optional(),
      flags: z
        .array(
          z.enum([
            'SCHED_FLAG_RESET_ON_FORK',
            'SCHED_FLAG_RECLAIM',
            'SCHED_FLAG_DL_OVERRUN',
            'SCHED_FLAG_KEEP_POLICY',
            'SCHED_FLAG_KEEP_PARAMS',
            'SCHED_FLAG_UTIL_CLAMP_MIN',
            'SCHED_FLAG_UTIL_CLAMP_MAX',
          ]),
        )
        .optional(),
      runtime: uint64.optional(),
      deadline: uint64.optional(),
      period: uint64.optional(),
    })
    .optional(),
  rlimits: z.array(rlimitSchema).optional(),
  execCPUAffinity: z
    .object({
      initial: z
        .string()
        .regex(/^[0-9, -]*$/, 'must be a CPU list like "0-3,7"')
        .optional(),
      final: z
        .string()
        .regex(/^[0-9, -]*$/, 'must be a CPU list like "0-3,7"')
        .optional(),
    })
    .optional(),
});

export const namespaceTypes = ['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup', 'time'] as const;
export const namespaceSchema = z.object({ type: z.enum(namespaceTypes), path: z.string().optional() });

export const deviceSchema = z.object({
  type: z.string().regex(/^[cbup]$/, 'must be one of c, b, u, p'),
  path: z.string(),
  fileMode: intRange(0, 0o777).optional(),
  major: int64.optional(),
  minor: int64.optional(),
  uid: uint32.optional(),
  gid: uint32.optional(),
});

export const deviceCgroupSchema = z.object({
  allow: z.boolean(),
  type: z.string().optional(),
  major: int64.optional(),
  minor: int64.optional(),
  access: z.string().optional(),
});

const blockIODevice = { major: int64, minor: int64 };
const weight = uint16;
const throttle = z.object({ ...blockIODevice, rate: uint64.optional() });

export const resourcesSchema = z.object({
  unified: stringMap.optional(),
  devices: z.array(deviceCgroupSchema).optional(),
  pids: z.object({ limit: int64 }).optional(),
  blockIO: z
    .object({
      weight: weight.optional(),
      leafWeight: weight.optional(),
      throttleReadBpsDevice: z.array(throttle).optional(),
      throttleWriteBpsDevice: z.array(throttle).optional(),
      throttleReadIOPSDevice: z.array(throttle).optional(),
      throttleWriteIOPSDevice: z.array(throttle).optional(),
      weightDevice: z.array(z.object({ ...blockIODevice, weight: weight.optional(), leafWeight: weight.optional() })).optional(),
    })
    .optional(),
  cpu: z
    .object({
      cpus: z.string().optional(),
      mems: z.string().optional(),
      period: uint64.optional(),
      quota: int64.optional(),
      burst: uint64.optional(),
      realtimePeriod: uint64.optional(),
      realtimeRuntime: int64.optional(),
      shares: uint64.optional(),
      idle: int64.optional(),
    })
    .optional(),
  hugepageLimits: z
    .array(z.object({ pageSize: z.string().regex(/^[1-9][0-9]*[KMG]B$/, 'must look like "2MB" or "1GB"'), limit: uint64 }))
    .optional(),
  memory: z
    .object({
      kernel: int64.optional(),
      kernelTCP: int64.optional(),
      limit: int64.optional(),
      reservation: int64.optional(),
      swap: int64.optional(),
      swappiness: uint64.optional(),
      disableOOMKiller: z.boolean().optional(),
      useHierarchy: z.boolean().optional(),
      checkBeforeUpdate: z.boolean().optional(),
    })
    .optional(),
  network: z
    .object({
      classID: uint32.optional(),
      priorities: z.array(z.object({ name: z.string(), priority: uint32 })).optional(),
    })
    .optional(),
  rdma: z.record(z.string(), z.object({ hcaHandles: uint32.optional(), hcaObjects: uint32.optional() })).optional(),
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
  defaultErrnoRet: uint32.optional(),
  flags: z.array(z.enum(seccompFlags)).optional(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  architectures: z.array(z.enum(seccompArchs)).optional(),
  syscalls: z
    .array(
      z.object({
        names: z.array(z.string()).min(1),
        action: z.enum(seccompActions),
        errnoRet: uint32.optional(),
        args: z.array(z.object({ index: uint32, value: uint64, valueTwo: uint64.optional(), op: z.enum(seccompOperators) })).optional(),
      }),
    )
    .optional(),
});

const timeOffset = z.object({ secs: int64.optional(), nanosecs: uint32.optional() });

export const linuxSchema = z.object({
  devices: z.array(deviceSchema).optional(),
  netDevices: z.record(z.string(), z.object({ name: z.string().optional() })).optional(),
  uidMappings: z.array(idMappingSchema).optional(),
  gidMappings: z.array(idMappingSchema).optional(),
  namespaces: z.array(namespaceSchema).optional(),
  resources: resourcesSchema.optional(),
  cgroupsPath: z.string().optional(),
  rootfsPropagation: z.enum(['private', 'shared', 'slave', 'unbindable']).optional(),
  seccomp: seccompSchema.optional(),
  sysctl: stringMap.optional(),
  maskedPaths: strings.optional(),
  readonlyPaths: strings.optional(),
  mountLabel: z.string().optional(),
  intelRdt: z
    .object({
      closID: z.string().optional(),
      schemata: strings.optional(),
      l3CacheSchema: z.string().optional(),
      memBwSchema: z
        .string()
        .regex(/^MB:[^\n]*$/, 'must start with "MB:"')
        .optional(),
      enableMonitoring: z.boolean().optional(),
    })
    .optional(),
  memoryPolicy: z
    .object({
      mode: z.enum([
        'MPOL_DEFAULT',
        'MPOL_BIND',
        'MPOL_INTERLEAVE',
        'MPOL_WEIGHTED_INTERLEAVE',
        'MPOL_PREFERRED',
        'MPOL_PREFERRED_MANY',
        'MPOL_LOCAL',
      ]),
      nodes: z.string().optional(),
      flags: z.array(z.enum(['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'])).optional(),
    })
    .optional(),
  personality: z.object({ domain: z.enum(['LINUX', 'LINUX32']).optional(), flags: strings.optional() }).optional(),
  timeOffsets: z.object({ boottime: timeOffset.optional(), monotonic: timeOffset.optional() }).optional(),
});

/** The document's shape; which ociVersion tsrun runs is decided when a bundle is loaded (container/bundle.ts). */
export const configSchema = z.object({
  ociVersion: z.string(),
  root: z.object({ path: z.string(), readonly: z.boolean().optional() }).optional(),
  mounts: z.array(mountSchema).optional(),
  process: processSchema.optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  hooks: hooksSchema.optional(),
  annotations: stringMap.optional(),
  linux: linuxSchema.optional(),
});

export type Config = z.infer<typeof configSchema>;
export type Process = z.infer<typeof processSchema>;
export type Mount = z.infer<typeof mountSchema>;
export type Hook = z.infer<typeof hookSchema>;
export type Linux = z.infer<typeof linuxSchema>;
export type NamespaceType = (typeof namespaceTypes)[number];
