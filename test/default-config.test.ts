import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/spec/config.js';
import { defaultConfig, rootlessConfig } from '../src/spec/default-config.js';
import { specValidator } from './support/runtime-spec.js';

describe('tsrun spec configs', () => {
  const validate = specValidator('config-schema.json');
  it.each([
    ['default', defaultConfig()],
    ['rootless', rootlessConfig(1234, 5678)],
  ])('the %s config is valid for the spec JSON Schema and for tsrun', (_name, config) => {
    const json = JSON.parse(JSON.stringify(config));
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(configSchema.parse(json)).toEqual(json);
  });

  it('has a cgroup namespace only when asked (tsrun spec: on a unified host)', () => {
    const types = (c: ReturnType<typeof defaultConfig>) => c.linux?.namespaces?.map((n) => n.type);
    expect(types(defaultConfig())).toContain('cgroup');
    expect(types(defaultConfig(false))).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
    expect(types(rootlessConfig(1, 1, false))).toEqual(['pid', 'ipc', 'uts', 'mount', 'user']);
  });

  it('rootless maps the caller to root in a new user namespace and drops what needs host root', () => {
    const c = rootlessConfig(1234, 5678);
    expect(c.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1234, size: 1 }]);
    expect(c.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 5678, size: 1 }]);
    const types = c.linux?.namespaces?.map((n) => n.type);
    expect(types).toContain('user');
    expect(types).not.toContain('network');
    expect(c.linux?.resources).toBeUndefined();
    expect(c.mounts?.some((m) => m.type === 'sysfs' || m.type === 'cgroup')).toBe(false);
    expect(c.mounts?.find((m) => m.destination === '/sys')?.options).toContain('rbind');
    expect(c.mounts?.flatMap((m) => m.options ?? []).some((o) => o.startsWith('gid='))).toBe(false);
  });
});
