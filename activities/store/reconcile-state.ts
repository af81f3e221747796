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
