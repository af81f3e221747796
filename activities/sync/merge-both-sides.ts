/**
 * Both sides of a linked pair changed since the last sync: the activity in Pipedrive and the event in Google.
 * Either direction can find out — the Pipedrive one when the event's etag moved, the Google one when the
 * activity no longer hashes to what we last wrote — and both settle it here, the same way: field by field, by
 * each side's update time, ties to Pipedrive (`sync-rules/conflict.ts`); the merge is written to whichever side
 * lacks it, and the link records it as the new common base.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { resolveConflict } from '../../sync-rules/conflict.js';
import { syncedFieldsToActivityWrite } from '../../sync-rules/mapping.js';
import type { LinkedNames, PdActivity, SyncedFields } from '../../sync-rules/types.js';
import { saveLink, type Link } from '../../adapters/store/links.js';
import type { SyncContext } from './context.js';
import { eventBodies, updateEvent, type EventBodies } from './google-event-writes.js';
import { activityContentOrNull, linkFor, syncedContent, type SyncedContent } from './linked-pair.js';
import type { SyncOutcome } from './outcome.js';

export interface BothSides {
  link: Link;
  /** The linked names both sides' content was computed with. */
  names: LinkedNames;
  pipedrive: { activity: PdActivity; content: SyncedContent };
  google: {
    event: calendar_v3.Schema$Event;
    fields: SyncedFields;
    /** The event was just read: it is written over without reading it again (its etag still guards the write). */
    justRead: boolean;
  };
  /** The activity's event bodies, when the change has them already. */
  bodies?: EventBodies;
}

export async function mergeBothSides(
  ctx: SyncContext,
  { link, names, pipedrive, google, bodies }: BothSides,
): Promise<[SyncOutcome['result'], string]> {
  const { activity } = pipedrive;
  const { event } = google;
  const resolution = resolveConflict({
    base: link.baseFields,
    pipedrive: { fields: pipedrive.content.fields, updatedAt: activity.update_time ?? new Date(0).toISOString() },
    google: { fields: google.fields, updatedAt: event.updated ?? '' },
  });
  const write = syncedFieldsToActivityWrite(resolution.merged);
  let merged: PdActivity = { ...activity, ...write };
  if (resolution.writeToPipedrive) merged = (await ctx.pipedrive.updateActivity(activity.id, write)) ?? merged;
  let written = event;
  if (resolution.writeToGoogle) {
    const body = (bodies ?? (await eventBodies(ctx, merged, names)))(link.eventGeneration, merged);
    const updated = await updateEvent(
      ctx,
      link.calendarId,
      link.eventId,
      body,
      event.etag ?? null,
      google.justRead ? event : undefined,
    );
    // Changed yet again in between: this step fails and is retried with fresh state.
    if (updated.result !== 'updated') {
      throw new Error(`event ${link.eventId} changed again while resolving a conflict; retrying`);
    }
    written = updated.event;
  }
  const content = activityContentOrNull(ctx, merged, names) ?? syncedContent(resolution.merged);
  await saveLink(
    ctx.db,
    linkFor({
      ctx,
      activity: merged,
      content,
      event: written,
      generation: link.eventGeneration,
      calendarId: link.calendarId,
      origin: link.origin,
    }),
  );
  return ['conflict-resolved', 'both-sides-changed'];
}
