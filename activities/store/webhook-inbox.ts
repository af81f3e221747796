/**
 * The Pipedrive webhook inbox: a delivery is stored here before it is acknowledged, so an accepted delivery
 * survives anything that happens after (Temporal down, process crash) and is relayed exactly when it can be.
 */
import type pg from 'pg';
import type { PipedriveChange } from '../pipedrive-change.js';

export interface InboxRow {
  id: number;
  connectionId: string;
  deliveryId: string;
  meta: PipedriveChange['meta'];
}

/** Stores a delivery; `isNew` is false for a redelivery of the same `meta.id` (already stored). */
export async function storeDelivery(
  db: pg.Pool,
  connectionId: string,
  meta: PipedriveChange['meta'],
): Promise<{ row: InboxRow; isNew: boolean; relayed: boolean }> {
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO webhook_inbox (connection_id, delivery_id, meta) VALUES ($1, $2, $3)
     ON CONFLICT (connection_id, delivery_id) DO NOTHING RETURNING id`,
    [connectionId, meta.id, meta],
  );
  if (inserted.rows[0]) {
    return {
      row: { id: Number(inserted.rows[0].id), connectionId, deliveryId: meta.id, meta },
      isNew: true,
      relayed: false,
    };
  }
  const { rows } = await db.query<{ id: string; relayed_at: Date | null }>(
    'SELECT id, relayed_at FROM webhook_inbox WHERE connection_id = $1 AND delivery_id = $2',
    [connectionId, meta.id],
  );
  return {
    row: { id: Number(rows[0]!.id), connectionId, deliveryId: meta.id, meta },
    isNew: false,
    relayed: rows[0]!.relayed_at !== null,
  };
}

export async function markRelayed(db: pg.Pool, id: number): Promise<void> {
  await db.query('UPDATE webhook_inbox SET relayed_at = now(), attempts = attempts + 1 WHERE id = $1', [id]);
}

/**
 * Relays pending deliveries oldest first. Rows are locked while being relayed (SKIP LOCKED), so several HTTP
 * server processes can run the relay side by side without signalling a delivery twice at the same time.
 */
export async function relayPending(
  db: pg.Pool,
  relay: (row: InboxRow) => Promise<void>,
  limit = 100,
): Promise<{ relayed: number; failed: number }> {
  const client = await db.connect();
  let relayed = 0;
  let failed = 0;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{
      id: string;
      connection_id: string;
      delivery_id: string;
      meta: PipedriveChange['meta'];
    }>(
      `SELECT id, connection_id, delivery_id, meta FROM webhook_inbox WHERE relayed_at IS NULL
       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    for (const r of rows) {
      try {
        await relay({ id: Number(r.id), connectionId: r.connection_id, deliveryId: r.delivery_id, meta: r.meta });
        await client.query('UPDATE webhook_inbox SET relayed_at = now(), attempts = attempts + 1 WHERE id = $1', [
          r.id,
        ]);
        relayed++;
      } catch {
        await client.query('UPDATE webhook_inbox SET attempts = attempts + 1 WHERE id = $1', [r.id]);
        failed++;
        break; // Temporal is still away: keep the order, try again on the next round
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { relayed, failed };
}

export async function pendingCount(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_inbox WHERE relayed_at IS NULL',
  );
  return rows[0]!.n;
}
