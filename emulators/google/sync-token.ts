/**
 * Opaque continuation tokens.
 * - Sync token: "every change in calendar C after change counter S", minted under the calendar's sync epoch E.
 *   A token from another calendar or an older epoch (see `invalidateSyncTokens`) answers 410 fullSyncRequired.
 * - Page token: the offset into one listing plus the change counter the listing started at, so the
 *   `nextSyncToken` of the last page covers every change made while the client was paging.
 */
export interface SyncTokenState {
  calendarId: string;
  change: number;
  epoch: number;
}

export interface PageTokenState {
  offset: number;
  /** Change counter when page one was served; becomes the `nextSyncToken`. */
  snapshot: number;
  /** Baseline of an incremental listing (its sync token's change counter), if any. */
  since?: number;
  /** Fingerprint of the query the token belongs to. */
  query: string;
}

const enc = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
function dec(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

export function encodeSyncToken(s: SyncTokenState): string {
  return 'S' + enc([s.calendarId, s.change, s.epoch]);
}

export function decodeSyncToken(token: string): SyncTokenState | undefined {
  if (!token.startsWith('S')) return undefined;
  const v = dec(token.slice(1));
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'number' || typeof v[2] !== 'number')
    return undefined;
  return { calendarId: v[0], change: v[1], epoch: v[2] };
}

export function encodePageToken(p: PageTokenState): string {
  return 'P' + enc(p);
}

export function decodePageToken(token: string): PageTokenState | undefined {
  if (!token.startsWith('P')) return undefined;
  const v = dec(token.slice(1)) as Partial<PageTokenState> | undefined;
  if (!v || typeof v.offset !== 'number' || typeof v.snapshot !== 'number' || typeof v.query !== 'string')
    return undefined;
  return v as PageTokenState;
}
