import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../cli/errors.js';
import { checkContainerId } from './id.js';
import type { ContainerRecord } from './record.js';

export const STATE_FILE = 'state.json';
export const EXEC_FIFO = 'exec.fifo';

/** A container id that has no state directory under the root. */
export class ContainerNotFoundError extends UserError {
  constructor(id: string) {
    super(`container "${id}" does not exist`);
  }
}

/** The state directory tree: <root>/<id>/{state.json, exec.fifo}. */
export class ContainerStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, checkContainerId(id));
  }

  execFifo(id: string): string {
    return join(this.dir(id), EXEC_FIFO);
  }

  /** The container's record; its schema loads only when there is a file to check (a miss stays cheap). */
  async load(id: string): Promise<ContainerRecord> {
    const file = join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerNotFoundError(id);
      throw new UserError(`reading ${file}: ${(err as NodeJS.ErrnoException).code}`);
    }
    const [{ parseDocument }, { recordSchema }] = await Promise.all([import('../spec/validate.js'), import('./record.js')]);
    return parseDocument(recordSchema, text, file);
  }

  /** Ids of every container under the root; an absent root has none. */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new UserError(`listing ${this.root}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
}
