/** What tsrun does to a live container through its cgroup: pause, resume, list, update, measure. */
import type { CgroupManager, CgroupStats, Resources } from '../cgroups/manager.js';
import { cgroupManager } from '../cgroups/select.js';
import { UserError } from '../cli/errors.js';
import { containerPids } from './lifecycle.js';
import type { ContainerRecord } from './record.js';
import type { ContainerStore } from './store.js';

function cgroupOf(record: ContainerRecord, what: string): CgroupManager {
  const cgroup = record.cgroupPath === undefined ? undefined : cgroupManager(record.cgroupPath);
  if (!cgroup)
    throw new UserError(`cannot ${what} container "${record.id}": it has no cgroup (rootless without a delegated cgroup v2 subtree)`);
  return cgroup;
}

export async function pause(store: ContainerStore, id: string): Promise<void> {
  await store.locked(id, async () => {
    const record = await store.load(id);
    const status = store.status(record, true);
    if (status !== 'running' && status !== 'created') throw new UserError(`container "${id}" is ${status}: container not running`);
    await cgroupOf(record, 'pause').freeze();
  });
}

export async function resume(store: ContainerStore, id: string): Promise<void> {
  await store.locked(id, async () => {
    const record = await store.load(id);
    const status = store.status(record, true);
    if (status !== 'paused') throw new UserError(`container "${id}" is ${status}: container not paused`);
    cgroupOf(record, 'resume').thaw();
  });
}

/** The host pids of the container's processes (none once it has stopped). */
export async function processes(store: ContainerStore, id: string): Promise<number[]> {
  const record = await store.load(id);
  if (store.status(record) === 'stopped') return [];
  const cgroup = record.cgroupPath === undefined ? undefined : cgroupManager(record.cgroupPath);
  return cgroup ? cgroup.pids() : containerPids(record.pid);
}

/** Applies new limits to a live container; returns what this host could not apply. */
export async function update(store: ContainerStore, id: string, resources: Resources): Promise<string[]> {
  return store.locked(id, async () => {
    const record = await store.load(id);
    const status = store.status(record, true);
    if (status === 'stopped') throw new UserError(`container "${id}" is stopped: container not running`);
    return cgroupOf(record, 'update').apply(resources);
  });
}

export interface Measurement {
  stats: CgroupStats;
  oomKills: number;
  stopped: boolean;
}

/** The container's cgroup figures now, and whether it is still alive. */
export async function measure(store: ContainerStore, id: string): Promise<Measurement> {
  const record = await store.load(id);
  const cgroup = cgroupOf(record, 'read the stats of');
  return { stats: cgroup.stats(), oomKills: cgroup.oomKills(), stopped: store.status(record) === 'stopped' };
}
