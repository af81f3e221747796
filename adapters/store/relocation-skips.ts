/**
 * Linked events a calendar switch could not move (Google refuses recurring instances and other people's events),
 * per target calendar: the relocation leaves them out of later batches, and the user sees them reported.
 */
import type pg from 'pg';

export async function recordRelocationSkip(
  db: pg.Pool,
  connectionId: string,
  activityId: number,
  calendarId: string,
  reason: string,
): Promise<void> {
  await db.query(
    `INSERT INTO relocation_skips (connection_id, activity_id, calendar_id, reason) VALUES ($1, $2, $3, $4)
     ON CONFLICT (connection_id, activity_id, calendar_id) DO UPDATE SET reason = EXCLUDED.reason`,
    [connectionId, activityId, calendarId, reason],
  );
}

/** Activity ids skipped for moves into `calendarId`. */
export async function relocationSkips(db: pg.Pool, connectionId: string, calendarId: string): Promise<Set<number>> {
  const { rows } = await db.query<{ activity_id: string }>(
    'SELECT activity_id FROM relocation_skips WHERE connection_id = $1 AND calendar_id = $2',
    [connectionId, calendarId],
  );
  return new Set(rows.map((r) => Number(r.activity_id)));
}
