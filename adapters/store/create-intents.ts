/**
 * Intents to create a Pipedrive activity for a Google event (see activities/sync/create-activity.ts for why).
 */
import type pg from 'pg';

export interface CreateIntent {
  marker: string;
  createdAt: string;
}

/** Records the intent, or returns the one an earlier (crashed) attempt recorded. */
export async function claimCreateIntent(
  db: pg.Pool,
  connectionId: string,
  eventId: string,
  marker: string,
): Promise<{ intent: CreateIntent; isRetry: boolean }> {
  const inserted = await db.query<{ marker: string; created_at: Date }>(
    `INSERT INTO pipedrive_create_intents (connection_id, event_id, marker) VALUES ($1, $2, $3)
     ON CONFLICT (connection_id, event_id) DO NOTHING RETURNING marker, created_at`,
    [connectionId, eventId, marker],
  );
  if (inserted.rows[0]) {
    return { intent: { marker, createdAt: inserted.rows[0].created_at.toISOString() }, isRetry: false };
  }
  const { rows } = await db.query<{ marker: string; created_at: Date }>(
    'SELECT marker, created_at FROM pipedrive_create_intents WHERE connection_id = $1 AND event_id = $2',
    [connectionId, eventId],
  );
  return { intent: { marker: rows[0]!.marker, createdAt: rows[0]!.created_at.toISOString() }, isRetry: true };
}

export async function clearCreateIntent(db: pg.Pool, connectionId: string, eventId: string): Promise<void> {
  await db.query('DELETE FROM pipedrive_create_intents WHERE connection_id = $1 AND event_id = $2', [
    connectionId,
    eventId,
  ]);
}
