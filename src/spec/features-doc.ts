import { CAPABILITIES } from '../linux/capabilities.js';
import { KNOWN_MOUNT_OPTIONS } from '../linux/mount-options.js';
import { SUPPORTED_ARCHES } from '../seccomp/compile.js';
import { kernelHasAction, kernelKnowsFlag } from '../seccomp/kernel.js';
import { TSRUN_VERSION } from '../version.js';
import { namespaceTypes, seccompActions, seccompFlags, seccompOperators } from './config.js';
import type { Features } from './features.js';
import { OCI_VERSION_MAX, OCI_VERSION_MIN } from './version.js';

/**
 * What this build of tsrun actually supports, as `tsrun features` reports it. Engines decide what
 * to ask for from this document, so every list holds only what works end to end: each subsystem
 * adds its entries here when it lands.
 */
export function featuresDocument(): Features {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [...KNOWN_MOUNT_OPTIONS],
    annotations: { 'io.tsrun.version': TSRUN_VERSION },
    potentiallyUnsafeConfigAnnotations: [],
    linux: {
      namespaces: [...namespaceTypes],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: seccompActions.filter(kernelHasAction),
        operators: [...seccompOperators],
        archs: [...SUPPORTED_ARCHES],
        knownFlags: [...seccompFlags],
        supportedFlags: seccompFlags.filter(kernelKnowsFlag),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: false },
    },
  };
}
