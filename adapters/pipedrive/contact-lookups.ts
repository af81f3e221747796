/**
 * The per-connection cache of person search answers (table `contact_lookups`): e-mail → person (with the
 * organization search named) or → nobody, so an attendee seen on many events costs one 20-token search a day,
 * not one per event.
 *
 * Why Postgres and not an in-process LRU: a connection's work runs on whichever worker picks it up, and workers
 * restart; a per-process cache would be cold on each of them and after every deploy, which is when imports come
 * in bulk. The row is also where a person creation's intent lives, and that must survive a crash. A lookup is
 * one indexed read, negligible next to the API call it saves.
 *
 * Bounded: answers expire (`HIT_TTL_MS`, `MISS_TTL_MS`), and each connection keeps at most `MAX_ROWS_PER_CONNECTION`
 * rows (the oldest answers go first).
 */
import type pg from 'pg';
import type { FoundPerson } from '../../sync-rules/contact-linking.js';

/** A found person stays cached a day: a person's e-mails and organization rarely change. */
export const HIT_TTL_MS = 24 * 3_600_000;
/** "Nobody has this address" is kept shorter, so a person added in Pipedrive is linked the same day. */
export const MISS_TTL_MS = 6 * 3_600_000;
export const MAX_ROWS_PER_CONNECTION = 2000;

export interface CachedLookup {
  /** null: searched, nobody has this address. */
  person: (FoundPerson & { orgName: string | null }) | null;
  lookedUpAt: Date;
}

interface Row {
  email: string;
  person_id: string | null;
  person_name: string | null;
  org_id: string | null;
  org_name: string | null;
  looked_up_at: Date;
}

/** The still-fresh answers for `emails` (lower-cased); missing or expired ones are absent. */
export async function cachedLookups(
  db: pg.Pool,
  connectionId: string,
  emails: readonly string[],
  now = Date.now(),
): Promise<Map<string, CachedLookup>> {
  if (emails.length === 0) return new Map();
  const { rows } = await db.query<Row>(
    `SELECT email, person_id, person_name, org_id, org_name, looked_up_at FROM contact_lookups
     WHERE connection_id = $1 AND email = ANY($2::text[]) AND create_started_at IS NULL`,
    [connectionId, emails],
  );
  const out = new Map<string, CachedLookup>();
  for (const r of rows) {
    const age = now - r.looked_up_at.getTime();
    if (age > (r.person_id === null ? MISS_TTL_MS : HIT_TTL_MS)) continue;
    out.set(r.email, {
      lookedUpAt: r.looked_up_at,
      person:
        r.person_id === null
          ? null
          : {
              personId: Number(r.person_id),
              name: r.person_name ?? '',
              orgId: r.org_id === null ? null : Number(r.org_id),
              orgName: r.org_name,
            },
    });
  }
  return out;
}

/** Records what a search (or a person creation) answered for `email`. */
export async function saveLookup(
  db: pg.Pool,
  connectionId: string,
  email: string,
  person: (FoundPerson & { orgName: string | null }) | null,
): Promise<void> {
  await db.query(
    `INSERT INTO contact_lookups (connection_id, email, person_id, person_name, org_id, org_name, looked_up_at)
     VALUES ($1, $2, $3, $4, $5, $6, now())
     ON CONFLICT (connection_id, email) DO UPDATE SET person_id = $3, person_name = $4, org_id = $5, org_name = $6,
       looked_up_at = now(),
       -- A miss leaves a creation intent in place: the retry that search cannot help still needs it.
       create_started_at = CASE WHEN $3::bigint IS NULL THEN contact_lookups.create_started_at END`,
    [
      connectionId,
      email,
      person?.personId ?? null,
      person?.name ?? null,
      person?.orgId ?? null,
      person?.orgName ?? null,
    ],
  );
}

/** Forgets the answers for `emails` (e.g. a cached person that Pipedrive no longer has). */
export async function forgetLookups(db: pg.Pool, connectionId: string, emails: readonly string[]): Promise<void> {
  if (emails.length === 0) return;
  await db.query('DELETE FROM contact_lookups WHERE connection_id = $1 AND email = ANY($2::text[])', [
    connectionId,
    emails,
  ]);
}

/**
 * Records that a person is about to be created for `email`, or returns when an earlier (interrupted) attempt
 * started to: then the caller looks for that attempt's person before creating one.
 */
export async function claimPersonCreation(
  db: pg.Pool,
  connectionId: string,
  email: string,
): Promise<{ startedAt: Date; isRetry: boolean }> {
  const { rows } = await db.query<{ started: Date; was: Date | null }>(
    `WITH old AS (SELECT create_started_at FROM contact_lookups WHERE connection_id = $1 AND email = $2)
     INSERT INTO contact_lookups (connection_id, email, looked_up_at, create_started_at) VALUES ($1, $2, now(), now())
     ON CONFLICT (connection_id, email)
       DO UPDATE SET create_started_at = COALESCE(contact_lookups.create_started_at, now())
     RETURNING create_started_at AS started, (SELECT create_started_at FROM old) AS was`,
    [connectionId, email],
  );
  const row = rows[0]!;
  return { startedAt: row.started, isRetry: row.was !== null };
}

/** Expired answers (and intents older than a day, long given up) go, and beyond the cap the oldest ones. */
export async function pruneLookups(
  db: pg.Pool,
  connectionId: string,
  limits: { ttlMs?: number; maxRows?: number } = {},
): Promise<void> {
  await db.query(
    `DELETE FROM contact_lookups WHERE connection_id = $1 AND (
       looked_up_at < now() - make_interval(secs => $2::double precision / 1000)
       OR email IN (SELECT email FROM contact_lookups WHERE connection_id = $1
                    ORDER BY looked_up_at DESC OFFSET $3))`,
    [connectionId, limits.ttlMs ?? HIT_TTL_MS, limits.maxRows ?? MAX_ROWS_PER_CONNECTION],
  );
}
