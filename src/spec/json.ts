/**
 * JSON.parse that keeps integers beyond 2^53 exact: they become bigint (seccomp argument masks,
 * "unlimited" memory values), every other value is what JSON.parse gives.
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}
