/**
 * The Google push channel registry: which channels exist for which connection, their token (hashed) and
 * expiry. The push ingress trusts a notification only through this table.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { secretContext, type SecretBox } from '../../lib/secret-box.js';

export interface WatchChannel {
  channelId: string;
  connectionId: string;
  calendarId: string;
  resourceId: string | null;
  expiration: string;
  state: 'active' | 'stopped';
}

interface ChannelRow {
  channel_id: string;
  connection_id: string;
  calendar_id: string;
  resource_id: string | null;
  token_hash: string;
  expiration: Date;
  state: 'active' | 'stopped';
}

function toChannel(r: ChannelRow): WatchChannel {
  return {
    channelId: r.channel_id,
    connectionId: r.connection_id,
    calendarId: r.calendar_id,
    resourceId: r.resource_id,
    expiration: r.expiration.toISOString(),
    state: r.state,
  };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function saveChannel(db: pg.Pool, c: WatchChannel, token: string): Promise<void> {
  await db.query(
    `INSERT INTO watch_channels (channel_id, connection_id, calendar_id, resource_id, token_hash, expiration, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (channel_id) DO UPDATE SET resource_id = $4, expiration = $6, state = $7`,
    [c.channelId, c.connectionId, c.calendarId, c.resourceId, hashToken(token), c.expiration, c.state],
  );
}

export async function markChannelStopped(db: pg.Pool, channelId: string): Promise<void> {
  await db.query(`UPDATE watch_channels SET state = 'stopped', stopped_at = now() WHERE channel_id = $1`, [channelId]);
}

export async function activeChannels(db: pg.Pool, connectionId: string): Promise<WatchChannel[]> {
  const { rows } = await db.query<ChannelRow>(
    `SELECT * FROM watch_channels WHERE connection_id = $1 AND state = 'active' ORDER BY created_at`,
    [connectionId],
  );
  return rows.map(toChannel);
}

export type ChannelCheck =
  | { ok: true; channel: WatchChannel }
  | { ok: false; why: 'unknown-channel' | 'bad-token' | 'stopped' | 'expired' | 'wrong-resource' };

/** Verifies a notification's channel id, token and resource id against the registry (constant-time). */
export async function checkNotification(
  db: pg.Pool,
  channelId: string,
  token: string,
  resourceId: string | undefined,
  now = new Date(),
): Promise<ChannelCheck> {
  const { rows } = await db.query<ChannelRow>('SELECT * FROM watch_channels WHERE channel_id = $1', [channelId]);
  const r = rows[0];
  if (!r) return { ok: false, why: 'unknown-channel' };
  const expected = Buffer.from(r.token_hash, 'hex');
  const given = Buffer.from(hashToken(token), 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, why: 'bad-token' };
  if (r.state === 'stopped') return { ok: false, why: 'stopped' };
  if (r.expiration.getTime() <= now.getTime()) return { ok: false, why: 'expired' };
  if (r.resource_id && resourceId && r.resource_id !== resourceId) return { ok: false, why: 'wrong-resource' };
  return { ok: true, channel: toChannel(r) };
}

/**
 * Accepts a notification's `X-Goog-Message-Number` if it is higher than any accepted on the channel before, in
 * one atomic UPDATE, so of any number of concurrent copies exactly one is accepted. Google's message numbers
 * increase per channel (not necessarily by one), so a lower or equal number is a replay, or an older message
 * whose change a later message already announced. The resource id must be the channel's (when known).
 * Returns the number it replaces (for `rewindMessageNumber`), or `accepted: false`.
 */
export async function acceptMessageNumber(
  db: pg.Pool,
  channelId: string,
  resourceId: string,
  messageNumber: number,
): Promise<{ accepted: true; previous: number | null } | { accepted: false }> {
  const { rows } = await db.query<{ previous: string | null }>(
    `UPDATE watch_channels w SET last_message_number = $3
     FROM (SELECT channel_id, last_message_number AS previous FROM watch_channels WHERE channel_id = $1 FOR UPDATE) old
     WHERE w.channel_id = old.channel_id
       AND (w.resource_id IS NULL OR w.resource_id = $2)
       AND (w.last_message_number IS NULL OR w.last_message_number < $3)
     RETURNING old.previous`,
    [channelId, resourceId, messageNumber],
  );
  const row = rows[0];
  if (!row) return { accepted: false };
  return { accepted: true, previous: row.previous === null ? null : Number(row.previous) };
}

/**
 * Undoes `acceptMessageNumber` for a notification that could not be relayed (answered 503), so Google's retry of
 * the same message counts again. A later message accepted meanwhile stays: its signal covers this one's change.
 */
export async function rewindMessageNumber(
  db: pg.Pool,
  channelId: string,
  messageNumber: number,
  previous: number | null,
): Promise<void> {
  await db.query(
    'UPDATE watch_channels SET last_message_number = $3 WHERE channel_id = $1 AND last_message_number = $2',
    [channelId, messageNumber, previous],
  );
}

/**
 * The channel's token: the one stored for `channelId` if any, else `fresh`, stored now (encrypted). The first
 * attempt of the watch step fixes the token; a retry (after a crash before or after Google created the channel)
 * reads it back instead of inventing another, so the registry's hash and Google's copy never disagree.
 */
export async function channelToken(
  db: pg.Pool,
  secrets: SecretBox,
  connectionId: string,
  channelId: string,
  fresh: string,
): Promise<string> {
  // Bound to its channel: a token row copied to another channel does not decrypt.
  const context = secretContext('watch_channel_tokens', 'token_ciphertext', channelId);
  await db.query(
    `INSERT INTO watch_channel_tokens (channel_id, connection_id, token_ciphertext) VALUES ($1, $2, $3)
     ON CONFLICT (channel_id) DO NOTHING`,
    [channelId, connectionId, secrets.encrypt(fresh, context)],
  );
  const { rows } = await db.query<{ token_ciphertext: string }>(
    'SELECT token_ciphertext FROM watch_channel_tokens WHERE channel_id = $1',
    [channelId],
  );
  return secrets.decrypt(rows[0]!.token_ciphertext, context);
}

/** The registry's row of one channel, or null. */
export async function channelById(db: pg.Pool, channelId: string): Promise<WatchChannel | null> {
  const { rows } = await db.query<ChannelRow>('SELECT * FROM watch_channels WHERE channel_id = $1', [channelId]);
  return rows[0] ? toChannel(rows[0]) : null;
}
