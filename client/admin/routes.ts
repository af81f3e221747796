/**
 * The admin HTTP API, under `/api/admin/`: what an operator (or the `calendar-sync` CLI) needs to look at and
 * steer users' syncs — list connections with their state, show one with its live status and recent audit
 * log, start/pause/resume/disconnect, change settings, and start, watch and cancel an "upload unsynced".
 *
 * Every request carries `Authorization: Bearer <admin token>` (compared in constant time): missing → 401,
 * wrong → 403; without a configured token the API answers 503 to everything. Bodies are validated with zod
 * and bad input answers 4xx before anything changes. Settings changes go through the workflow's `configure`
 * update, whose validator is the authority: its rejection becomes a 400 with the reasons. Responses never
 * carry credentials.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import type pg from 'pg';
import { z } from 'zod';
import {
  credentialPresence,
  getConnection,
  listConnections,
  wipeCredentials,
  type Connection,
} from '../../adapters/store/connections.js';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { parseSettings, type SyncSettings } from '../../sync-rules/settings.js';
import {
  INVALID_SETTINGS,
  INVALID_UPLOAD_OPTIONS,
  status as statusQuery,
  type SyncStatus,
} from '../../workflows/contract.js';
import { rejectedIssues } from '../update-rejection.js';
import { workflowIdFor } from '../../workflows/names.js';
import { parseUploadOptions } from '../../workflows/upload-options.js';
import { SYNC_STATE, type SyncState } from '../../workflows/search-attributes.js';
import { recentAudit } from '../../adapters/store/audit-log.js';
import { HttpProblem as HttpError } from '../http/http-problem.js';
import type { SyncClient } from '../sync-client.js';
import { resync, retry, SUBJECT_MAX } from '../health-actions.js';
import type {
  ActionResult,
  ConnectionDetail,
  ResyncView,
  ConnectionSummary,
  ConnectionView,
  SettingsView,
  UploadProgress,
  UploadProgressView,
  UploadStartedView,
  WorkflowView,
} from './types.js';

type Request = FastifyRequest<{ Params: { id?: string }; Querystring: { audit?: string } }>;

export interface AdminDeps {
  db: pg.Pool;
  sync: SyncClient;
  /** The admin token (`CALENDAR_SYNC_ADMIN_TOKEN`); without it the admin API is disabled. */
  adminToken?: string;
}

export const ADMIN_PREFIX = '/api/admin';

/** How many audit entries `GET /connections/:id` returns by default, and at most. */
const DEFAULT_AUDIT_LIMIT = 20;
const MAX_AUDIT_LIMIT = 200;
/** A status query needs a worker; an operator should not wait long when none is running. */
const QUERY_DEADLINE_MS = 5000;
/** Admin bodies are small JSON documents (settings, upload options). */
const ADMIN_BODY_LIMIT = 32 * 1024;
/**
 * Per client address. The CLI makes a handful of requests per command; a guessing attacker gets 429s long
 * before a token could be found (and every wrong token is logged).
 */
