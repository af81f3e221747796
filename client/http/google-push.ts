/**
 * Google push ingress: `POST /webhooks/google`. Notifications have an empty body; everything is in the
 * `X-Goog-*` headers. A notification counts only if its channel is in our registry, its token matches and the
 * channel is active:
 *
 * - `sync`: sent once when a channel is created — nothing changed, no signal;
 * - `exists` / `not_exists`: something in the calendar changed — signal the user's workflow to pull;
 * - unknown channel (404), wrong token or resource id (403): rejected, no signal;
 * - a message number at or below the channel's highest accepted one: a replay (or older than a message already
 *   relayed) — 200 and ignored;
 * - a stopped or expired channel: 200 and ignored (Google may still deliver after `channels.stop`; any other
 *   answer would only make it retry);
 * - Temporal unreachable: 503, so Google retries (and the safety-net pull catches up regardless).
 */
import type pg from 'pg';
import { acceptMessageNumber, checkNotification, rewindMessageNumber } from '../../activities/store/watch-channels.js';
import { HttpError, type EmuRequest as Request, type EmuResponse as Response } from '../../lib/http-server.js';
import type { SyncClient } from '../sync-client.js';
import type { Logger } from './log.js';
import { SIGNAL_DEADLINE_MS } from './pipedrive-webhook.js';

const RESOURCE_STATES = new Set(['sync', 'exists', 'not_exists']);

export interface GooglePushDeps {
  db: pg.Pool;
  sync: SyncClient;
  log: Logger;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function handleGooglePush(deps: GooglePushDeps, req: Request): Promise<Response> {
  const channelId = header(req, 'x-goog-channel-id');
  const state = header(req, 'x-goog-resource-state');
  const token = header(req, 'x-goog-channel-token') ?? '';
  const resourceId = header(req, 'x-goog-resource-id');
  const messageNumberHeader = header(req, 'x-goog-message-number');
  const messageNumber = Number(messageNumberHeader ?? NaN);
  if (!channelId || !state || !RESOURCE_STATES.has(state)) {
    deps.log.log('warn', 'google push without valid channel headers', {
      channelId: channelId ?? null,
      state: state ?? null,
    });
    return { status: 400, body: { error: 'missing or invalid X-Goog-Channel-ID / X-Goog-Resource-State' } };
  }
  const check = await checkNotification(deps.db, channelId, token, resourceId).catch(unavailable(deps, channelId));
  if (!check.ok) {
    deps.log.log('warn', 'google push rejected', { channelId, why: check.why });
    if (check.why === 'unknown-channel') return { status: 404, body: { error: 'unknown channel' } };
    if (check.why === 'bad-token' || check.why === 'wrong-resource')
      return { status: 403, body: { error: 'channel token does not match' } };
    return { status: 200, body: { ok: true, ignored: check.why } };
  }
  // Google sends both on every message; without them a replay cannot be told from a new message.
  if (!resourceId || (check.channel.resourceId !== null && check.channel.resourceId !== resourceId)) {
    deps.log.log('warn', 'google push rejected', { channelId, why: 'wrong-resource' });
    return { status: 403, body: { error: 'resource id does not match the channel' } };
  }
  if (!/^[1-9]\d{0,14}$/.test(messageNumberHeader ?? '')) {
    deps.log.log('warn', 'google push without a valid message number', { channelId });
    return { status: 400, body: { error: 'missing or invalid X-Goog-Message-Number' } };
  }
  const accepted = await acceptMessageNumber(deps.db, channelId, resourceId, messageNumber).catch(
    unavailable(deps, channelId),
  );
  if (!accepted.accepted) return { status: 200, body: { ok: true, ignored: 'replayed' } };
  if (state === 'sync') return { status: 200, body: { ok: true, ignored: 'sync' } };
  try {
    await deps.sync.client.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
      deps.sync.googleChanged(check.channel.connectionId, {
        channelId,
        resourceState: state,
        messageNumber,
      }),
    );
  } catch (err) {
    deps.log.log('error', 'google push could not be relayed', { channelId, error: (err as Error).message });
    // Google retries a 503 with the same message number: let that retry count.
    await rewindMessageNumber(deps.db, channelId, messageNumber, accepted.previous).catch(() => undefined);
    return { status: 503, body: { error: 'temporarily unavailable' } };
  }
  return { status: 200, body: { ok: true } };
}

/** A notification we cannot check is answered 503, so Google retries it. */
function unavailable(deps: GooglePushDeps, channelId: string) {
  return (err: unknown): never => {
    deps.log.log('error', 'google push not checked: database unavailable', {
      channelId,
      error: (err as Error).message,
    });
    throw new HttpError(503, { error: 'temporarily unavailable' });
  };
}
