import { describe, expect, it } from 'vitest';
import { parseJson } from '../src/spec/json.js';

describe('parseJson', () => {
  it('keeps integers beyond 2^53 exact as bigint', () => {
    expect(parseJson('{"a": 18446744073709551615, "b": -9223372036854775808}')).toEqual({
      a: 18446744073709551615n,
      b: -9223372036854775808n,
    });
  });
  it('leaves safe integers and non-integers as numbers', () => {
    expect(parseJson('[9007199254740991, 1.5, 1e300, -1]')).toEqual([9007199254740991, 1.5, 1e300, -1]);
  });
});
