/**
 * The Google incremental-sync token per connection and calendar. A token is saved only after every page
 * of the pull it ends was applied, so a crash mid-pull repeats the pull instead of skipping changes.
 */
import type pg from 'pg';

export interface GoogleSyncState {
  syncToken: string | null;
  lastPulledAt: string | null;
}

export async function getSyncState(db: pg.Pool, connectionId: string, calendarId: string): Promise<GoogleSyncState> {
  const { rows } = await db.query<{ sync_token: string | null; last_pulled_at: Date | null }>(
    'SELECT sync_token, last_pulled_at FROM google_sync_state WHERE connection_id = $1 AND calendar_id = $2',
    [connectionId, calendarId],
  );
  return { syncToken: rows[0]?.sync_token ?? null, lastPulledAt: rows[0]?.last_pulled_at?.toISOString() ?? null };
}

export async function saveSyncToken(
  db: pg.Pool,
  connectionId: string,
  calendarId: string,
  syncToken: string,
  pulledAt: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO google_sync_state (connection_id, calendar_id, sync_token, last_pulled_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (connection_id, calendar_id) DO UPDATE SET sync_token = $3, last_pulled_at = $4`,
    [connectionId, calendarId, syncToken, pulledAt],
  );
}

export async function clearSyncState(db: pg.Pool, connectionId: string, calendarId?: string): Promise<void> {
  await db.query('DELETE FROM google_sync_state WHERE connection_id = $1 AND ($2::text IS NULL OR calendar_id = $2)', [
    connectionId,
    calendarId ?? null,
  ]);
}
