/**
 * One Pipedrive activity → its Google event. Always reads the activity's current state (a webhook payload may
 * be stale, duplicated or reordered), decides with the pure rules, and writes at most what changed.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { resolveConflict } from '../../sync-rules/conflict.js';
import { contentHash } from '../../sync-rules/content-hash.js';
import { classifyPipedriveChange } from '../../sync-rules/echo.js';
import { activityToSyncedFields, eventToSyncedFields, syncedFieldsToActivityWrite } from '../../sync-rules/mapping.js';
import type { LinkedNames, PdActivity, SyncedFields } from '../../sync-rules/types.js';
import { deleteLink, linkByActivity, saveLink, type Link } from '../../adapters/store/links.js';
import type { SyncContext } from './context.js';
import {
  deleteEvent,
  eventBody,
  getEvent,
  insertEvent,
  isCannotMove,
  isInvitation,
  moveEvent,
  updateEvent,
  type CannotMove,
} from './google-event-writes.js';
import { linkedNames } from './linked-names.js';
import type { SyncOutcome } from './outcome.js';

export async function syncActivityToGoogle(ctx: SyncContext, activityId: number): Promise<SyncOutcome> {
  const outcome = (result: SyncOutcome['result'], reason?: string): SyncOutcome => ({
    direction: 'pipedrive-to-google',
    subject: `activity:${activityId}`,
    result,
    reason,
  });
  const calendarId = ctx.settings.calendarId;
  const [activity, link] = await Promise.all([
    ctx.pipedrive.getActivity(activityId),
    linkByActivity(ctx.db, ctx.connection.id, activityId),
  ]);
  const { decision, names, fields } = await classifyActivity(ctx, activity, link);
  if (decision.decision === 'echo') return outcome('echo');
  if (decision.decision === 'ignore') return outcome('ignored', decision.reason);

  switch (decision.effect) {
    case 'unlink':
      await deleteLink(ctx.db, ctx.connection.id, activityId);
      return outcome('unlinked', decision.reason);
    case 'delete-event': {
      // Someone else's meeting stays in the user's calendar: removing an attendee's copy is not ours to do
      // (the user may still attend); the pair is only unlinked.
      const current = link!.origin === 'google' ? await getEvent(ctx, link!.calendarId, link!.eventId) : null;
      if (current && isInvitation(current)) {
        await deleteLink(ctx.db, ctx.connection.id, activityId);
        return outcome('unlinked', 'invitation-kept-in-calendar');
      }
      await deleteEvent(ctx, link!.calendarId, link!.eventId);
      await deleteLink(ctx.db, ctx.connection.id, activityId);
      return outcome('deleted', decision.reason);
    }
    case 'create-event': {
      const written = await insertEvent(ctx, calendarId!, activity!, names);
      await saveLink(
        ctx.db,
        linkFor(ctx, activity!, fields!, written.event, written.generation, calendarId!, 'pipedrive'),
      );
      return outcome('created', decision.reason);
    }
    case 'update-event':
      return outcome(...(await pushUpdate(ctx, activity!, names, fields!, link!)));
  }
}

/**
 * What the sync rules make of an activity's current state next to its link, with the linked names and synced
 * fields that decision was based on. The safety net's reconciliation asks the same question.
 */
export async function classifyActivity(ctx: SyncContext, activity: PdActivity | null, link: Link | null) {
  const names: LinkedNames = activity ? await linkedNames(ctx, activity) : {};
  const fields = activity ? syncedFieldsOrNull(activity, ctx, names) : null;
  const decision = classifyPipedriveChange({
    activity,
    link: link ? { eventId: link.eventId, lastWrittenHash: link.lastWrittenHash } : null,
    settings: ctx.settings,
    ownerId: ctx.ownerId,
    observedHash: fields ? contentHash(fields) : null,
  });
  return { decision, names, fields };
}

