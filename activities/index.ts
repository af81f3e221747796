/**
 * Every side effect of the sync, built from injected dependencies so tests and the worker wire the same code
 * to different Postgres databases and API endpoints. Each activity is idempotent: Temporal may run it again
 * after a crash or a timeout, and the second run must change nothing.
 */
import type pg from 'pg';
import { writeAudit } from './audit-log.js';
import type { PipedriveChange } from './pipedrive-change.js';

export interface ActivityDeps {
  db: pg.Pool;
}

export function createActivities(deps: ActivityDeps) {
  return {
    /** Records that a Pipedrive change reached the user's sync. */
    async recordPipedriveChange(connectionId: string, change: PipedriveChange): Promise<void> {
      await writeAudit(deps.db, {
        connectionId,
        direction: 'pipedrive-to-google',
        action: 'pipedrive-change-received',
        subject: `${change.meta.entity}:${change.meta.entity_id}`,
        outcome: 'ok',
        detail: { action: change.meta.action, source: change.meta.change_source ?? null },
        idempotencyKey: `pipedrive-change:${connectionId}:${change.meta.id}`,
      });
    },
  };
}

export type SyncActivities = ReturnType<typeof createActivities>;
