// The starting_token of ListVolumes and ListSnapshots: it names the last entry returned, so entries deleted between
// two pages lose nothing, and a token this plugin did not issue is refused with ABORTED, as the CSI spec asks.
import { aborted } from '../status.js';

export function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

export function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // not ours: reported below
  }
  throw aborted(`starting_token ${JSON.stringify(token)} was not issued by this plugin`);
}

/** One page of `items` (sorted by name) after the token's entry, and the token of the next page if any is left. */
export function page<T>(items: T[], nameOf: (item: T) => string, req: { max_entries?: number; starting_token?: string }): { entries: T[]; next_token?: string } {
  const after = req.starting_token ? decodeToken(req.starting_token) : undefined;
  const rest = items.filter((item) => after === undefined || nameOf(item) > after);
  const max = req.max_entries ?? 0;
  const entries = max > 0 ? rest.slice(0, max) : rest;
  const last = entries.at(-1);
  return { entries, ...(entries.length < rest.length && last !== undefined ? { next_token: encodeToken(nameOf(last)) } : {}) };
}
