/**
 * The Pipedrive webhook inbox: a delivery is stored here before it is acknowledged, so an accepted delivery
 * survives anything that happens after (Temporal down, process crash) and is relayed when it can be.
 *
 * Exactly one party relays each row: the one that *claims* it. A claim is an atomic conditional UPDATE (or the
 * INSERT that stores the row), so of the ingress that stored a delivery, the ingresses of its concurrent
 * duplicates and the relay loops of every web process, exactly one wins; the others leave the row alone. A claim
 * is a lease (`CLAIM_LEASE_SECONDS`): if its holder dies between claiming and marking the row relayed, the row
 * becomes claimable again when the lease runs out. (If it died after Temporal took the signal but before the
 * mark, that delivery is signalled twice — the one case a Postgres row cannot rule out; the workflow coalesces
 * duplicate changes of one activity.)
 */
import type pg from 'pg';
import type { PipedriveChange } from '../pipedrive/change.js';

export interface InboxRow {
  id: number;
  connectionId: string;
  deliveryId: string;
  meta: PipedriveChange['meta'];
  /** The web service's request id of the delivery (null for rows stored before it was kept). */
  requestId: string | null;
}

/**
 * How long a claim holds. Far longer than one relay attempt (a signal has a 3 s deadline), so a live holder is
 * never overtaken; short enough that a crashed holder's rows are relayed within minutes.
 */
export const CLAIM_LEASE_SECONDS = 120;

interface RowFields {
  id: string;
  connection_id: string;
  delivery_id: string;
  meta: PipedriveChange['meta'];
  request_id: string | null;
}

const toRow = (r: RowFields): InboxRow => ({
  id: Number(r.id),
  connectionId: r.connection_id,
  deliveryId: r.delivery_id,
  meta: r.meta,
  requestId: r.request_id,
});

/**
 * Stores a delivery. `isNew` is false for a redelivery of the same `meta.id`. `claimed` is the row when the caller
 * now holds it and must relay it (then `markRelayed` or `releaseClaim`): always for a new row, and for a
 * redelivery only if the row is still unrelayed and nobody else holds it.
 */
export async function storeDelivery(
  db: pg.Pool,
  connectionId: string,
  meta: PipedriveChange['meta'],
  requestId: string | null = null,
  leaseSeconds = CLAIM_LEASE_SECONDS,
): Promise<{ isNew: boolean; claimed: InboxRow | null }> {
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO webhook_inbox (connection_id, delivery_id, meta, claimed_until, request_id)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)
     ON CONFLICT (connection_id, delivery_id) DO NOTHING RETURNING id`,
    [connectionId, meta.id, meta, leaseSeconds, requestId],
  );
  if (inserted.rows[0]) {
    const id = Number(inserted.rows[0].id);
    return { isNew: true, claimed: { id, connectionId, deliveryId: meta.id, meta, requestId } };
  }
  const claim = await db.query<RowFields>(
    `UPDATE webhook_inbox SET claimed_until = now() + make_interval(secs => $3)
     WHERE connection_id = $1 AND delivery_id = $2 AND relayed_at IS NULL
       AND (claimed_until IS NULL OR claimed_until < now())
     RETURNING id, connection_id, delivery_id, meta, request_id`,
    [connectionId, meta.id, leaseSeconds],
  );
  const held = claim.rows[0];
  // A claimed redelivery relays the stored row (the first copy's meta): they are the same delivery.
  return { isNew: false, claimed: held ? toRow(held) : null };
}

/** Claims up to `limit` unrelayed rows nobody holds, oldest first. Safe to run in several processes at once. */
export async function claimPending(db: pg.Pool, limit = 100, leaseSeconds = CLAIM_LEASE_SECONDS): Promise<InboxRow[]> {
  const { rows } = await db.query<RowFields>(
    `UPDATE webhook_inbox SET claimed_until = now() + make_interval(secs => $2)
     WHERE id IN (
       SELECT id FROM webhook_inbox
       WHERE relayed_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
       ORDER BY id LIMIT $1
       FOR UPDATE SKIP LOCKED)
     AND relayed_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
     RETURNING id, connection_id, delivery_id, meta, request_id`,
    [limit, leaseSeconds],
  );
  return rows.map(toRow).sort((a, b) => a.id - b.id);
}

/** The claimed row reached Temporal. */
export async function markRelayed(db: pg.Pool, id: number): Promise<void> {
  await db.query(
    'UPDATE webhook_inbox SET relayed_at = now(), claimed_until = NULL, attempts = attempts + 1 WHERE id = $1',
    [id],
  );
}

/** The claimed row could not be relayed now: anyone may claim it again right away. */
export async function releaseClaim(db: pg.Pool, id: number): Promise<void> {
  await db.query(
    'UPDATE webhook_inbox SET claimed_until = NULL, attempts = attempts + 1 WHERE id = $1 AND relayed_at IS NULL',
    [id],
  );
}

/**
 * Deletes relayed rows older than `retentionSeconds`, at most `batchSize` per statement and `maxBatches`
 * statements per call, so one call never holds locks or I/O for long; returns how many rows went. Unrelayed
 * rows are never pruned: they are accepted deliveries still waiting for Temporal.
 */
export async function pruneRelayed(
  db: pg.Pool,
  retentionSeconds: number,
  batchSize = 1000,
  maxBatches = 10,
): Promise<number> {
  let pruned = 0;
  for (let i = 0; i < maxBatches; i++) {
    const { rowCount } = await db.query(
      `DELETE FROM webhook_inbox WHERE id IN (
         SELECT id FROM webhook_inbox WHERE relayed_at < now() - make_interval(secs => $1)
         ORDER BY relayed_at LIMIT $2)`,
      [retentionSeconds, batchSize],
    );
    pruned += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) break;
  }
  return pruned;
}

export async function pendingCount(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_inbox WHERE relayed_at IS NULL',
  );
  return rows[0]!.n;
}
