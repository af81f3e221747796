/**
 * One page of the user's activities for an upload: the largest page Pipedrive serves (500 activities, 10 tokens),
 * filtered, each activity recorded with what the upload will do with it. Only counts and the next cursor go back
 * to the workflow; the activities themselves stay in Postgres (`upload-items.ts`), out of workflow history.
 */
import { classifyPipedriveChange } from '../../sync-rules/echo.js';
import type { PdActivity } from '../../sync-rules/types.js';
import { withinFilter, type UploadFilter } from '../../sync-rules/upload-filter.js';
import type { SyncContext } from '../sync/context.js';
import { linkedNames } from '../sync/linked-names.js';
import {
  addUploadItems,
  linkedActivityIds,
  uploadCounts,
  type NewUploadItem,
  type UploadCounts,
} from '../../adapters/store/upload-items.js';

export interface ScannedPage {
  /** Activities of this page within the filter. */
  found: number;
  /** Of those, the ones to write (no event yet, and the settings want one). */
  candidates: number;
  nextCursor: string | null;
  /** Counters of the whole upload after this page. */
  counts: UploadCounts;
}

export type { UploadFilter };

export const PAGE_SIZE = 500;

export async function scanUploadPage(
  ctx: SyncContext,
  uploadId: string,
  filter: UploadFilter,
  cursor: string | null,
): Promise<ScannedPage> {
  const page = await ctx.pipedrive.listActivities({
    owner_id: ctx.ownerId,
    limit: PAGE_SIZE,
    sort_by: 'id',
    sort_direction: 'asc',
    ...(filter.includeDone ? {} : { done: false }),
    ...(cursor ? { cursor } : {}),
  });
  const activities = page.data.filter((a) => withinFilter(a, filter));
  const linked = await linkedActivityIds(
    ctx.db,
    ctx.connection.id,
    activities.map((a) => a.id),
  );
  const items: NewUploadItem[] = activities.map((activity) => {
    if (linked.has(activity.id)) return { activityId: activity.id, state: 'skipped', reason: 'already-linked' };
    const decision = classifyPipedriveChange({ activity, link: null, settings: ctx.settings, ownerId: ctx.ownerId });
    if (decision.decision !== 'apply') {
      return { activityId: activity.id, state: 'excluded', reason: decision.reason };
    }
    return { activityId: activity.id, state: 'pending', activity };
  });
  // Names for the titles, fetched once per deal/person/organization and cached: the write batches then read
  // them from Postgres only.
  await warmNames(
    ctx,
    items.flatMap((i) => (i.activity ? [i.activity] : [])),
  );
  await addUploadItems(ctx.db, ctx.connection.id, uploadId, items);
  return {
    found: activities.length,
    candidates: items.filter((i) => i.state === 'pending').length,
    nextCursor: page.nextCursor,
    counts: await uploadCounts(ctx.db, ctx.connection.id, uploadId),
  };
}

/** One `linkedNames` call per distinct combination: each missing name costs one Pipedrive read, once. */
async function warmNames(ctx: SyncContext, activities: PdActivity[]): Promise<void> {
  const seen = new Set<string>();
  for (const a of activities) {
    const key = `${a.deal_id ?? ''}/${a.person_id ?? ''}/${a.org_id ?? ''}`;
    if (key === '//' || seen.has(key)) continue;
    seen.add(key);
    await linkedNames(ctx, a);
  }
}
