/**
 * Connections: who is connected on each side, their settings, and their credentials (encrypted).
 */
import type pg from 'pg';
import { DEFAULT_SETTINGS, parseSettings, type SyncSettings } from '../../sync-rules/settings.js';
import { secretContext, type SecretBox } from '../../lib/secret-box.js';

export interface Connection {
  id: string;
  displayName: string;
  pipedriveUserId: number | null;
  pipedriveCompanyId: number | null;
  pipedriveApiDomain: string | null;
  googleEmail: string | null;
  settings: SyncSettings;
}

export interface GoogleCredentials {
  refreshToken: string;
  accessToken?: string;
  /** ms since epoch */
  expiryDate?: number;
}

export type PipedriveCredentials =
  | { kind: 'api-token'; token: string }
  | { kind: 'oauth'; accessToken: string; refreshToken: string; expiresAt?: number };

/** `webhook`: the HTTP Basic credentials Pipedrive sends with this connection's webhooks. */
export type Provider = 'google' | 'pipedrive' | 'webhook';

export interface WebhookCredentials {
  username: string;
  password: string;
}

type CredentialsOf<P extends Provider> = P extends 'google'
  ? GoogleCredentials
  : P extends 'pipedrive'
    ? PipedriveCredentials
    : WebhookCredentials;

interface ConnectionRow {
  id: string;
  display_name: string;
  pipedrive_user_id: string | null;
  pipedrive_company_id: string | null;
  pipedrive_api_domain: string | null;
  google_email: string | null;
  settings: Record<string, unknown>;
}

function toConnection(row: ConnectionRow): Connection {
  const parsed = parseSettings({ ...DEFAULT_SETTINGS, ...row.settings });
  return {
    id: row.id,
    displayName: row.display_name,
    pipedriveUserId: row.pipedrive_user_id === null ? null : Number(row.pipedrive_user_id),
    pipedriveCompanyId: row.pipedrive_company_id === null ? null : Number(row.pipedrive_company_id),
    pipedriveApiDomain: row.pipedrive_api_domain,
    googleEmail: row.google_email,
    // Stored settings were validated on save; fall back to defaults only if a later release tightened the schema.
    settings: parsed.ok ? parsed.settings : DEFAULT_SETTINGS,
  };
}

export async function getConnection(db: pg.Pool, id: string): Promise<Connection | null> {
  const { rows } = await db.query<ConnectionRow>('SELECT * FROM connections WHERE id = $1', [id]);
  return rows[0] ? toConnection(rows[0]) : null;
}

export async function listConnections(db: pg.Pool): Promise<Connection[]> {
  const { rows } = await db.query<ConnectionRow>('SELECT * FROM connections ORDER BY created_at, id');
  return rows.map(toConnection);
}

export interface ConnectionInput {
  id: string;
  displayName?: string;
  pipedriveUserId?: number | null;
  pipedriveCompanyId?: number | null;
  pipedriveApiDomain?: string | null;
  googleEmail?: string | null;
  settings?: SyncSettings;
}

/** Creates the connection or updates the given fields of an existing one (idempotent). */
export async function upsertConnection(db: pg.Pool, c: ConnectionInput): Promise<Connection> {
  const { rows } = await db.query<ConnectionRow>(
    `INSERT INTO connections (id, display_name, pipedrive_user_id, pipedrive_company_id, pipedrive_api_domain, google_email, settings)
     VALUES ($1, COALESCE($2, ''), $3, $4, $5, $6, COALESCE($7::jsonb, '{}'::jsonb))
     ON CONFLICT (id) DO UPDATE SET
       display_name = COALESCE($2, connections.display_name),
       pipedrive_user_id = COALESCE($3, connections.pipedrive_user_id),
       pipedrive_company_id = COALESCE($4, connections.pipedrive_company_id),
       pipedrive_api_domain = COALESCE($5, connections.pipedrive_api_domain),
       google_email = COALESCE($6, connections.google_email),
       settings = COALESCE($7::jsonb, connections.settings),
       updated_at = now()
     RETURNING *`,
    [
      c.id,
      c.displayName ?? null,
      c.pipedriveUserId ?? null,
      c.pipedriveCompanyId ?? null,
      c.pipedriveApiDomain ?? null,
      c.googleEmail ?? null,
      c.settings ? JSON.stringify(c.settings) : null,
    ],
  );
  return toConnection(rows[0]!);
}

export async function saveSettings(db: pg.Pool, id: string, settings: SyncSettings): Promise<void> {
  const { rowCount } = await db.query('UPDATE connections SET settings = $2, updated_at = now() WHERE id = $1', [
    id,
    JSON.stringify(settings),
  ]);
  if (!rowCount) throw new Error(`connection ${id} does not exist`);
}

