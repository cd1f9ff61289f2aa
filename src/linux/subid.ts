import { readFileSync } from 'node:fs';

export interface SubIdRange {
  start: number;
  count: number;
}

/** Ranges of /etc/subuid or /etc/subgid text that belong to a user, by name or by numeric id. */
export function subIdRanges(text: string, user: string, id: number): SubIdRange[] {
  const ranges: SubIdRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner === undefined || start === undefined || count === undefined) continue;
    if (owner !== user && owner !== String(id)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.count) && range.count > 0) ranges.push(range);
  }
  return ranges;
}

/** The user's ranges in a subid file; an absent file has none. */
export function readSubIdRanges(file: string, user: string, id: number): SubIdRange[] {
  try {
    return subIdRanges(readFileSync(file, 'utf8'), user, id);
  } catch {
    return [];
  }
}
