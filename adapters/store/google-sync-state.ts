/**
 * The Google incremental-sync token per connection and calendar. A token is saved only after every page
 * of the pull it ends was applied, so a crash mid-pull repeats the pull instead of skipping changes.
 *
 * A pull of several pages also saves its position after each page it applied (the next page's token and what the
 * pages so far produced): the next attempt of the same pull resumes there. A position belongs to the token its pull
 * started from and is only resumed while that is still the saved token; saving the new token clears it.
 */
import type pg from 'pg';

export type PullMode = 'incremental' | 'baseline' | 'full-resync';

export interface PullPosition<Carried = unknown> {
  /** The sync token the pull started from (null for a baseline). */
  from: string | null;
  /** How the pull lists: changes since `from` (incremental), or the whole calendar (baseline, full resync). */
  mode: PullMode;
  /** The `nextPageToken` of the last page applied: the page to list next. */
  pageToken: string;
  /** When the pull's first attempt started: the pull's `last_pulled_at` once it completes. */
  startedAt: string;
  /** What the pages applied so far produced, so the completed pull reports them too. */
  carried: Carried;
}

export interface GoogleSyncState {
  syncToken: string | null;
  lastPulledAt: string | null;
  /** The position of an unfinished pull, if its last attempt applied at least one page of several. */
  position: PullPosition | null;
}

export async function getSyncState(db: pg.Pool, connectionId: string, calendarId: string): Promise<GoogleSyncState> {
  const { rows } = await db.query<{
    sync_token: string | null;
    last_pulled_at: Date | null;
    pull_position: PullPosition | null;
  }>(
    'SELECT sync_token, last_pulled_at, pull_position FROM google_sync_state WHERE connection_id = $1 AND calendar_id = $2',
    [connectionId, calendarId],
  );
  return {
    syncToken: rows[0]?.sync_token ?? null,
    lastPulledAt: rows[0]?.last_pulled_at?.toISOString() ?? null,
    position: rows[0]?.pull_position ?? null,
  };
}

/** Saves the token a complete pull ended with; the pull is finished, so its position is dropped. */
export async function saveSyncToken(
  db: pg.Pool,
  connectionId: string,
  calendarId: string,
  syncToken: string,
  pulledAt: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO google_sync_state (connection_id, calendar_id, sync_token, last_pulled_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (connection_id, calendar_id) DO UPDATE SET sync_token = $3, last_pulled_at = $4, pull_position = NULL`,
    [connectionId, calendarId, syncToken, pulledAt],
  );
}

/**
 * Saves where an unfinished pull stands, after its page was applied. Only while the saved token is still the one the
 * pull started from: a stale attempt (e.g. one that outlived its timeout) cannot plant a position on a newer token.
 */
export async function savePullPosition(
  db: pg.Pool,
  connectionId: string,
  calendarId: string,
  position: PullPosition,
): Promise<void> {
  await db.query(
    `INSERT INTO google_sync_state (connection_id, calendar_id, sync_token, pull_position) VALUES ($1, $2, $3, $4)
     ON CONFLICT (connection_id, calendar_id) DO UPDATE SET pull_position = $4
       WHERE google_sync_state.sync_token IS NOT DISTINCT FROM $3`,
    [connectionId, calendarId, position.from, JSON.stringify(position)],
  );
}

export async function clearSyncState(db: pg.Pool, connectionId: string, calendarId?: string): Promise<void> {
  await db.query('DELETE FROM google_sync_state WHERE connection_id = $1 AND ($2::text IS NULL OR calendar_id = $2)', [
    connectionId,
    calendarId ?? null,
  ]);
}
