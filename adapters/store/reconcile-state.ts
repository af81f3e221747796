/** The Pipedrive reconciliation cursor per connection (`updated_since` of the next safety-net pass). */
import type pg from 'pg';

export async function getReconcileCursor(db: pg.Pool, connectionId: string): Promise<string | null> {
  const { rows } = await db.query<{ updated_since: Date }>(
    'SELECT updated_since FROM pipedrive_reconcile_state WHERE connection_id = $1',
    [connectionId],
  );
  return rows[0]?.updated_since.toISOString() ?? null;
}

export async function saveReconcileCursor(db: pg.Pool, connectionId: string, updatedSince: string): Promise<void> {
  await db.query(
    `INSERT INTO pipedrive_reconcile_state (connection_id, updated_since) VALUES ($1, $2)
     ON CONFLICT (connection_id) DO UPDATE SET updated_since = $2`,
    [connectionId, updatedSince],
  );
}

export async function getLastSweep(db: pg.Pool, connectionId: string): Promise<string | null> {
  const { rows } = await db.query<{ last_sweep_at: Date | null }>(
    'SELECT last_sweep_at FROM pipedrive_reconcile_state WHERE connection_id = $1',
    [connectionId],
  );
  return rows[0]?.last_sweep_at?.toISOString() ?? null;
}

export async function saveLastSweep(db: pg.Pool, connectionId: string, at: string): Promise<void> {
  await db.query('UPDATE pipedrive_reconcile_state SET last_sweep_at = $2 WHERE connection_id = $1', [
    connectionId,
    at,
  ]);
}

/**
 * The latest moment the sync of this connection is known to have been working: its last Google pull, the newest
 * link write, the newest audit row, the last settings change. A reconciliation that lost its cursor (a new data
 * dir, a restored backup) starts there instead of "now", so what changed while nobody listened is still found.
 */
export async function lastKnownSyncTime(db: pg.Pool, connectionId: string): Promise<string | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT GREATEST(
       (SELECT max(last_pulled_at) FROM google_sync_state WHERE connection_id = $1),
       (SELECT max(updated_at) FROM links WHERE connection_id = $1),
       (SELECT max(at) FROM audit_log WHERE connection_id = $1),
       (SELECT updated_at FROM connections WHERE id = $1)
     ) AS at`,
    [connectionId],
  );
  return rows[0]?.at?.toISOString() ?? null;
}
