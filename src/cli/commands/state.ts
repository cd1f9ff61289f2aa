import { describeContainer } from '../../container/describe.js';
import type { Context } from '../context.js';

export function state(ctx: Context, id: string): void {
  process.stdout.write(`${JSON.stringify(describeContainer(ctx.store, id), null, 2)}\n`);
}
