import * as z from 'zod/mini';
import { namespaceTypes, seccompActions, seccompArchs, seccompFlags, seccompOperators } from './config.js';

const enabled = z.optional(z.object({ enabled: z.optional(z.boolean()) }));
const flag = z.optional(z.boolean());
const strings = z.optional(z.array(z.string()));

/** The features document of features.md and features-linux.md. */
export const featuresSchema = z.object({
  ociVersionMin: z.string(),
  ociVersionMax: z.string(),
  hooks: strings,
  mountOptions: strings,
  annotations: z.optional(z.record(z.string(), z.string())),
  potentiallyUnsafeConfigAnnotations: strings,
  linux: z.optional(
    z.object({
      namespaces: z.optional(z.array(z.enum(namespaceTypes))),
      capabilities: z.optional(z.array(z.string().check(z.regex(/^CAP_[A-Z_]+$/, 'must be a CAP_* name')))),
      cgroup: z.optional(z.object({ v1: flag, v2: flag, systemd: flag, systemdUser: flag, rdma: flag })),
      seccomp: z.optional(
        z.object({
          enabled: flag,
          actions: z.optional(z.array(z.enum(seccompActions))),
          operators: z.optional(z.array(z.enum(seccompOperators))),
          archs: z.optional(z.array(z.enum(seccompArchs))),
          knownFlags: z.optional(z.array(z.enum(seccompFlags))),
          supportedFlags: z.optional(z.array(z.enum(seccompFlags))),
        }),
      ),
      apparmor: enabled,
      selinux: enabled,
      intelRdt: enabled,
      mountExtensions: z.optional(z.object({ idmap: enabled })),
      netDevices: enabled,
    }),
  ),
});

export type Features = z.infer<typeof featuresSchema>;
