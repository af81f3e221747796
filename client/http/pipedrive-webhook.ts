/**
 * Pipedrive webhook ingress: `POST /webhooks/pipedrive/:connectionId`.
 *
 * Pipedrive authenticates webhooks with HTTP Basic only; each connection has its own credentials (checked in
 * constant time). A valid v2 delivery is stored in the inbox *before* we answer, then relayed into the user's
 * workflow; if Temporal is unreachable the delivery stays in the inbox for the relay loop. Redeliveries (same
 * `meta.id`) are acknowledged without a second signal. Pipedrive waits 10 s for an answer; we answer after one
 * insert and (usually) one signal.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { getConnection, loadCredentials } from '../../activities/store/connections.js';
import type { SecretBox } from '../../activities/store/secret-box.js';
import { storeDelivery } from '../../activities/store/webhook-inbox.js';
import { HttpError, type EmuRequest as Request, type EmuResponse as Response } from '../../lib/http-server.js';
import type { SyncClient } from '../sync-client.js';
import { relayClaimed } from './inbox-relay.js';
import type { Logger } from './log.js';

/** How long an ingress waits for Temporal before leaving a delivery to the relay loop. */
export const SIGNAL_DEADLINE_MS = 3000;

/** The webhook v2 envelope; fields we do not use pass through unchecked. */
export const webhookV2Schema = z.object({
  meta: z
    .object({
      action: z.enum(['create', 'change', 'delete']),
      entity: z.string().min(1),
      entity_id: z.union([z.string().min(1), z.number().int()]).transform(String),
      id: z.string().min(1).max(200),
      change_source: z.string().optional(),
      timestamp: z.string().optional(),
    })
    .passthrough(),
  data: z.record(z.string(), z.unknown()).nullable(),
  previous: z.record(z.string(), z.unknown()).nullable(),
});

export interface PipedriveIngressDeps {
  db: pg.Pool;
  secrets: SecretBox;
  sync: SyncClient;
  log: Logger;
}

export async function handlePipedriveWebhook(deps: PipedriveIngressDeps, req: Request): Promise<Response> {
  const connectionId = req.params.connectionId!;
  const connection = await getConnection(deps.db, connectionId).catch(unavailable(deps, connectionId));
  const creds = connection
    ? await loadCredentials(deps.db, deps.secrets, connectionId, 'webhook').catch(unavailable(deps, connectionId))
    : null;
  if (!connection || !creds) {
    deps.log.log('warn', 'pipedrive webhook for an unknown connection', { connectionId });
    return { status: 404, body: { error: 'unknown connection' } };
  }
  if (!basicAuthMatches(req.headers.authorization, creds.username, creds.password)) {
    deps.log.log('warn', 'pipedrive webhook with wrong credentials', { connectionId });
    return {
      status: 401,
      headers: { 'www-authenticate': 'Basic realm="pipedrive-webhooks"' },
      body: { error: 'wrong credentials' },
    };
  }
  let body: unknown;
  try {
    body = req.json();
  } catch {
    deps.log.log('warn', 'pipedrive webhook with malformed JSON', { connectionId });
    throw new HttpError(400, { error: 'malformed JSON' });
  }
  const parsed = webhookV2Schema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    deps.log.log('warn', 'pipedrive webhook with an invalid payload', { connectionId, problems });
    return { status: 400, body: { error: 'not a Pipedrive webhook v2 payload', problems } };
  }

  const meta = parsed.data.meta as Parameters<typeof storeDelivery>[2];
  if (!concernsUser(parsed.data, connection.pipedriveUserId)) {
    // Pipedrive sends every change its user may see; in a shared company most are other people's activities.
    // Dropping them here saves a signal and an API read per colleague's change (the sync would ignore them).
    return { status: 200, body: { ok: true, ignored: 'not-owned-by-connected-user' } };
  }
  const stored = await storeDelivery(deps.db, connectionId, meta).catch(unavailable(deps, connectionId));
  // Only the claim's holder signals (the row's first copy, unless its relay failed): one signal per delivery.
  if (stored.claimed) await relayClaimed(deps, stored.claimed);
  return { status: 200, body: { ok: true, duplicate: !stored.isNew } };
}

/**
 * A delivery we cannot check or store is answered 503: Pipedrive retries it (3 s, 30 s, 150 s) instead of
 * taking a 200 for a delivery we never kept, or a 500 that reads like a bug.
 */
function unavailable(deps: PipedriveIngressDeps, connectionId: string) {
  return (err: unknown): never => {
    deps.log.log('error', 'pipedrive webhook not stored: database unavailable', {
      connectionId,
      error: (err as Error).message,
    });
    throw new HttpError(503, { error: 'temporarily unavailable' });
  };
}

/** Compares `Authorization: Basic …` with the expected credentials in constant time. */
export function basicAuthMatches(header: string | undefined, username: string, password: string): boolean {
  const given = header?.startsWith('Basic ') ? Buffer.from(header.slice(6).trim(), 'base64').toString('utf8') : '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(`${username}:${password}`));
}

/**
 * Whether an activity change can matter to this connection: the activity is (or was, before this change)
 * owned by the connected user. Other entities (deal/person/organization renames) always may.
 */
function concernsUser(payload: z.infer<typeof webhookV2Schema>, ownerId: number | null): boolean {
  if (payload.meta.entity !== 'activity' || ownerId === null) return true;
  const owners = [payload.data?.owner_id, payload.previous?.owner_id].filter((o) => o !== undefined && o !== null);
  return owners.length === 0 || owners.some((o) => Number(o) === ownerId);
}
