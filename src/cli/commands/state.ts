import { describeContainer } from '../../container/describe.js';
import { ContainerStore } from '../../container/store.js';
import type { Context } from '../context.js';

export async function state(ctx: Context, id: string): Promise<void> {
  process.stdout.write(`${JSON.stringify(await describeContainer(new ContainerStore(ctx.stateRoot), id), null, 2)}\n`);
}
