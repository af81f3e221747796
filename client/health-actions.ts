/**
 * "Resync now" and the retry of one failure, as the settings API and the admin API answer them: the workflow's
 * refusal (sync off, nothing to retry) or a workflow that is not running becomes an answer with a status code and a
 * clear message; nothing is queued in either case.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { NOT_RETRYABLE, SYNC_NOT_RUNNING, type ResyncStarted, type SyncStatus } from '../workflows/contract.js';
import type { SyncClient } from './sync-client.js';
import { refusal } from './update-rejection.js';

export type HealthAction<T> = { ok: true; value: T } | { ok: false; status: 400 | 409; error: string };

/** The longest subject a client may name (subjects are short: `activity:123`, `change-feeds`). */
export const SUBJECT_MAX = 200;

export function resync(sync: SyncClient, connectionId: string): Promise<HealthAction<ResyncStarted>> {
  return answer(() => sync.resyncNow(connectionId));
}

export function retry(sync: SyncClient, connectionId: string, subject: string): Promise<HealthAction<SyncStatus>> {
  return answer(() => sync.retryFailure(connectionId, subject));
}

async function answer<T>(run: () => Promise<T>): Promise<HealthAction<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      return { ok: false, status: 409, error: 'the sync is not running: switch it on first' };
    const refused = refusal(err, [SYNC_NOT_RUNNING, NOT_RETRYABLE]);
    if (refused) return { ok: false, status: refused.type === NOT_RETRYABLE ? 400 : 409, error: refused.message };
    throw err;
  }
}
