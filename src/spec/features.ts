import { z } from 'zod';
import { namespaceTypes, seccompActions, seccompArchs, seccompFlags, seccompOperators } from './config.js';

const enabled = z.object({ enabled: z.boolean().optional() });

/** The features document of features.md and features-linux.md. */
export const featuresSchema = z.object({
  ociVersionMin: z.string(),
  ociVersionMax: z.string(),
  hooks: z.array(z.string()).optional(),
  mountOptions: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  potentiallyUnsafeConfigAnnotations: z.array(z.string()).optional(),
  linux: z
    .object({
      namespaces: z.array(z.enum(namespaceTypes)).optional(),
      capabilities: z.array(z.string().regex(/^CAP_[A-Z_]+$/)).optional(),
      cgroup: z
        .object({
          v1: z.boolean().optional(),
          v2: z.boolean().optional(),
          systemd: z.boolean().optional(),
          systemdUser: z.boolean().optional(),
          rdma: z.boolean().optional(),
        })
        .optional(),
      seccomp: z
        .object({
          enabled: z.boolean().optional(),
          actions: z.array(z.enum(seccompActions)).optional(),
          operators: z.array(z.enum(seccompOperators)).optional(),
          archs: z.array(z.enum(seccompArchs)).optional(),
          knownFlags: z.array(z.enum(seccompFlags)).optional(),
          supportedFlags: z.array(z.enum(seccompFlags)).optional(),
        })
        .optional(),
      apparmor: enabled.optional(),
      selinux: enabled.optional(),
      intelRdt: enabled.optional(),
      mountExtensions: z.object({ idmap: enabled.optional() }).optional(),
      netDevices: enabled.optional(),
    })
    .optional(),
});

export type Features = z.infer<typeof featuresSchema>;
