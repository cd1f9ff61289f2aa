/** The device cgroup rules of a container, in the order they are applied. */
import { DEFAULT_DEVICES } from '../linux/default-devices.js';
import type { Resources } from './manager.js';

export interface DeviceRule {
  allow: boolean;
  type: string;
  major?: number;
  minor?: number;
  access: string;
}

/**
 * What every container may use besides the config's rules (the set engines expect, runc's): making
 * any node (mknod), its pty devices (/dev/ptmx, /dev/pts/N) and /dev/net/tun. /dev/console is a
 * bound pty, so it needs no rule of its own.
 */
const ALWAYS_ALLOWED: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

/**
 * Deny everything, then the config's rules in their order (runtime-spec: applied in the listed
 * order), then what every container may use: the default devices (which the spec says a container
 * has, so they stay usable even where linux.devices lists a node at their path) and the set above.
 * A device in linux.devices gets no rule of its own: the config's rules decide, as under runc.
 */
export function deviceRules(resources: Resources): DeviceRule[] {
  const num = (v: number | bigint | undefined) => (v === undefined || Number(v) < 0 ? undefined : Number(v));
  const configured = (resources.devices ?? []).map((d) => ({
    allow: d.allow,
    type: d.type ?? 'a',
    major: num(d.major),
    minor: num(d.minor),
    access: d.access ?? 'rwm',
  }));
  const defaults = DEFAULT_DEVICES.map((d) => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' }));
  return [{ allow: false, type: 'a', access: 'rwm' }, ...configured, ...defaults, ...ALWAYS_ALLOWED];
}

/** A rule as devices.allow / devices.deny take it: "c 1:3 rwm", "a *:* rwm". */
export function v1RuleLine(rule: DeviceRule): string {
  return rule.type === 'a' ? 'a' : `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
}
