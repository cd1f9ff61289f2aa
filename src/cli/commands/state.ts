import { describeContainer } from '../../container/describe.js';
import { ContainerStore } from '../../container/store.js';
import type { Context } from '../context.js';

export function state(ctx: Context, id: string): void {
  process.stdout.write(`${JSON.stringify(describeContainer(new ContainerStore(ctx.stateRoot), id), null, 2)}\n`);
}