export async function deleteConnection(db: pg.Pool, id: string): Promise<void> {
  await db.query('DELETE FROM connections WHERE id = $1', [id]);
}

export async function saveCredentials(
  db: pg.Pool,
  box: SecretBox,
  id: string,
  provider: Provider,
  credentials: GoogleCredentials | PipedriveCredentials | WebhookCredentials,
): Promise<void> {
  await db.query(
    `INSERT INTO connection_credentials (connection_id, provider, ciphertext) VALUES ($1, $2, $3)
     ON CONFLICT (connection_id, provider) DO UPDATE SET ciphertext = $3, updated_at = now()`,
    [id, provider, box.encryptJson(credentials, credentialsContext(id, provider))],
  );
}

/** Where a connection's credentials for one provider are stored: their ciphertext is bound to that row. */
function credentialsContext(id: string, provider: Provider): string {
  return secretContext('connection_credentials', 'ciphertext', provider, id);
}

export async function loadCredentials<P extends Provider>(
  db: pg.Pool,
  box: SecretBox,
  id: string,
  provider: P,
): Promise<CredentialsOf<P> | null> {
  const { rows } = await db.query<{ ciphertext: string }>(
    'SELECT ciphertext FROM connection_credentials WHERE connection_id = $1 AND provider = $2',
    [id, provider],
  );
  const stored = rows[0]?.ciphertext;
  if (stored === undefined) return null;
  const context = credentialsContext(id, provider);
  const credentials = box.decryptJson<CredentialsOf<P>>(stored, context);
  if (box.needsReseal(stored)) {
    // Written before ciphertexts were bound to their row (or with an old key): write it back in the current
    // form. Only if nobody changed it meanwhile; a failed upgrade is retried on the next read.
    await db
      .query(
        `UPDATE connection_credentials SET ciphertext = $4, updated_at = now()
         WHERE connection_id = $1 AND provider = $2 AND ciphertext = $3`,
        [id, provider, stored, box.encryptJson(credentials, context)],
      )
      .catch(() => undefined);
  }
  return credentials;
}

/** The connection a returning user signs in to, by either account. */
export async function findConnectionByAccount(
  db: pg.Pool,
  account: { googleEmail?: string; pipedriveUserId?: number; pipedriveCompanyId?: number },
): Promise<Connection | null> {
  const { rows } = await db.query<ConnectionRow>(
    `SELECT * FROM connections
     WHERE ($1::text IS NOT NULL AND google_email = $1)
        OR ($2::bigint IS NOT NULL AND pipedrive_user_id = $2 AND pipedrive_company_id IS NOT DISTINCT FROM $3)
     ORDER BY created_at LIMIT 1`,
    [account.googleEmail ?? null, account.pipedriveUserId ?? null, account.pipedriveCompanyId ?? null],
  );
  return rows[0] ? toConnection(rows[0]) : null;
}

export async function deleteCredentials(db: pg.Pool, id: string, provider?: Provider): Promise<void> {
  await db.query(
    'DELETE FROM connection_credentials WHERE connection_id = $1 AND ($2::text IS NULL OR provider = $2)',
    [id, provider ?? null],
  );
}

/** The unique index that allows one connection per Pipedrive (company, user); see its migration. */
export const ONE_CONNECTION_PER_PIPEDRIVE_USER = 'connections_one_per_pipedrive_user';

/** True when a write failed because another connection already holds this Pipedrive (company, user). */
export function isPipedriveUserTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && e.constraint === ONE_CONNECTION_PER_PIPEDRIVE_USER;
}

/**
 * Forgets every credential of a connection — Google tokens, Pipedrive token(s), the webhook password — as a
 * disconnect must: without them a later webhook authenticates nothing and so starts nothing. Returns which
 * providers had credentials.
 */
export async function wipeCredentials(db: pg.Pool, id: string): Promise<Provider[]> {
  const { rows } = await db.query<{ provider: Provider }>(
    'DELETE FROM connection_credentials WHERE connection_id = $1 RETURNING provider',
    [id],
  );
  return rows.map((r) => r.provider).sort();
}

/** Which providers have credentials stored, per connection (the providers only — never the ciphertext). */
export async function credentialPresence(db: pg.Pool, ids: string[]): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ connection_id: string; provider: string }>(
    'SELECT connection_id, provider FROM connection_credentials WHERE connection_id = ANY($1)',
    [ids],
  );
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = out.get(r.connection_id) ?? new Set<string>();
    set.add(r.provider);
    out.set(r.connection_id, set);
  }
  return out;
}
