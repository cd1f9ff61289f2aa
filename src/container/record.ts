import * as z from 'zod/mini';
import { hookSchema } from '../spec/config.js';

const count = z.int().check(z.minimum(0));

/**
 * What tsrun keeps about a container in <root>/<id>/state.json. Status is not stored: it is
 * derived from facts each time (see status.ts).
 */
export const recordSchema = z.object({
  id: z.string(),
  ociVersion: z.string(),
  bundle: z.string(),
  rootfs: z.string(),
  pid: count,
  /** Start time of the init process in clock ticks since boot (/proc/PID/stat field 22). */
  pidStartTime: count,
  created: z.string(),
  owner: z.string(),
  annotations: z.optional(z.record(z.string(), z.string())),
  /** Set while create runs (the pid may be known already): such a record is "creating" while locked, else a dead create. */
  creating: z.optional(z.boolean()),
  /** The container had no mount namespace of its own: its mounts live in the host's, under rootfs, until delete. */
  hostMounts: z.optional(z.boolean()),
  /** The container's cgroup path in each v1 hierarchy, when tsrun placed it in one. */
  cgroupPath: z.optional(z.string()),
  /** The hooks that run after create returns: poststart (by start) and poststop (by delete). */
  poststart: z.optional(z.array(hookSchema)),
  poststop: z.optional(z.array(hookSchema)),
});

export type ContainerRecord = z.infer<typeof recordSchema>;
