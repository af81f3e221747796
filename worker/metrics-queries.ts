/**
 * What the worker's metrics read from Postgres: connections by state for the `calendar_sync_connections` gauge,
 * counted on each scrape (one aggregate over a table of one row per user, cheap at any scrape interval), and the
 * Google modification time a link keeps, the start of an imported event's latency.
 */
import type pg from 'pg';
import type { ConnectionState } from '../lib/metrics.js';

export async function countConnectionsByState(db: pg.Pool): Promise<Partial<Record<ConnectionState, number>>> {
  const { rows } = await db.query<{ state: ConnectionState; n: string }>(`
    SELECT CASE
             WHEN (SELECT count(*) FROM connection_credentials cc
                    WHERE cc.connection_id = c.id AND cc.provider IN ('google', 'pipedrive')) < 2 THEN 'incomplete'
             WHEN (c.settings->>'enabled')::boolean IS TRUE THEN 'enabled'
             ELSE 'disabled'
           END AS state,
           count(*) AS n
      FROM connections c
     GROUP BY 1`);
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/** The `updated` times (ms) of the Google events linked to these activities, as the link rows recorded them. */
export async function linkedEventsUpdated(
  db: pg.Pool,
  connectionId: string,
  activityIds: number[],
): Promise<Map<number, number>> {
  const { rows } = await db.query<{ activity_id: string; google_updated: Date }>(
    `SELECT activity_id, google_updated FROM links
      WHERE connection_id = $1 AND activity_id = ANY($2::bigint[]) AND google_updated IS NOT NULL`,
    [connectionId, activityIds],
  );
  return new Map(rows.map((r) => [Number(r.activity_id), r.google_updated.getTime()]));
}