/** Updates the linked event; when the user changed it in Google meanwhile, merges field by field. */
async function pushUpdate(
  ctx: SyncContext,
  activity: PdActivity,
  names: LinkedNames,
  fields: SyncedFields,
  link: Link,
): Promise<[SyncOutcome['result'], string]> {
  // The calendar setting changed since this pair was linked (and the relocation has not reached it yet): the
  // event moves to the new calendar (or, when it is gone from the old one, is written there anew), then gets
  // this change like any other.
  const calendarId = ctx.settings.calendarId!;
  if (link.calendarId !== calendarId) {
    const moved = await moveLinkedEvent(ctx, link, calendarId);
    if (isCannotMove(moved)) return ['skipped', `cannot-move-${moved.cannotMove}`];
    if (!moved) {
      const written = await insertEvent(ctx, calendarId, activity, names, link.eventGeneration);
      await saveLink(
        ctx.db,
        linkFor(ctx, activity, fields, written.event, written.generation, calendarId, link.origin),
      );
      return ['created', 'calendar-changed'];
    }
    link = moved;
  }
  const body = await eventBody(ctx, activity, names, link.eventGeneration);
  const updated = await updateEvent(ctx, link.calendarId, link.eventId, body, link.googleEtag);
  if (!updated.ok && updated.reason === 'not-organizer') {
    // An invitation (someone else organizes the event): Google lets an attendee change none of the fields the
    // sync writes but transparency, and a half-applied edit would only confuse. The Pipedrive edit stays in
    // Pipedrive; the link keeps the old hash, so the organizer's next change in Google is still applied.
    return ['skipped', 'invitation-organized-by-someone-else'];
  }
  if (updated.ok) {
    await saveLink(ctx.db, {
      ...linkFor(ctx, activity, fields, updated.event, link.eventGeneration, link.calendarId, link.origin),
    });
    return ['updated', 'activity-changed'];
  }
  if (updated.reason === 'gone') {
    // Deleted in Google while Pipedrive changed it: the deletion is the user's latest word; the Google pull
    // applies it per the deletion setting. Nothing to write here.
    return ['ignored', 'event-deleted-in-google'];
  }

  // Both sides changed since the last sync (the etag moved, or a 412 when it moved between our read and write).
  const current = updated.current ?? (await getEvent(ctx, link.calendarId, link.eventId));
  if (!current) return ['ignored', 'event-deleted-in-google'];
  const resolution = resolveConflict({
    base: link.baseFields,
    pipedrive: { fields, updatedAt: activity.update_time ?? new Date(0).toISOString() },
    google: {
      fields: eventToSyncedFields(current, { names, settings: ctx.settings }),
      updatedAt: current.updated ?? '',
    },
  });
  let merged: PdActivity = { ...activity, ...syncedFieldsToActivityWrite(resolution.merged) };
  if (resolution.writeToPipedrive) {
    merged =
      (await ctx.pipedrive.updateActivity(activity.id, syncedFieldsToActivityWrite(resolution.merged))) ?? merged;
  }
  let event = current;
  if (resolution.writeToGoogle) {
    const again = await updateEvent(
      ctx,
      link.calendarId,
      link.eventId,
      await eventBody(ctx, merged, names, link.eventGeneration),
      current.etag ?? null,
      current,
    );
    // Changed yet again in between: this step fails and is retried with fresh state.
    if (!again.ok) throw new Error(`event ${link.eventId} changed again while resolving a conflict; retrying`);
    event = again.event;
  }
  const mergedFields = syncedFieldsOrNull(merged, ctx, names) ?? resolution.merged;
  await saveLink(ctx.db, linkFor(ctx, merged, mergedFields, event, link.eventGeneration, link.calendarId, link.origin));
  return ['conflict-resolved', 'both-sides-changed'];
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

/** The link of an event that now lives in `calendarId`, as Google last returned it there. */
export function linkInCalendar(link: Link, calendarId: string, event: calendar_v3.Schema$Event): Link {
  return { ...link, calendarId, googleEtag: event.etag ?? null, googleUpdated: event.updated ?? link.googleUpdated };
}

export function syncedFieldsOrNull(activity: PdActivity, ctx: SyncContext, names: LinkedNames): SyncedFields | null {
  try {
    return activityToSyncedFields(activity, { names, settings: ctx.settings });
  } catch {
    return null; // no due date: not representable as an event (the classification ignores it)
  }
}

export function linkFor(
  ctx: SyncContext,
  activity: PdActivity,
  fields: SyncedFields,
  event: calendar_v3.Schema$Event,
  generation: number,
  calendarId: string,
  origin: Link['origin'],
): Link {
  return {
    connectionId: ctx.connection.id,
    activityId: activity.id,
    calendarId,
    eventId: event.id!,
    origin,
    lastWrittenHash: contentHash(fields),
    baseFields: fields,
    googleEtag: event.etag ?? null,
    googleUpdated: event.updated ?? null,
    pipedriveUpdateTime: activity.update_time ?? null,
    eventGeneration: generation,
    dealId: activity.deal_id ?? null,
    personId: activity.person_id ?? null,
    orgId: activity.org_id ?? null,
  };
}