const ADMIN_RATE = { rateLimit: { max: 300, timeWindow: '1 minute' } };

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const on = (method: 'GET' | 'POST' | 'PATCH', path: string, handler: (req: Request) => Promise<unknown>) =>
    app.route<{ Params: { id?: string }; Querystring: { audit?: string } }>({
      method,
      url: `${ADMIN_PREFIX}${path}`,
      bodyLimit: ADMIN_BODY_LIMIT,
      config: ADMIN_RATE,
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } },
        querystring: { type: 'object', properties: { audit: { type: 'string', maxLength: 10 } } },
      },
      // Before the body is read (an unauthenticated client's body is never parsed), after the rate limit
      // (onRequest), so wrong guesses count towards it.
      preParsing: async (req, _reply, payload) => {
        authenticate(deps, req as Request);
        return payload;
      },
      handler: async (req, reply) => reply.header('cache-control', 'no-store').send(await handler(req)),
    });

  on('GET', '/connections', () => listAll(deps));
  on('GET', '/connections/:id', async (req) => {
    const connection = await requireConnection(deps, req);
    const limit = auditLimit(req.query.audit ?? null);
    const [workflow, status, audit] = await Promise.all([
      describeWorkflow(deps.sync, connection.id),
      liveStatus(deps.sync, connection.id),
      recentAudit(deps.db, connection.id, limit),
    ]);
    return { connection: await view(deps.db, connection), workflow, status, audit } satisfies ConnectionDetail;
  });

  on('POST', '/connections/:id/start', async (req) => {
    const connection = await requireConnection(deps, req);
    const changes = parseBody(settingsPatchSchema, req, {});
    const settings = await configure(deps, connection, { ...changes, enabled: true });
    req.log.info({ connectionId: connection.id }, 'admin: sync started');
    return { connectionId: connection.id, settings } satisfies SettingsView;
  });
  on('POST', '/connections/:id/pause', async (req) => {
    const connection = await requireConnection(deps, req);
    parseBody(emptySchema, req, {});
    const status = await deps.sync.pause(connection.id);
    req.log.info({ connectionId: connection.id }, 'admin: sync paused');
    return { connectionId: connection.id, status } satisfies ActionResult;
  });
  on('POST', '/connections/:id/resume', async (req) => {
    const connection = await requireConnection(deps, req);
    parseBody(emptySchema, req, {});
    const status = await deps.sync.resume(connection.id);
    req.log.info({ connectionId: connection.id }, 'admin: sync resumed');
    return { connectionId: connection.id, status } satisfies ActionResult;
  });
  on('POST', '/connections/:id/disconnect', async (req) => {
    const connection = await requireConnection(deps, req);
    parseBody(emptySchema, req, {});
    const status = await disconnectSync(deps.sync, connection.id);
    // Only after the workflow removed the webhooks and the channel (it needs the credentials for that).
    const wiped = await wipeCredentials(deps.db, connection.id);
    req.log.info(
      { connectionId: connection.id, wasRunning: status !== null, credentialsWiped: wiped },
      'admin: sync disconnected',
    );
    return { connectionId: connection.id, status } satisfies ActionResult;
  });

  on('POST', '/connections/:id/resync', async (req) => {
    const connection = await requireConnection(deps, req);
    parseBody(emptySchema, req, {});
    const r = await resync(deps.sync, connection.id);
    if (!r.ok) throw new HttpError(r.status, { error: r.error });
    req.log.info({ connectionId: connection.id, added: r.value.added }, 'admin: resync requested');
    return { connectionId: connection.id, added: r.value.added, status: r.value.status } satisfies ResyncView;
  });
  on('POST', '/connections/:id/retry', async (req) => {
    const connection = await requireConnection(deps, req);
    const { subject } = parseBody(retrySchema, req);
    const r = await retry(deps.sync, connection.id, subject);
    if (!r.ok) throw new HttpError(r.status, { error: r.error });
    req.log.info({ connectionId: connection.id }, 'admin: retry of a failure requested');
    return { connectionId: connection.id, status: r.value } satisfies ActionResult;
  });

  on('GET', '/connections/:id/settings', async (req) => {
    const connection = await requireConnection(deps, req);
    return { connectionId: connection.id, settings: connection.settings } satisfies SettingsView;
  });
  on('PATCH', '/connections/:id/settings', async (req) => {
    const connection = await requireConnection(deps, req);
    const changes = parseBody(settingsPatchSchema, req);
    if (Object.keys(changes).length === 0) throw badRequest('no settings to change', ['send at least one setting']);
    const settings = await configure(deps, connection, changes);
    req.log.info({ connectionId: connection.id, fields: Object.keys(changes) }, 'admin: settings changed');
    return { connectionId: connection.id, settings } satisfies SettingsView;
  });

  on('POST', '/connections/:id/upload', async (req) => {
    const connection = await requireConnection(deps, req);
    const options = parseBody(uploadSchema, req, {});
    const uploadWorkflowId = await startUpload(deps.sync, connection.id, options);
    req.log.info({ connectionId: connection.id, uploadWorkflowId }, 'admin: upload started');
    return {
      connectionId: connection.id,
      uploadWorkflowId,
      progress: await uploadProgress(deps.sync, connection.id),
    } satisfies UploadStartedView;
  });
  on('GET', '/connections/:id/upload', async (req) => {
    const connection = await requireConnection(deps, req);
    return {
      connectionId: connection.id,
      progress: await uploadProgress(deps.sync, connection.id),
    } satisfies UploadProgressView;
  });
  on('POST', '/connections/:id/upload/cancel', async (req) => {
    const connection = await requireConnection(deps, req);
    parseBody(emptySchema, req, {});
    const progress = await deps.sync.cancelUpload(connection.id);
    req.log.info({ connectionId: connection.id }, 'admin: upload cancel requested');
    return { connectionId: connection.id, progress } satisfies UploadProgressView;
  });
}

