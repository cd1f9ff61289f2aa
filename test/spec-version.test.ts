import { describe, expect, it } from 'vitest';
import { ociVersionProblem } from '../src/spec/version.js';

describe('ociVersion range', () => {
  it.each(['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0', '1.3.7', '1.3.0+build.5'])('accepts %s', (v) => {
    expect(ociVersionProblem(v)).toBeUndefined();
  });
  it.each([
    ['2.0.0', /major version 2 is not supported/],
    ['0.5.0-dev', /major version 0 is not supported/],
    ['1.4.0', /1\.4\.0 is newer than tsrun supports/],
    ['1.0', /not a semantic version/],
    ['', /not a semantic version/],
  ])('refuses %s with a reason', (v, reason) => {
    expect(ociVersionProblem(v)).toMatch(reason);
  });
});
