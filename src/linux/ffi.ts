import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type * as FfiRs from 'ffi-rs';
import { assetBytes, devAssetPath } from '../assets.js';

/** The parts of ffi-rs's native binding tsrun uses (its JS wrapper is not loaded: it probes the host slowly). */
export type FfiBinding = Pick<typeof FfiRs, 'open' | 'load' | 'DataType' | 'FFITypeTag'>;

// Linux O_TMPFILE (includes O_DIRECTORY); Node does not export it.
const O_TMPFILE = 0o20200000;

function scratchDirs(): string[] {
  const dirs = ['/dev/shm', tmpdir()];
  if (process.env.XDG_RUNTIME_DIR) dirs.push(process.env.XDG_RUNTIME_DIR);
  return dirs;
}

/**
 * Loads the addon from memory: its bytes go to an unnamed O_TMPFILE and are dlopen'ed through
 * /proc/self/fd/N, so no file is written that another process could swap, and no HOME is needed.
 */
function dlopenFromMemory(module: { exports: unknown }, bytes: Uint8Array): void {
  const failures: string[] = [];
  for (const dir of scratchDirs()) {
    let fd: number;
    try {
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o700);
    } catch (err) {
      failures.push(`${dir}: ${(err as NodeJS.ErrnoException).code}`);
      continue;
    }
    try {
      writeSync(fd, bytes);
      process.dlopen(module, `/proc/self/fd/${fd}`);
      return;
    } catch (err) {
      failures.push(`${dir}: ${(err as Error).message}`);
    } finally {
      closeSync(fd);
    }
  }
  throw new Error(`cannot load the embedded ffi addon (${failures.join('; ')}): make /dev/shm or $TMPDIR a writable, exec-allowed tmpfs`);
}

let binding: FfiBinding | undefined;

export function ffiBinding(): FfiBinding {
  if (binding === undefined) {
    const module = { exports: {} as FfiBinding };
    const devPath = devAssetPath('ffi-addon');
    if (devPath === undefined) dlopenFromMemory(module, assetBytes('ffi-addon'));
    else process.dlopen(module, devPath);
    binding = module.exports;
  }
  return binding;
}
