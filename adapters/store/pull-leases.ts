/**
 * Leases on a connection's Google pull (migration 1764930000000 says why). Postgres's clock decides expiry, so the
 * workers' clocks do not have to agree.
 */
import type pg from 'pg';

/** Takes the lease for `holder` when nobody holds it or the holder's lease ran out; false when another holds it. */
export async function takePullLease(
  db: pg.Pool,
  connectionId: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO google_pull_leases (connection_id, holder, expires_at)
     VALUES ($1, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (connection_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
     WHERE google_pull_leases.expires_at < now()`,
    [connectionId, holder, ttlMs],
  );
  return rowCount === 1;
}

/** Extends the holder's lease; false when it is no longer the holder's. */
export async function renewPullLease(
  db: pg.Pool,
  connectionId: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE google_pull_leases SET expires_at = now() + $3 * interval '1 millisecond'
     WHERE connection_id = $1 AND holder = $2`,
    [connectionId, holder, ttlMs],
  );
  return rowCount === 1;
}

export async function releasePullLease(db: pg.Pool, connectionId: string, holder: string): Promise<void> {
  await db.query('DELETE FROM google_pull_leases WHERE connection_id = $1 AND holder = $2', [connectionId, holder]);
}
