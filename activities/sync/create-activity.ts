/**
 * Creating a Pipedrive activity for a new Google event, exactly once.
 *
 * Pipedrive has no idempotency key, so a retry after a crash between "activity created" and "link saved"
 * could create a second activity. We prevent that with an intent recorded before the create:
 *
 *   1. record an intent (connection, event) with a random marker — or find the intent an earlier attempt left;
 *   2. only when an intent already existed (this is a retry): look among the user's activities updated since
 *      the intent for one whose note carries the marker, and adopt it;
 *   3. otherwise create the activity with the marker in its note;
 *   4. save the link, then drop the intent.
 *
 * The first attempt pays nothing extra; only a retry after a crash spends one list request. The marker stays in
 * the activity's note ("Created from Google Calendar …"), which also tells the user where the activity came from.
 */
import { randomUUID } from 'node:crypto';
import type { calendar_v3 } from '@googleapis/calendar';
import { newActivityFromEvent } from '../../sync-rules/mapping.js';
import type { PdActivity } from '../../sync-rules/types.js';
import { claimCreateIntent, clearCreateIntent } from '../../adapters/store/create-intents.js';
import { contactLinksForEvent, withContactLinks } from './contact-links.js';
import type { SyncContext } from './context.js';

/** How far before the intent we look: Pipedrive's update_time has second resolution and clocks differ. */
const LOOKBACK_MS = 5 * 60_000;

export async function createActivityOnce(
  ctx: SyncContext,
  calendarId: string,
  event: calendar_v3.Schema$Event,
): Promise<PdActivity> {
  const eventKey = `${calendarId}/${event.id}`;
  const { intent, isRetry } = await claimCreateIntent(
    ctx.db,
    ctx.connection.id,
    eventKey,
    `Created from Google Calendar by calendar sync (ref ${randomUUID()})`,
  );
  let activity = isRetry ? await findByMarker(ctx, intent.marker, intent.createdAt) : null;
  if (!activity) {
    const contact = await contactLinksForEvent(ctx, calendarId, event);
    activity = await withContactLinks(ctx, contact, () =>
      ctx.pipedrive.createActivity({
        ...newActivityFromEvent(event, { names: {}, settings: ctx.settings }),
        ...contact?.links,
        owner_id: ctx.ownerId,
        note: intent.marker,
      }),
    );
    ctx.deps.crashPoint?.('after-pipedrive-create');
  }
  return activity;
}

/** Called once the link is saved: the intent has done its job. */
export async function finishCreate(ctx: SyncContext, calendarId: string, eventId: string): Promise<void> {
  await clearCreateIntent(ctx.db, ctx.connection.id, `${calendarId}/${eventId}`);
}

async function findByMarker(ctx: SyncContext, marker: string, since: string): Promise<PdActivity | null> {
  const updatedSince = new Date(Date.parse(since) - LOOKBACK_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let cursor: string | undefined;
  do {
    const page = await ctx.pipedrive.listActivities({
      owner_id: ctx.ownerId,
      updated_since: updatedSince,
      limit: 500,
      cursor,
    });
    const found = page.data.find((a) => ((a as { note?: string | null }).note ?? '').includes(marker));
    if (found) return found;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return null;
}
