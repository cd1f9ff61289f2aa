import { SPEC_VERSION } from './spec/version.js';

// Replaced by scripts/build.mjs (esbuild define); absent when running from source.
declare const TSRUN_BUILD: { version: string; commit: string } | undefined;

const build = typeof TSRUN_BUILD === 'undefined' ? { version: '0.0.0-dev', commit: 'unknown' } : TSRUN_BUILD;

export const TSRUN_VERSION = build.version;

/** `--version` in the line format engines parse: "<name> version X", "commit: …", "spec: …". */
export function versionText(): string {
  return [`tsrun version ${build.version}`, `commit: ${build.commit}`, `spec: ${SPEC_VERSION}`, `node: ${process.version}`].join('\n');
}