// ── Authentication ───────────────────────────────────────────────────────────────────────────────────────

function authenticate({ adminToken }: AdminDeps, req: Request): void {
  const log: FastifyBaseLogger = req.log;
  if (!adminToken) throw new HttpError(503, { error: 'the admin API is disabled: set CALENDAR_SYNC_ADMIN_TOKEN' });
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    throw new HttpError(
      401,
      { error: 'missing admin token: send Authorization: Bearer <token>' },
      { 'www-authenticate': 'Bearer realm="calendar-sync-admin"' },
    );
  }
  if (!sameSecret(match[1]!, adminToken)) {
    // Worth an operator's attention; the token sent is never logged.
    log.warn({ method: req.method, route: req.routeOptions.url }, 'admin API request with a wrong token');
    throw new HttpError(403, { error: 'wrong admin token' });
  }
}

/** Constant-time comparison of two strings of any length (compares their digests). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

// ── Input ────────────────────────────────────────────────────────────────────────────────────────────────

const emptySchema = z.strictObject({});

/** The retry of one failure names its subject as the status lists it (`activity:42`, `change-feeds`). */
const retrySchema = z.strictObject({ subject: z.string().min(1).max(SUBJECT_MAX) });

/**
 * A partial settings object. Only its shape is checked here (a JSON object); the values are validated by the
 * workflow's `configure` validator after merging, so the rules live in one place (sync-rules/settings.ts).
 */
const settingsPatchSchema = z.record(z.string(), z.unknown());

/** An upload request is a JSON object; its options are checked by their one parser (`parseUploadOptions`). */
const uploadSchema = z.record(z.string(), z.unknown());

