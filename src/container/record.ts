import { z } from 'zod';

/**
 * What tsrun keeps about a container in <root>/<id>/state.json. Status is not stored: it is
 * derived from facts each time (see status.ts).
 */
export const recordSchema = z.object({
  id: z.string(),
  ociVersion: z.string(),
  bundle: z.string(),
  rootfs: z.string(),
  pid: z.number().int().min(0),
  /** Start time of the init process in clock ticks since boot (/proc/PID/stat field 22). */
  pidStartTime: z.number().int().min(0),
  created: z.string(),
  owner: z.string(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type ContainerRecord = z.infer<typeof recordSchema>;
