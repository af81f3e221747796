/**
 * The store of one "upload unsynced activities" run: a row per activity its scan found. Pending rows carry the
 * activity as the scan read it; the progress counters are counts of rows by state, so a batch retried after a
 * crash neither loses nor double-counts what the first attempt finished.
 */
import type pg from 'pg';
import type { PdActivity } from '../../sync-rules/types.js';

export type UploadItemState = 'pending' | 'done' | 'skipped' | 'excluded' | 'failed';

export interface NewUploadItem {
  activityId: number;
  state: UploadItemState;
  reason?: string;
  activity?: PdActivity;
}

export interface UploadCounts {
  /** Every activity the scan found (within the filters). */
  found: number;
  pending: number;
  done: number;
  skipped: number;
  excluded: number;
  failed: number;
}

/** Records a scanned page; rows that exist already (a retried scan) are left as they are. */
export async function addUploadItems(
  db: pg.Pool,
  connectionId: string,
  uploadId: string,
  items: NewUploadItem[],
): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `INSERT INTO upload_items (connection_id, upload_id, activity_id, state, reason, activity)
     SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::jsonb[])
     ON CONFLICT DO NOTHING`,
    [
      connectionId,
      uploadId,
      items.map((i) => i.activityId),
      items.map((i) => i.state),
      items.map((i) => i.reason ?? null),
      items.map((i) => (i.activity ? JSON.stringify(i.activity) : null)),
    ],
  );
}

export async function nextPendingItems(
  db: pg.Pool,
  connectionId: string,
  uploadId: string,
  limit: number,
): Promise<{ activity: PdActivity; attempts: number }[]> {
  const { rows } = await db.query<{ activity: PdActivity; attempts: number }>(
    `SELECT activity, attempts FROM upload_items
     WHERE connection_id = $1 AND upload_id = $2 AND state = 'pending'
     ORDER BY activity_id LIMIT $3`,
    [connectionId, uploadId, limit],
  );
  return rows;
}

/** Moves a pending item to its final state (and drops its activity data). A settled item stays as it is. */
export async function settleUploadItem(
  db: pg.Pool,
  connectionId: string,
  uploadId: string,
  activityId: number,
  state: Exclude<UploadItemState, 'pending'>,
  reason?: string,
): Promise<void> {
  await db.query(
    `UPDATE upload_items SET state = $4, reason = $5, activity = NULL, updated_at = now()
     WHERE connection_id = $1 AND upload_id = $2 AND activity_id = $3 AND state = 'pending'`,
    [connectionId, uploadId, activityId, state, reason ?? null],
  );
}

export async function countUploadAttempt(
  db: pg.Pool,
  connectionId: string,
  uploadId: string,
  activityId: number,
): Promise<void> {
  await db.query(
    `UPDATE upload_items SET attempts = attempts + 1, updated_at = now()
     WHERE connection_id = $1 AND upload_id = $2 AND activity_id = $3`,
    [connectionId, uploadId, activityId],
  );
}

/**
 * The live sync handled this activity (created, updated or found it gone): whatever an upload still holds for it
 * is stale, so no running upload writes it again.
 */
export async function takeOutOfUploads(db: pg.Pool, connectionId: string, activityId: number): Promise<void> {
  await db.query(
    `UPDATE upload_items SET state = 'skipped', reason = 'synced-live', activity = NULL, updated_at = now()
     WHERE connection_id = $1 AND activity_id = $2 AND state = 'pending'`,
    [connectionId, activityId],
  );
}

export async function uploadCounts(db: pg.Pool, connectionId: string, uploadId: string): Promise<UploadCounts> {
  const { rows } = await db.query<{ state: UploadItemState; n: number }>(
    `SELECT state, count(*)::int AS n FROM upload_items WHERE connection_id = $1 AND upload_id = $2 GROUP BY state`,
    [connectionId, uploadId],
  );
  const counts: UploadCounts = { found: 0, pending: 0, done: 0, skipped: 0, excluded: 0, failed: 0 };
  for (const r of rows) {
    counts[r.state] = r.n;
    counts.found += r.n;
  }
  return counts;
}

/** The ids among `activityIds` that have a calendar event already. */
export async function linkedActivityIds(
  db: pg.Pool,
  connectionId: string,
  activityIds: number[],
): Promise<Set<number>> {
  if (activityIds.length === 0) return new Set();
  const { rows } = await db.query<{ activity_id: string }>(
    'SELECT activity_id FROM links WHERE connection_id = $1 AND activity_id = ANY($2::bigint[])',
    [connectionId, activityIds],
  );
  return new Set(rows.map((r) => Number(r.activity_id)));
}

/** Drops the rows of a finished upload except the failures (the user may want to see those). */
export async function pruneUpload(db: pg.Pool, connectionId: string, uploadId: string): Promise<void> {
  await db.query(`DELETE FROM upload_items WHERE connection_id = $1 AND upload_id = $2 AND state <> 'failed'`, [
    connectionId,
    uploadId,
  ]);
}
