/**
 * The Pipedrive safety net. Webhooks are lost while Pipedrive bans an endpoint (30 minutes after repeated
 * failures) and on any delivery problem, so every safety interval we ask Pipedrive what changed:
 *
 * - activities of the user updated since the cursor (with a minute of overlap for clock skew; without a cursor,
 *   since the last moment the sync is known to have worked): those whose
 *   synced content differs from what we last wrote, or that have no event yet, go back into the queue;
 * - linked activities that no longer exist (deleted activities never appear in `updated_since` lists): their
 *   ids go back into the queue too, and the normal sync removes the event. This sweep reads the linked ids in
 *   batches of 100 (10 tokens each), so it runs at its own, adaptive interval (activities/feeds/deletion-sweep.ts:
 *   from `deletionSweepSeconds`, default an hour, doubling while it finds nothing up to `deletionSweepBoundSeconds`,
 *   default a day): at 10,000 links every 5 minutes it would cost ~290,000 tokens a day, hourly 24,000, daily 1,000;
 * - linked events whose title still shows an old deal, person or organization name (a rename whose re-titling
 *   failed for good): the names are compared in our own store, so this costs no API call; it runs with the sweep.
 *
 * Only ids are returned: the workflow queues them like webhooks, so a change seen by both paths syncs once.
 */
import type { PdActivity } from '../../sync-rules/types.js';
import { getReconcileCursor, lastKnownSyncTime, saveReconcileCursor } from '../../adapters/store/reconcile-state.js';
import { getDeletionSweep, saveDeletionSweep } from '../../adapters/store/deletion-sweep-state.js';
import {
  linkByActivity,
  linkedActivityIdsOf,
  linksOutsideCalendar,
  linksWithLinkedEntities,
} from '../../adapters/store/links.js';
import { staleTitles } from '../sync/entity-rename.js';
import type { SyncContext } from '../sync/context.js';
import { classifyActivity } from '../sync/activity-classification.js';
import { levelAfterSweep, sweepDue } from './deletion-sweep.js';

const OVERLAP_MS = 60_000;

export interface ReconcileResult {
  /** Activities whose event is missing, stale or should be removed. */
  activityIds: number[];
  scanned: number;
  /**
   * When Pipedrive says each activity found by the `updated_since` list changed (its `update_time`, by id): the
   * workflow tells a change a webhook delivered from one no webhook announced. Ids without an entry (the
   * deletion sweep's, stale titles) were not delivered.
   */
  updatedAt?: Record<string, string>;
  /**
   * Linked events are still in a calendar the user switched away from: the relocation stopped early (its step
   * failed for good, e.g. during a long Google outage) and should run again.
   */
  relocationPending?: boolean;
}

export async function reconcilePipedrive(ctx: SyncContext): Promise<ReconcileResult> {
  if (!ctx.settings.enabled || !ctx.settings.calendarId) return { activityIds: [], scanned: 0 };
  const startedAt = new Date();
  // Without a cursor (lost with a data dir, or never saved), from the last moment the sync is known to have
  // worked: never "from now", which would skip what changed while nobody listened.
  const cursor =
    (await getReconcileCursor(ctx.db, ctx.connection.id)) ??
    (await lastKnownSyncTime(ctx.db, ctx.connection.id)) ??
    startedAt.toISOString();
  const ids = new Set<number>();
  const updatedAt: Record<string, string> = {};
  let scanned = 0;

  const since = new Date(Date.parse(cursor) - OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let page: string | undefined;
  do {
    const res = await ctx.pipedrive.listActivities({
      owner_id: ctx.ownerId,
      updated_since: since,
      limit: 500,
      cursor: page,
    });
    for (const activity of res.data) {
      scanned++;
      if (await needsSync(ctx, activity)) {
        ids.add(activity.id);
        if (activity.update_time) updatedAt[activity.id] = activity.update_time;
      }
    }
    page = res.nextCursor ?? undefined;
  } while (page);

  await saveReconcileCursor(ctx.db, ctx.connection.id, startedAt.toISOString());
  const sweep = await getDeletionSweep(ctx.db, ctx.connection.id);
  const { deletionSweepSeconds, deletionSweepBoundSeconds } = ctx.deps.feeds;
  const cfg = { baseSeconds: deletionSweepSeconds, boundSeconds: deletionSweepBoundSeconds };
  if (sweepDue(sweep.lastSweepAt, sweep.level, startedAt.getTime(), cfg)) {
    const deleted = await missingLinkedActivities(ctx);
    for (const id of deleted) ids.add(id);
    // A rename whose re-titling failed for good (retries exhausted) leaves titles showing the old name.
    for (const l of await staleTitles(ctx, await linksWithLinkedEntities(ctx.db, ctx.connection.id)))
      ids.add(l.activityId);
    await saveDeletionSweep(ctx.db, ctx.connection.id, {
      lastSweepAt: startedAt.toISOString(),
      level: levelAfterSweep(sweep.level, deleted.length),
    });
  }
  const relocationPending =
    (await linksOutsideCalendar(ctx.db, ctx.connection.id, ctx.settings.calendarId, 1)).length > 0;
  return { activityIds: [...ids], scanned, relocationPending, updatedAt };
}

async function needsSync(ctx: SyncContext, activity: PdActivity): Promise<boolean> {
  const link = await linkByActivity(ctx.db, ctx.connection.id, activity.id);
  const { decision } = await classifyActivity(ctx, activity, link);
  return decision.decision === 'apply';
}

async function missingLinkedActivities(ctx: SyncContext): Promise<number[]> {
  const linked = await linkedActivityIdsOf(ctx.db, ctx.connection.id);
  const missing: number[] = [];
  for (let i = 0; i < linked.length; i += 100) {
    const batch = linked.slice(i, i + 100);
    const found = new Set<number>();
    let page: string | undefined;
    do {
      const res = await ctx.pipedrive.listActivities({ ids: batch.join(','), limit: 500, cursor: page });
      for (const a of res.data) found.add(a.id);
      page = res.nextCursor ?? undefined;
    } while (page);
    for (const id of batch) if (!found.has(id)) missing.push(id);
  }
  return missing;
}
