import * as z from 'zod/mini';
import './zod-messages.js';

// runtime.md lets a runtime add states: "paused" (frozen by `tsrun pause`) is runc's, and engines read it.
export const containerStatuses = ['creating', 'created', 'running', 'paused', 'stopped'] as const;

/** The state document of runtime.md, as `tsrun state` prints it and hooks read it on stdin. */
export const stateSchema = z.object({
  ociVersion: z.string(),
  id: z.string(),
  status: z.enum(containerStatuses),
  pid: z.optional(z.int().check(z.minimum(0))),
  bundle: z.string(),
  annotations: z.optional(z.record(z.string(), z.string())),
});

export type State = z.infer<typeof stateSchema>;
export type ContainerStatus = State['status'];
