/**
 * Writes the events of the next stored upload items, through the same idempotent path as the live sync: the
 * deterministic event id (`eventIdFor`), so a write retried after a crash gets 409 and adopts the event the first
 * attempt created, and the link table, so the live sync and the upload never both create an event for one
 * activity. The activity data comes from the scan (`scan-page.ts`): no Pipedrive read per activity.
 *
 * The batch paces nothing itself; the workflow spaces batches out to the user's quota. A rate-limit answer stops
 * the batch early (the rest stays pending) and is reported, so the workflow slows down.
 */
import { ApplicationFailure } from '@temporalio/common';
import { classifyPipedriveChange } from '../../sync-rules/echo.js';
import type { PdActivity } from '../../sync-rules/types.js';
import { saveLink } from '../../adapters/store/links.js';
import type { SyncContext } from '../sync/context.js';
import { eventBodies, insertEvent } from '../sync/google-event-writes.js';
import { activityContentOrNull, linkFor } from '../sync/linked-pair.js';
import { linkedNames } from '../sync/linked-names.js';
import {
  countUploadAttempt,
  linkedActivityIds,
  nextPendingItems,
  settleUploadItem,
  uploadCounts,
  type UploadCounts,
} from '../../adapters/store/upload-items.js';

/** Transient failures (Google 5xx, a crash between side effects) an item may have before it counts as failed. */
const MAX_ITEM_ATTEMPTS = 5;

export interface BatchOptions {
  uploadId: string;
  size: number;
  /** Writes in flight at once. */
  concurrency: number;
}

export interface BatchReport {
  /** Counters of the whole upload after this batch (from the store: exact across retries). */
  counts: UploadCounts;
  /** Events this batch wrote. */
  written: number;
  /** Google requests this batch sent (inserts, and the reads/updates of a 409 adoption). */
  googleRequests: number;
  /** Rate-limit answers Google gave this batch. */
  rateLimited: number;
  /** Items that failed for good in this batch, with the reason. */
  failures: { activityId: number; reason: string }[];
}

type ItemResult = 'written' | 'skipped' | 'excluded' | 'failed' | 'rate-limited' | 'retry-later';

export async function uploadBatch(
  ctx: SyncContext,
  opts: BatchOptions,
  countGoogleRequests: () => number,
): Promise<BatchReport> {
  const connectionId = ctx.connection.id;
  const items = await nextPendingItems(ctx.db, connectionId, opts.uploadId, opts.size);
  const linked = await linkedActivityIds(
    ctx.db,
    connectionId,
    items.map((i) => i.activity.id),
  );
  const requestsBefore = countGoogleRequests();
  const failures: BatchReport['failures'] = [];
  let written = 0;
  let rateLimited = 0;
  let next = 0;

  const uploadOne = async (activity: PdActivity, attempts: number): Promise<ItemResult> => {
    const settle = (state: 'done' | 'skipped' | 'excluded' | 'failed', reason?: string) =>
      settleUploadItem(ctx.db, connectionId, opts.uploadId, activity.id, state, reason);
    // Linked since the scan (the live sync got to it first): nothing to write.
    if (linked.has(activity.id)) return settle('skipped', 'linked-meanwhile').then(() => 'skipped');
    // The settings may have changed since the scan.
    const decision = classifyPipedriveChange({ activity, link: null, settings: ctx.settings, ownerId: ctx.ownerId });
    if (decision.decision !== 'apply') return settle('excluded', decision.reason).then(() => 'excluded');
    try {
      const names = await linkedNames(ctx, activity);
      const content = activityContentOrNull(ctx, activity, names)!;
      const calendarId = ctx.settings.calendarId!;
      const bodies = await eventBodies(ctx, activity, names);
      const { event, generation } = await insertEvent(ctx, calendarId, activity, bodies, 0, { keepExisting: true });
      const link = linkFor({ ctx, activity, content, event, generation, calendarId, origin: 'pipedrive' });
      await saveLink(ctx.db, link, { keepExisting: true });
      await settle('done');
      return 'written';
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'GoogleRateLimited') return 'rate-limited';
      // The user's credentials or connection are gone: no item can succeed; the whole batch fails.
      if (err instanceof ApplicationFailure && err.nonRetryable && err.type !== 'GoogleRequestRejected') throw err;
      const reason = err instanceof Error ? err.message : String(err);
      if ((err instanceof ApplicationFailure && err.nonRetryable) || attempts + 1 >= MAX_ITEM_ATTEMPTS) {
        failures.push({ activityId: activity.id, reason });
        await settle('failed', reason);
        return 'failed';
      }
      await countUploadAttempt(ctx.db, connectionId, opts.uploadId, activity.id);
      return 'retry-later';
    }
  };

  const lane = async () => {
    // After a rate-limit answer, start nothing more: the rest stays pending for a later, slower batch.
    while (next < items.length && rateLimited === 0) {
      const item = items[next++]!;
      const result = await uploadOne(item.activity, item.attempts);
      if (result === 'written') written++;
      if (result === 'rate-limited') rateLimited++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, items.length)) }, lane));

  return {
    counts: await uploadCounts(ctx.db, connectionId, opts.uploadId),
    written,
    googleRequests: countGoogleRequests() - requestsBefore,
    rateLimited,
    failures,
  };
}
