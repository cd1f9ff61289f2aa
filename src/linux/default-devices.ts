/** The device nodes every container's /dev gets (runtime-spec config-linux.md "Default Devices"). */
export const DEFAULT_DEVICES: readonly { path: string; major: number; minor: number }[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];
