import { loadBundle } from '../../container/bundle.js';
import { checkContainerId } from '../../container/id.js';
import { ContainerStore } from '../../container/store.js';
import type { Context } from '../context.js';
import { notSupported } from '../errors.js';

/**
 * A subcommand whose work this build does not do yet. Its input is still checked, so the answer
 * is the one a full tsrun would give first: create/run validate the id and the bundle's config,
 * the others need an existing container.
 */
export async function pending(ctx: Context, [id]: string[], opts: Record<string, unknown>, why: string): Promise<never> {
  if (id !== undefined) {
    if (typeof opts.bundle === 'string') {
      checkContainerId(id);
      loadBundle(opts.bundle);
    } else {
      await new ContainerStore(ctx.stateRoot).load(id);
    }
  }
  throw notSupported(why);
}
