/**
 * Pipedrive webhook ingress: `POST /webhooks/pipedrive/:connectionId`.
 *
 * Pipedrive authenticates webhooks with HTTP Basic only; each connection has its own credentials. They are
 * checked in an `onRequest` hook, before the body is read: an unauthenticated client never gets its body
 * buffered or parsed. An unknown connection and wrong credentials get the same 401 (same body, same work), so
 * the endpoint does not reveal which connection ids exist.
 *
 * An authenticated delivery is stored in the inbox *before* we answer, then relayed into the user's workflow
 * (or later by the relay loop if Temporal is unreachable). Only the documented `meta` fields we use are
 * stored: whatever else a body carries is neither stored nor signalled. Any shape Pipedrive's v2 guide allows
 * is answered 200 (what we do not sync is ignored); 400 is only for a body that is not a webhook at all, and
 * 503 when the delivery cannot be stored (Pipedrive retries) — never a 200 for a delivery we did not keep.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { getConnection, loadCredentials, type Connection } from '../../adapters/store/connections.js';
import type { SecretBox } from '../../lib/secret-box.js';
import { storeDelivery } from '../../adapters/store/webhook-inbox.js';
import { storedMeta, webhookV2Schema, type WebhookV2 } from '../../adapters/pipedrive/webhook-schema.js';
import { deliveries, type DeliveryResult } from '../../lib/metrics.js';
import type { SyncClient } from '../sync-client.js';
import { HttpProblem } from './http-problem.js';
import { relayClaimed } from './inbox-relay.js';

/** How long an ingress waits for Temporal before leaving a delivery to the relay loop. */
export const SIGNAL_DEADLINE_MS = 3000;

/** Webhook bodies are small JSON documents (a few KB); anything this large is not one. */
export const WEBHOOK_BODY_LIMIT = 256 * 1024;

export interface PipedriveIngressDeps {
  db: pg.Pool;
  secrets: SecretBox;
  sync: SyncClient;
}

const UNAUTHORIZED = new HttpProblem(
  401,
  { error: 'unauthorized' },
  { 'www-authenticate': 'Basic realm="pipedrive-webhooks"' },
);

/** What a delivery that the handler did not classify itself was answered, as a metric label. */
export function resultOfStatus(status: number): DeliveryResult {
  if (status === 401) return 'unauthorized';
  if (status >= 500) return 'unavailable';
  return status >= 400 ? 'invalid' : 'accepted';
}

/** The route: authentication before the body, then the delivery; every answer is counted once. */
export function registerPipedriveWebhook(app: FastifyInstance, deps: PipedriveIngressDeps): void {
  const authenticated = new WeakMap<FastifyRequest, Connection>();
  const results = new WeakMap<FastifyRequest, DeliveryResult>();
  app.post<{ Params: { connectionId: string } }>(
    '/webhooks/pipedrive/:connectionId',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      config: { unavailableStatus: 503 },
      onRequest: async (req) => {
        const connection = await authenticate(deps, req.params.connectionId, req.headers.authorization);
        if (!connection) {
          req.log.warn({ connectionId: req.params.connectionId }, 'pipedrive webhook refused: not authenticated');
          throw UNAUTHORIZED;
        }
        authenticated.set(req, connection);
      },
      onResponse: async (req, reply) => {
        deliveries.inc({ source: 'pipedrive', result: results.get(req) ?? resultOfStatus(reply.statusCode) });
      },
    },
    async (req) =>
      handleDelivery(deps, authenticated.get(req)!, req, (result) => {
        results.set(req, result);
      }),
  );
}

/** The connection these Basic credentials belong to, or null (unknown id and wrong password alike). */
export async function authenticate(
  deps: PipedriveIngressDeps,
  connectionId: string,
  authorization: string | undefined,
): Promise<Connection | null> {
  // Both reads whether or not the connection exists, so an unknown id costs what a known one does.
  const [connection, creds] = await Promise.all([
    getConnection(deps.db, connectionId),
    loadCredentials(deps.db, deps.secrets, connectionId, 'webhook'),
  ]);
  // Compare even when there is nothing to compare with, so both refusals cost the same.
  const matches = basicAuthMatches(authorization, creds?.username ?? '', creds?.password ?? randomPlaceholder);
  return connection && creds && matches ? connection : null;
}

const randomPlaceholder = createHash('sha256').update(String(Math.random())).digest('base64');

async function handleDelivery(
  deps: PipedriveIngressDeps,
  connection: Connection,
  req: FastifyRequest,
  count: (result: DeliveryResult) => void,
): Promise<unknown> {
  const parsed = webhookV2Schema.safeParse(req.body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    req.log.warn({ connectionId: connection.id, problems }, 'pipedrive webhook with an invalid payload');
    throw new HttpProblem(400, { error: 'not a Pipedrive webhook v2 payload', problems });
  }
  const meta = storedMeta(parsed.data);
  if (!meta) {
    count('ignored');
    return { ok: true, ignored: 'not-synced' };
  }
  if (!concernsUser(parsed.data, connection.pipedriveUserId)) {
    // Pipedrive sends every change its user may see; in a shared company most are other people's activities.
    // Dropping them here saves a signal and an API read per colleague's change (the sync would ignore them).
    count('ignored');
    return { ok: true, ignored: 'not-owned-by-connected-user' };
  }
  let stored;
  try {
    stored = await storeDelivery(deps.db, connection.id, meta, req.id);
  } catch (err) {
    req.log.error({ connectionId: connection.id, err: errorSummary(err) }, 'pipedrive webhook could not be stored');
    throw new HttpProblem(503, { error: 'temporarily unavailable, retry later' }, { 'retry-after': '5' });
  }
  count(stored.isNew ? 'accepted' : 'duplicate');
  // The request id (in this line) is stored with the row and travels in the signal it becomes.
  req.log.info(
    { connectionId: connection.id, inboxRow: stored.claimed?.id ?? null, isNew: stored.isNew },
    'webhook stored',
  );
  // Only the claim's holder signals (the row's first copy, unless its relay failed): one signal per delivery.
  // If Temporal is away, the claim is released and the relay loop delivers the stored row later.
  if (stored.claimed) await relayClaimed({ db: deps.db, sync: deps.sync, log: req.log }, stored.claimed);
  return { ok: true, duplicate: !stored.isNew };
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
function concernsUser(payload: WebhookV2, ownerId: number | null): boolean {
  if (payload.meta.entity !== 'activity' || ownerId === null) return true;
  const owners = [payload.data?.owner_id, payload.previous?.owner_id].filter((o) => o !== undefined && o !== null);
  return owners.length === 0 || owners.some((o) => Number(o) === ownerId);
}

/** An error for a log line: its class and code, never a body or a connection string. */
export function errorSummary(err: unknown): { type: string; errorCode?: string; message: string } {
  const e = err as { name?: string; code?: unknown; message?: unknown };
  return {
    type: e?.name ?? typeof err,
    // Not `code`: that key is redacted everywhere (OAuth authorization codes).
    ...(typeof e?.code === 'string' ? { errorCode: e.code } : {}),
    message: typeof e?.message === 'string' ? e.message.slice(0, 200) : String(err).slice(0, 200),
  };
}
