/** The runtime-spec version tsrun implements, and the range of config versions it accepts. */
export const SPEC_VERSION = '1.3.0';
export const OCI_VERSION_MIN = '1.0.0';
export const OCI_VERSION_MAX = '1.3.0';

const semver = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Why a config's ociVersion is not accepted, or undefined when it is (1.0.0 up to any 1.3.x). */
export function ociVersionProblem(version: string): string | undefined {
  const m = semver.exec(version);
  if (!m) return `"${version}" is not a semantic version (expected e.g. "${SPEC_VERSION}")`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major !== 1) return `major version ${major} is not supported (tsrun implements ${SPEC_VERSION}; 1.0.0 to 1.3.x are accepted)`;
  if (minor > 3) return `${version} is newer than tsrun supports (1.0.0 to 1.3.x are accepted)`;
  return undefined;
}
