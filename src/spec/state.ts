import { z } from 'zod';

export const containerStatuses = ['creating', 'created', 'running', 'stopped'] as const;

/** The state document of runtime.md, as `tsrun state` prints it and hooks read it on stdin. */
export const stateSchema = z.object({
  ociVersion: z.string(),
  id: z.string(),
  status: z.enum(containerStatuses),
  pid: z.number().int().min(0).optional(),
  bundle: z.string(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type State = z.infer<typeof stateSchema>;
export type ContainerStatus = State['status'];
