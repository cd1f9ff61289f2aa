/** The device cgroup rules of a container, in the order they are applied. */
import { DEFAULT_DEVICES } from '../linux/default-devices.js';
import type { Linux } from '../spec/config.js';
import type { Resources } from './manager.js';

export interface DeviceRule {
  allow: boolean;
  type: string;
  major?: number;
  minor?: number;
  access: string;
}

/** The pty devices a container's devpts gives it: /dev/console, /dev/ptmx, /dev/pts/N. */
const PTY_DEVICES: DeviceRule[] = [
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

/**
 * Deny everything, then the config's rules in their order (runtime-spec: applied in the listed
 * order), then allow what the container's /dev holds: the default devices, the pty devices and
 * linux.devices, which a rule of the config may not take away from it.
 */
export function deviceRules(resources: Resources, devices: Linux['devices'] = []): DeviceRule[] {
  const num = (v: number | bigint | undefined) => (v === undefined || Number(v) < 0 ? undefined : Number(v));
  const configured = (resources.devices ?? []).map((d) => ({
    allow: d.allow,
    type: d.type ?? 'a',
    major: num(d.major),
    minor: num(d.minor),
    access: d.access ?? 'rwm',
  }));
  const present = [
    ...DEFAULT_DEVICES.map((d) => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' })),
    ...PTY_DEVICES,
    // FIFOs (type p) are not devices to the device controller.
    ...devices
      .filter((d) => d.type !== 'p')
      .map((d) => ({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: num(d.major), minor: num(d.minor), access: 'rwm' })),
  ];
  return [{ allow: false, type: 'a', access: 'rwm' }, ...configured, ...present];
}

/** A rule as devices.allow / devices.deny take it: "c 1:3 rwm", "a *:* rwm". */
export function v1RuleLine(rule: DeviceRule): string {
  return rule.type === 'a' ? 'a' : `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
}