function parseBody<T>(schema: z.ZodType<T>, req: Request, whenEmpty?: T): T {
  const body: unknown = req.body;
  if (body === undefined || body === null) {
    if (whenEmpty !== undefined) return whenEmpty;
    throw badRequest('a JSON body is required', []);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw badRequest(
      'invalid request body',
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`),
    );
  }
  return parsed.data;
}

function auditLimit(raw: string | null): number {
  if (raw === null) return DEFAULT_AUDIT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_AUDIT_LIMIT) {
    throw badRequest('invalid query', [`audit: must be an integer from 0 to ${MAX_AUDIT_LIMIT}`]);
  }
  return n;
}

function badRequest(error: string, problems: string[]): HttpError {
  return new HttpError(400, { error, problems });
}

async function requireConnection(deps: AdminDeps, req: Request): Promise<Connection> {
  const id = req.params.id!;
  const connection = await getConnection(deps.db, id);
  if (!connection) throw new HttpError(404, { error: `unknown connection: ${id}` });
  return connection;
}

// ── Reading ──────────────────────────────────────────────────────────────────────────────────────────────

async function listAll(deps: AdminDeps): Promise<{ connections: ConnectionSummary[] }> {
  const connections = await listConnections(deps.db);
  const credentials = await credentialPresence(
    deps.db,
    connections.map((c) => c.id),
  );
  const workflows = await mapLimit(connections, 16, (c) => describeWorkflow(deps.sync, c.id));
  return {
    connections: connections.map((c, i) => ({
      ...toView(c, credentials.get(c.id) ?? new Set()),
      workflow: workflows[i]!,
    })),
  };
}

async function view(db: pg.Pool, c: Connection): Promise<ConnectionView> {
  return toView(c, (await credentialPresence(db, [c.id])).get(c.id) ?? new Set());
}

function toView(c: Connection, providers: Set<string>): ConnectionView {
  return {
    id: c.id,
    displayName: c.displayName,
    pipedriveUserId: c.pipedriveUserId,
    pipedriveCompanyId: c.pipedriveCompanyId,
    googleEmail: c.googleEmail,
    credentials: {
      google: providers.has('google'),
      pipedrive: providers.has('pipedrive'),
      webhook: providers.has('webhook'),
    },
    settings: c.settings,
  };
}

/** From the Temporal server alone (describe + search attribute), so it answers even when no worker runs. */
async function describeWorkflow(sync: SyncClient, connectionId: string): Promise<WorkflowView> {
  try {
    const d = await sync.client.workflow.getHandle(workflowIdFor(connectionId)).describe();
    const state = d.typedSearchAttributes.get(SYNC_STATE);
    return { execution: d.status.name, state: (state as SyncState | undefined) ?? null };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { execution: 'NOT_STARTED', state: null };
    // One workflow we cannot read (e.g. its memo was encrypted with a key no longer configured) must not
    // take the whole listing down.
    return { execution: 'UNREADABLE', state: null };
  }
}

/** The running workflow's `status` query, bounded in time; `null` when the workflow is not running. */
async function liveStatus(sync: SyncClient, connectionId: string): Promise<SyncStatus | null> {
  if ((await describeWorkflow(sync, connectionId)).execution !== 'RUNNING') return null;
  try {
    return await sync.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      sync.client.workflow.getHandle(workflowIdFor(connectionId)).query(statusQuery),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw new HttpError(504, {
      error: `the sync of ${connectionId} did not answer its status query (is a worker running?)`,
    });
  }
}

// ── Changing ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Merges `changes` into the connection's stored settings and sends them to the workflow. A running workflow's
 * `configure` validator decides (its rejection → 400 with the reasons, nothing changed). A workflow that is not
 * running is only started once the same rules accept the settings, so bad input does not even start one.
 */
async function configure(
  deps: AdminDeps,
  connection: Connection,
  changes: Record<string, unknown>,
): Promise<SyncSettings> {
  const merged: Record<string, unknown> = { ...connection.settings, ...changes };
  if ((await describeWorkflow(deps.sync, connection.id)).execution !== 'RUNNING') {
    const parsed = parseSettings(merged);
    if (!parsed.ok) throw badRequest('invalid settings', parsed.errors);
  }
  try {
    return await deps.sync.configure(connection.id, merged);
  } catch (err) {
    const issues = rejectedIssues(err, INVALID_SETTINGS);
    if (issues)
      throw badRequest(
        'invalid settings',
        issues.map((i) => i.message),
      );
    throw err;
  }
}

/** Sends the workflow's `disconnect` update; a workflow that is not running has nothing to disconnect. */
async function disconnectSync(sync: SyncClient, connectionId: string): Promise<SyncStatus | null> {
  if ((await describeWorkflow(sync, connectionId)).execution !== 'RUNNING') return null;
  try {
    return await sync.disconnect(connectionId);
  } catch (err) {
    // It finished between the describe and the update (a concurrent disconnect): same outcome.
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

// ── Upload unsynced ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Starts (or finds the running) upload. Options are checked with the rules the workflow's update validator
 * uses before anything is sent, so bad input does not even start a workflow; a rejection by the validator
 * itself still becomes a 400.
 */
async function startUpload(sync: SyncClient, connectionId: string, options: unknown): Promise<string> {
  let parsed: ReturnType<typeof parseUploadOptions>;
  try {
    parsed = parseUploadOptions(options);
  } catch {
    // The rules throw on some impossible dates (month 13) instead of reporting them.
    parsed = { ok: false, errors: ['from and to must be dates YYYY-MM-DD'] };
  }
  if (!parsed.ok) throw badRequest('invalid upload options', parsed.errors);
  try {
    return await sync.uploadUnsynced(connectionId, parsed.options);
  } catch (err) {
    const issues = rejectedIssues(err, INVALID_UPLOAD_OPTIONS);
    if (issues)
      throw badRequest(
        'invalid upload options',
        issues.map((i) => i.message),
      );
    throw err;
  }
}

/** The upload's progress query (needs a worker), bounded in time. */
async function uploadProgress(sync: SyncClient, connectionId: string): Promise<UploadProgress | null> {
  try {
    return await sync.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => sync.uploadProgress(connectionId));
  } catch {
    throw new HttpError(504, {
      error: `the upload of ${connectionId} did not answer its progress query (is a worker running?)`,
    });
  }
}

// ── Helpers ──────────────────────────────────────────────────────────────────────────────────────────────

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}
