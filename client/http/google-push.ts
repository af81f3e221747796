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
 * - Postgres or Temporal unreachable: 503, so Google retries (and the safety-net pull catches up regardless).
 *
 * `handleGooglePush` holds the decision (headers in, status and body out); `registerGooglePush` only wires it
 * into the server.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type pg from 'pg';
import { z } from 'zod';
import { acceptMessageNumber, checkNotification, rewindMessageNumber } from '../../adapters/store/watch-channels.js';
import { deliveries, type DeliveryResult } from '../../lib/metrics.js';
import type { SyncClient } from '../sync-client.js';
import { errorSummary, SIGNAL_DEADLINE_MS } from './pipedrive-webhook.js';

/** A header's first value (Node gives repeated headers as an array). */
const firstValue = (v: unknown) => (Array.isArray(v) ? v[0] : v);
const header = <T extends z.ZodType>(schema: T) => z.preprocess(firstValue, schema);

/**
 * The `X-Goog-*` headers of a push notification, validated once. The channel id and resource state decide whether
 * it is a notification at all (400 otherwise); the resource id and message number are checked only after the
 * channel is known (an unknown channel is 404 whatever they say), so here an invalid one reads as absent.
 */
export const pushHeadersSchema = z.object({
  'x-goog-channel-id': header(z.string().min(1).max(200)),
  'x-goog-resource-state': header(z.enum(['sync', 'exists', 'not_exists'])),
  'x-goog-channel-token': header(z.string().optional()).transform((t) => t ?? ''),
  'x-goog-resource-id': header(z.string().optional()).catch(undefined),
  'x-goog-message-number': header(
    z
      .string()
      .regex(/^[1-9]\d{0,14}$/)
      .transform(Number)
      .optional(),
  ).catch(undefined),
});

/** Notifications carry no body; a little slack for proxies that add one. */
const PUSH_BODY_LIMIT = 4 * 1024;

export interface GooglePushDeps {
  db: pg.Pool;
  sync: SyncClient;
}

/** A notification we cannot check or relay is answered 503, so Google retries it. */
const UNAVAILABLE: PushAnswer = { status: 503, body: { error: 'temporarily unavailable' }, result: 'unavailable' };

export interface PushAnswer {
  status: number;
  body: Record<string, unknown>;
  result: DeliveryResult;
}

export async function handleGooglePush(
  deps: GooglePushDeps,
  headers: IncomingHttpHeaders,
  log: FastifyBaseLogger,
  requestId?: string,
): Promise<PushAnswer> {
  const parsed = pushHeadersSchema.safeParse(headers);
  if (!parsed.success) {
    const state = firstValue(headers['x-goog-resource-state']);
    log.warn(
      { state: typeof state === 'string' ? state.slice(0, 20) : null },
      'google push without valid channel headers',
    );
    return {
      status: 400,
      body: { error: 'missing or invalid X-Goog-Channel-ID / X-Goog-Resource-State' },
      result: 'invalid',
    };
  }
  const {
    'x-goog-channel-id': channelId,
    'x-goog-resource-state': state,
    'x-goog-channel-token': token,
    'x-goog-resource-id': resourceId,
    'x-goog-message-number': messageNumber,
  } = parsed.data;
  let check;
  try {
    check = await checkNotification(deps.db, channelId, token, resourceId);
  } catch (err) {
    log.error({ channelId, err: errorSummary(err) }, 'google push could not be checked');
    return UNAVAILABLE;
  }
  if (!check.ok) {
    log.warn({ channelId, why: check.why }, 'google push rejected');
    if (check.why === 'unknown-channel')
      return { status: 404, body: { error: 'unknown channel' }, result: 'unauthorized' };
    if (check.why === 'bad-token' || check.why === 'wrong-resource')
      return { status: 403, body: { error: 'channel token does not match' }, result: 'unauthorized' };
    return { status: 200, body: { ok: true, ignored: check.why }, result: 'ignored' };
  }
  // Google sends both on every message; without them a replay cannot be told from a new message.
  if (!resourceId || (check.channel.resourceId !== null && check.channel.resourceId !== resourceId)) {
    log.warn({ channelId, why: 'wrong-resource' }, 'google push rejected');
    return { status: 403, body: { error: 'resource id does not match the channel' }, result: 'unauthorized' };
  }
  if (messageNumber === undefined) {
    log.warn({ channelId }, 'google push without a valid message number');
    return { status: 400, body: { error: 'missing or invalid X-Goog-Message-Number' }, result: 'invalid' };
  }
  let accepted;
  try {
    accepted = await acceptMessageNumber(deps.db, channelId, resourceId, messageNumber);
  } catch (err) {
    log.error({ channelId, err: errorSummary(err) }, 'google push could not be checked');
    return UNAVAILABLE;
  }
  if (!accepted.accepted) return { status: 200, body: { ok: true, ignored: 'replayed' }, result: 'duplicate' };
  if (state === 'sync') return { status: 200, body: { ok: true, ignored: 'sync' }, result: 'ignored' };
  try {
    await deps.sync.client.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
      deps.sync.googleChanged(check.channel.connectionId, {
        channelId,
        resourceState: state,
        messageNumber,
        ...(requestId ? { requestId } : {}),
      }),
    );
  } catch (err) {
    log.error({ channelId, err: errorSummary(err) }, 'google push could not be relayed');
    // Google retries a 503 with the same message number: let that retry count.
    await rewindMessageNumber(deps.db, channelId, messageNumber, accepted.previous).catch(() => undefined);
    return UNAVAILABLE;
  }
  return { status: 200, body: { ok: true }, result: 'accepted' };
}

export function registerGooglePush(app: FastifyInstance, deps: GooglePushDeps): void {
  void app.register(async (scope) => {
    // Google documents an empty body (with a JSON content type); senders that label it otherwise are still
    // heard: whatever body comes (within the limit) is read and ignored, never parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));
    scope.post(
      '/webhooks/google',
      { bodyLimit: PUSH_BODY_LIMIT, config: { unavailableStatus: 503 } },
      async (req, reply) => {
        const answer = await handleGooglePush(deps, req.headers, req.log, req.id);
        deliveries.inc({ source: 'google', result: answer.result });
        return reply.code(answer.status).send(answer.body);
      },
    );
  });
}
