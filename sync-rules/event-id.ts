/**
 * Deterministic Google event ids.
 *
 * Google lets the client choose an event's id (base32hex characters `a-v` and `0-9`, 5–1024 long). Deriving it from
 * (connection, activity) makes inserting an event idempotent: when an insert is retried after a timeout whose
 * request actually succeeded, Google answers 409 "duplicate" for the same id instead of creating a second event,
 * and the activity can then treat 409 as "already done". The id is a sha256 digest so that it is collision-resistant
 * across connections and activities, and reveals neither.
 *
 * Google refuses to reuse the id of a deleted event (409 as well). When an activity's event was deleted and the
 * activity must get a calendar event again (e.g. it was un-done, or moved back to a synced type), the caller passes
 * the next `generation`, which yields a fresh id.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 base32hex, lower case, without padding. */
export function base32hex(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1; // keep only the bits not yet written, so the number never overflows
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 31];
  return out;
}

/** The Google event id for an activity of a connection: 52 characters of base32hex. */
export function eventIdFor(connectionId: string, activityId: number, generation = 0): string {
  // The separator and a version tag keep distinct inputs distinct ("a1"+"2" vs "a"+"12") and let us change the scheme.
  const input = `pd-gcal-event:v1\u0000${connectionId}\u0000${activityId}\u0000${generation}`;
  return base32hex(sha256(utf8ToBytes(input)));
}

/** Whether a string is a valid client-chosen Google event id. */
export function isValidEventId(id: string): boolean {
  return /^[a-v0-9]{5,1024}$/.test(id);
}
