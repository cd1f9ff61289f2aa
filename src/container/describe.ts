import type { State } from '../spec/state.js';
import type { ContainerStore } from './store.js';

/** The state document of runtime.md plus runc's extra fields (rootfs, created, owner). */
export type ContainerDescription = State & { rootfs: string; created: string; owner: string };

export async function describeContainer(store: ContainerStore, id: string): Promise<ContainerDescription> {
  const record = await store.load(id);
  const status = store.status(record);
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    status,
    pid: status === 'stopped' || status === 'creating' ? 0 : record.pid,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: record.owner,
    ...(record.annotations ? { annotations: record.annotations } : {}),
  };
}
