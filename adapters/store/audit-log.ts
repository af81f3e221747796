import type pg from 'pg';

export interface AuditEntry {
  connectionId: string;
  direction: 'pipedrive-to-google' | 'google-to-pipedrive' | 'system';
  action: string;
  subject?: string;
  outcome: 'ok' | 'skipped' | 'failed';
  detail?: Record<string, unknown>;
  /** Same key twice → one row: an activity retried after it already wrote still leaves one entry. */
  idempotencyKey?: string;
}

export async function writeAudit(db: pg.Pool, e: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (connection_id, direction, action, subject, outcome, detail, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [e.connectionId, e.direction, e.action, e.subject ?? null, e.outcome, e.detail ?? {}, e.idempotencyKey ?? null],
  );
}

export interface AuditRow {
  id: number;
  at: string;
  direction: AuditEntry['direction'];
  action: string;
  subject: string | null;
  outcome: AuditEntry['outcome'];
  detail: Record<string, unknown>;
}

/** The latest entries of a connection's audit log, newest first. */
export async function recentAudit(db: pg.Pool, connectionId: string, limit = 20): Promise<AuditRow[]> {
  const { rows } = await db.query<Omit<AuditRow, 'id' | 'at'> & { id: string; at: Date }>(
    `SELECT id, at, direction, action, subject, outcome, detail FROM audit_log
     WHERE connection_id = $1 ORDER BY id DESC LIMIT $2`,
    [connectionId, limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), at: r.at.toISOString() }));
}
