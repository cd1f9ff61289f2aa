import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sea from 'node:sea';

/** Files embedded in dist/tsrun at build time (scripts/build.mjs names them the same). */
export type AssetName = 'shim' | 'ffi-addon';

const devPaths: Record<AssetName, string> = {
  shim: 'build/tsrun-shim',
  'ffi-addon': 'node_modules/@yuuang/ffi-rs-linux-x64-gnu/ffi-rs.linux-x64-gnu.node',
};

/** Where an asset lives on disk when tsrun runs from source (unit tests), undefined inside dist/tsrun. */
export function devAssetPath(name: AssetName): string | undefined {
  if (sea.isSea()) return undefined;
  return join(import.meta.dirname, '..', devPaths[name]);
}

/** An embedded asset's bytes, without copying when running as the single executable. */
export function assetBytes(name: AssetName): Uint8Array {
  const devPath = devAssetPath(name);
  return devPath === undefined ? new Uint8Array(sea.getRawAsset(name)) : readFileSync(devPath);
}
