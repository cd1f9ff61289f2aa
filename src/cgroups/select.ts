/**
 * The choice of cgroup driver, made from the host: legacy and hybrid hosts get the v1 driver (on
 * hybrid ones the container also joins the v2 tree, which gives it cgroup.kill), unified hosts
 * the v2 driver.
 */
import { type CgroupMode, cgroupMode } from './detect.js';
import { type CgroupManager, v2MountPoint } from './manager.js';
import { CgroupV1 } from './v1.js';
import { CgroupV2 } from './v2.js';

export const UNIFIED_ROOT = '/sys/fs/cgroup';

/** The manager of a container's cgroup path on this host, or undefined when the host has no cgroups. */
export function cgroupManager(path: string, mode: CgroupMode = cgroupMode()): CgroupManager | undefined {
  switch (mode) {
    case 'legacy':
      return new CgroupV1(path);
    case 'hybrid':
      return new CgroupV1(path, v2MountPoint());
    case 'unified':
      return new CgroupV2(path, UNIFIED_ROOT);
    case 'none':
      return undefined;
  }
}
