import { describe, expect, it } from 'vitest';
import { normalizeGoStyleFlags } from '../src/cli/argv.js';
import { UserError } from '../src/cli/errors.js';
import { checkContainerId } from '../src/container/id.js';

describe('container ids', () => {
  it.each(['a', 'abc-123', 'A.b_c-d', '0', 'x'.repeat(1024)])('accepts %s', (id) => {
    expect(checkContainerId(id)).toBe(id);
  });
  it.each(['', '..', '.', '../x', 'a/b', '/abs', 'a..b', '-lead', '_lead', 'sp ace', 'nul\0x', 'ünï', 'x'.repeat(1025)])(
    'refuses %j',
    (id) => {
      expect(() => checkContainerId(id)).toThrow(UserError);
    },
  );
});

describe('Go-style single-dash long flags', () => {
  const known = new Set(['root', 'no-subreaper', 'log-format', 'bundle']);
  it('rewrites known names, keeps values after =', () => {
    expect(normalizeGoStyleFlags(['-root', '/r', '-log-format=json', 'run', '-no-subreaper', 'x'], known)).toEqual([
      '--root',
      '/r',
      '--log-format=json',
      'run',
      '--no-subreaper',
      'x',
    ]);
  });
  it('leaves short clusters, unknown names and anything after -- alone', () => {
    expect(normalizeGoStyleFlags(['-dt', '-ef', '--', '-root'], known)).toEqual(['-dt', '-ef', '--', '-root']);
  });
});
