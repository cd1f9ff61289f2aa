import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/spec/config.js';
import { featuresSchema } from '../src/spec/features.js';
import { stateSchema } from '../src/spec/state.js';
import { InvalidDocumentError, parseDocument } from '../src/spec/validate.js';
import { fixtures } from './support/runtime-spec.js';

// Fixtures for other platforms: a Linux runtime ignores their platform sections (unknown fields),
// so the FreeBSD schema's own rule on freebsd.jail.vnet is not tsrun's to enforce.
const otherPlatforms = /^(freebsd|zos|solaris|windows|vm)-/;

describe('runtime-spec config fixtures', () => {
  it.each(fixtures('config', 'good'))('accepts good/%s', (_name, text) => {
    expect(() => parseDocument(configSchema, text, 'config.json')).not.toThrow();
  });

  const linuxBad = fixtures('config', 'bad').filter(([name]) => !otherPlatforms.test(name));
  it('has Linux-relevant bad fixtures to check', () => {
    expect(linuxBad.map(([n]) => n)).toEqual(['invalid-json.json', 'linux-hugepage.json', 'linux-netdevice.json', 'linux-rdma.json']);
  });

  it.each(linuxBad)('refuses bad/%s, naming the JSON path and the reason', (name, text) => {
    const expected: Record<string, RegExp> = {
      'invalid-json.json': /^config\.json is not valid JSON: /,
      'linux-hugepage.json': /^config\.json: linux\.resources\.hugepageLimits\[0\]\.pageSize: must look like "2MB"/,
      'linux-netdevice.json': /^config\.json: linux\.netDevices\.eth0\.name: .*expected string, received number/,
      'linux-rdma.json': /^config\.json: linux\.resources\.rdma\.mlx5_1\.hcaHandles: .*expected number, received string/,
    };
    expect(() => parseDocument(configSchema, text, 'config.json')).toThrow(InvalidDocumentError);
    expect(() => parseDocument(configSchema, text, 'config.json')).toThrow(expected[name] ?? /no expectation/);
  });
});

describe('runtime-spec state and features fixtures', () => {
  it.each(fixtures('state', 'good'))('accepts state good/%s', (_name, text) => {
    expect(parseDocument(stateSchema, text, 'state').status).toMatch(/^(creating|created|running|stopped)$/);
  });
  it.each(fixtures('state', 'bad'))('refuses state bad/%s', (_name, text) => {
    expect(() => parseDocument(stateSchema, text, 'state')).toThrow(InvalidDocumentError);
  });
  it.each(fixtures('features', 'good'))('accepts features good/%s', (_name, text) => {
    expect(parseDocument(featuresSchema, text, 'features').ociVersionMin).toBe('1.0.0');
  });
  it.each(fixtures('features', 'bad'))('refuses features bad/%s naming the missing field', (_name, text) => {
    expect(() => parseDocument(featuresSchema, text, 'features')).toThrow(/^features: ociVersionMax: /);
  });
});
