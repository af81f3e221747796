/** The deletion sweep's schedule per connection (activities/feeds/deletion-sweep.ts): when it last ran, its level. */
import type pg from 'pg';

export interface DeletionSweepState {
  lastSweepAt: string | null;
  level: number;
}

export async function getDeletionSweep(db: pg.Pool, connectionId: string): Promise<DeletionSweepState> {
  const { rows } = await db.query<{ last_sweep_at: Date | null; deletion_sweep_level: number }>(
    'SELECT last_sweep_at, deletion_sweep_level FROM pipedrive_reconcile_state WHERE connection_id = $1',
    [connectionId],
  );
  return { lastSweepAt: rows[0]?.last_sweep_at?.toISOString() ?? null, level: rows[0]?.deletion_sweep_level ?? 0 };
}

/** After a sweep (the row exists: the pass saved its cursor first). */
export async function saveDeletionSweep(db: pg.Pool, connectionId: string, state: DeletionSweepState): Promise<void> {
  await db.query(
    'UPDATE pipedrive_reconcile_state SET last_sweep_at = $2, deletion_sweep_level = $3 WHERE connection_id = $1',
    [connectionId, state.lastSweepAt, state.level],
  );
}
