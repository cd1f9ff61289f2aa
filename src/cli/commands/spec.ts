import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cgroupMode } from '../../cgroups/detect.js';
import { defaultConfig, rootlessConfig } from '../../spec/default-config.js';
import { UserError } from '../errors.js';

export function writeSpec(bundle: string, rootless: boolean): void {
  const file = join(resolve(bundle), 'config.json');
  // A cgroup namespace only on a unified host, as runc: on v1 the container's view is made by binds.
  const cgroupNs = cgroupMode() === 'unified';
  const config = rootless ? rootlessConfig(process.geteuid?.() ?? 0, process.getegid?.() ?? 0, cgroupNs) : defaultConfig(cgroupNs);
  try {
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UserError(`${file} already exists: remove it first, or pass another --bundle`);
    if (code === 'ENOENT') throw new UserError(`writing ${file}: ENOENT (the bundle directory does not exist)`);
    throw new UserError(`writing ${file}: ${code}`);
  }
}
