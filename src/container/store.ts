import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../cli/errors.js';
import { SyscallError } from '../linux/errno.js';
import * as libc from '../linux/libc.js';
import type { ContainerStatus } from '../spec/state.js';
import { checkContainerId } from './id.js';
import type { ContainerRecord } from './record.js';
import { deriveStatus } from './status.js';

export const STATE_FILE = 'state.json';
export const EXEC_FIFO = 'exec.fifo';

/** A container id that has no state directory under the root. */
export class ContainerNotFoundError extends UserError {
  constructor(id: string) {
    super(`container "${id}" does not exist`);
  }
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Writes a file whole or not at all: a temporary file in the same directory, then rename. */
export function writeAtomically(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content, { mode });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new UserError(`writing ${path}: ${code(err)}`);
  }
}

/** The state directory tree: <root>/<id>/{state.json, exec.fifo}, each container dir mode 0700. */
export class ContainerStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, checkContainerId(id));
  }

  execFifo(id: string): string {
    return join(this.dir(id), EXEC_FIFO);
  }

  /** Refuses an id in use, before a create checks its config (create() below is what makes the id its own). */
  checkAbsent(id: string): void {
    if (existsSync(this.dir(id))) throw new UserError(`container "${id}" already exists`);
  }

  /** Makes the container's directory; only one create of an id can succeed. */
  create(id: string): string {
    const dir = this.dir(id);
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new UserError(`creating the state root ${this.root}: ${code(err)} (pass --root DIR with a directory you can write)`);
    }
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (code(err) === 'EEXIST') throw new UserError(`container "${id}" already exists`);
      throw new UserError(`creating ${dir}: ${code(err)}`);
    }
    return dir;
  }

  /** Takes the container's lock (flock on its directory) for the length of fn. */
  async locked<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    const dir = this.dir(id);
    let fd: number;
    try {
      fd = openSync(dir, 'r');
    } catch (err) {
      if (code(err) === 'ENOENT') throw new ContainerNotFoundError(id);
      throw new UserError(`opening ${dir}: ${code(err)}`);
    }
    try {
      libc.flock(fd, libc.LOCK_EX);
      return await fn();
    } catch (err) {
      if (err instanceof SyscallError) throw new UserError(`locking ${dir}: ${err.code}`);
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  /** Whether another process holds the container's lock (a create in progress holds it throughout). */
  private isLocked(id: string): boolean {
    let fd: number;
    try {
      fd = openSync(this.dir(id), 'r');
    } catch {
      return false;
    }
    try {
      libc.flock(fd, libc.LOCK_EX | libc.LOCK_NB);
      return false;
    } catch (err) {
      if (err instanceof SyscallError && err.code === 'EWOULDBLOCK') return true;
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The container's status from facts. A record without a pid is one a create wrote first: the
   * create is still running while it holds the lock, and died otherwise. Inside locked() pass
   * holdingLock, as no create can be running then.
   */
  status(record: ContainerRecord, holdingLock = false): ContainerStatus {
    if (record.pid === 0 || record.creating) return !holdingLock && this.isLocked(record.id) ? 'creating' : 'stopped';
    return deriveStatus(record, this.execFifo(record.id));
  }

  save(record: ContainerRecord): void {
    writeAtomically(join(this.dir(record.id), STATE_FILE), JSON.stringify(record));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** The container's record; its schema loads only when there is a file to check (a miss stays cheap). */
  async load(id: string): Promise<ContainerRecord> {
    const file = join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (code(err) === 'ENOENT') throw new ContainerNotFoundError(id);
      throw new UserError(`reading ${file}: ${code(err)}`);
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
      if (code(err) === 'ENOENT') return [];
      throw new UserError(`listing ${this.root}: ${code(err)}`);
    }
  }
}
