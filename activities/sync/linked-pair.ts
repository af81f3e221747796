/**
 * The linked pair: one activity and its event, as the link row records them — where the event lives, the content
 * both sides last agreed on (and its hash, the echo check) and the etag we last saw. Both directions write it
 * through `linkFor`; a calendar switch moves the event and points the link at the new calendar.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { contentHash } from '../../sync-rules/content-hash.js';
import { activityToSyncedFields } from '../../sync-rules/mapping.js';
import type { LinkedNames, PdActivity, SyncedFields } from '../../sync-rules/types.js';
import { saveLink, type Link } from '../../adapters/store/links.js';
import type { SyncContext } from './context.js';
import { moveEvent, isCannotMove, type CannotMove } from './google-event-writes.js';

/** The content both sides agree on, with its hash: computed once per change and passed along. */
export interface SyncedContent {
  fields: SyncedFields;
  hash: string;
}

export function syncedContent(fields: SyncedFields): SyncedContent {
  return { fields, hash: contentHash(fields) };
}

/** An activity's synced content, or null when it has no due date (not representable as an event). */
export function activityContentOrNull(
  ctx: SyncContext,
  activity: PdActivity,
  names: LinkedNames,
): SyncedContent | null {
  let fields: SyncedFields;
  try {
    fields = activityToSyncedFields(activity, { names, settings: ctx.settings });
  } catch {
    return null; // no due date: the classification ignores it
  }
  return syncedContent(fields);
}

export interface LinkParts {
  ctx: SyncContext;
  /** The activity as last written or read: its id, update time and linked entities. */
  activity: PdActivity;
  /** What was written: the link's base for the next merge and its echo hash. */
  content: SyncedContent;
  /** The event as Google last returned it. */
  event: calendar_v3.Schema$Event;
  generation: number;
  calendarId: string;
  origin: Link['origin'];
  /** Left out, a save keeps what the link stored. */
  invitation?: boolean;
}

/** The link row of a pair just written. */
export function linkFor({
  ctx,
  activity,
  content,
  event,
  generation,
  calendarId,
  origin,
  invitation,
}: LinkParts): Link {
  return {
    connectionId: ctx.connection.id,
    activityId: activity.id,
    calendarId,
    eventId: event.id!,
    origin,
    lastWrittenHash: content.hash,
    baseFields: content.fields,
    googleEtag: event.etag ?? null,
    googleUpdated: event.updated ?? null,
    pipedriveUpdateTime: activity.update_time ?? null,
    eventGeneration: generation,
    dealId: activity.deal_id ?? null,
    personId: activity.person_id ?? null,
    orgId: activity.org_id ?? null,
    ...(invitation === undefined ? {} : { invitation }),
  };
}

/** The link of an event that now lives in `calendarId`, as Google last returned it there. */
export function linkInCalendar(link: Link, calendarId: string, event: calendar_v3.Schema$Event): Link {
  return { ...link, calendarId, googleEtag: event.etag ?? null, googleUpdated: event.updated ?? link.googleUpdated };
}

/**
 * Moves a linked event from the calendar it was written to into `calendarId` and points the link there. Null
 * when the event is no longer in its old calendar.
 */
export async function moveLinkedEvent(
  ctx: SyncContext,
  link: Link,
  calendarId: string,
): Promise<Link | CannotMove | null> {
  const moved = await moveEvent(ctx, link.calendarId, calendarId, link.eventId);
  if (!moved || isCannotMove(moved)) return moved;
  ctx.deps.crashPoint?.('after-google-move');
  const next = linkInCalendar(link, calendarId, moved);
  await saveLink(ctx.db, next);
  return next;
}
