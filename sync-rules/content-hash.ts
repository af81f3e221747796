/**
 * A short fingerprint of the user-editable content of an activity/event pair.
 *
 * After every write we store the hash of what we wrote — in the link table and in the event's
 * `extendedProperties.private.pdContentHash`. When a webhook or push notification then shows the same content, its
 * hash equals the stored one and the change is our own echo, not a user edit; this is what keeps the two-way sync
 * from looping. Because `SyncedFields` is the same canonical form from both sides, one hash serves both directions.
 *
 * 32 hex characters (128 bits of sha256) is far beyond what accidental collisions between two versions of one
 * activity need, and short enough for the link table and Google's 1024-character property values.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { SyncedFields } from './types.js';

/** JSON with object keys sorted at every level, so equal content always serializes identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function contentHash(fields: SyncedFields): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(fields)))).slice(0, 32);
}
