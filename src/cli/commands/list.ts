import { type ContainerDescription, describeContainer } from '../../container/describe.js';
import { ContainerNotFoundError, ContainerStore } from '../../container/store.js';
import type { Context } from '../context.js';

function table(rows: ContainerDescription[]): string {
  const header = ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'];
  const cells = rows.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  return [header, ...cells]
    .map((r) =>
      r
        .map((v, i) => v.padEnd((widths[i] ?? 0) + 3))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export async function list(ctx: Context, format: 'table' | 'json', quiet: boolean): Promise<void> {
  const store = new ContainerStore(ctx.stateRoot);
  const rows: ContainerDescription[] = [];
  for (const id of store.ids()) {
    try {
      rows.push(await describeContainer(store, id));
    } catch (err) {
      // A directory removed by a concurrent delete is simply no longer listed.
      if (!(err instanceof ContainerNotFoundError)) throw err;
    }
  }
  if (quiet) process.stdout.write(rows.map((r) => `${r.id}\n`).join(''));
  else if (format === 'json') process.stdout.write(`${JSON.stringify(rows)}\n`);
  else process.stdout.write(`${table(rows)}\n`);
}
