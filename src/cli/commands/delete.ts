import { ContainerNotFoundError, ContainerStore } from '../../container/store.js';
import type { Context } from '../context.js';
import { notSupported } from '../errors.js';

export async function deleteContainer(ctx: Context, id: string, force: boolean): Promise<void> {
  try {
    await new ContainerStore(ctx.stateRoot).load(id);
  } catch (err) {
    // Engines always follow `delete` with `delete --force`, also for a container already gone: that succeeds.
    if (force && err instanceof ContainerNotFoundError) return;
    throw err;
  }
  throw notSupported('this build of tsrun does not run containers yet');
}
