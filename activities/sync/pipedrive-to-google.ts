/**
 * One Pipedrive activity → its Google event. Always reads the activity's current state (a webhook payload may
 * be stale, duplicated or reordered), decides with the pure rules, and writes at most what changed.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { eventToSyncedFields } from '../../sync-rules/mapping.js';
import type { LinkedNames, PdActivity } from '../../sync-rules/types.js';
import { deleteLink, linkByActivity, saveLink, type Link } from '../../adapters/store/links.js';
import { classifyActivity } from './activity-classification.js';
import { ridingOutBlips } from './blip-retry.js';
import type { SyncContext } from './context.js';
import {
  deleteEvent,
  eventBodies,
  insertEvent,
  isCannotMove,
  isInvitation,
  updateEvent,
} from './google-event-writes.js';
import { linkFor, moveLinkedEvent, type SyncedContent } from './linked-pair.js';
import { mergeBothSides } from './merge-both-sides.js';
import type { SyncOutcome } from './outcome.js';

/**
 * Syncs the activity, its transient API failures tried again on the spot (blip-retry.ts). One sync reads the activity
 * and the event and may write, and every call of an attempt fails it: under a steady error rate of 20% per call about
 * half the attempts failed, and the activity ran out of its attempts. The whole sync is tried again, not a single
 * call — exactly what a Temporal retry does, only sooner: the sync is idempotent after any partial effect (a created
 * event is found again by its id, a write carries the etag it read), while a lone write sent again is not.
 */
export function syncActivityToGoogle(ctx: SyncContext, activityId: number): Promise<SyncOutcome> {
  return ridingOutBlips(() => syncOnce(ctx, activityId));
}

async function syncOnce(ctx: SyncContext, activityId: number): Promise<SyncOutcome> {
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
  const { decision, names, content } = await classifyActivity(ctx, activity, link);
  if (decision.decision === 'echo') return outcome('echo');
  if (decision.decision === 'ignore') return outcome('ignored', decision.reason);

  switch (decision.effect) {
    case 'unlink':
      await deleteLink(ctx.db, ctx.connection.id, activityId);
      return outcome('unlinked', decision.reason);
    case 'delete-event': {
      // Someone else's meeting stays in the user's calendar: removing an attendee's copy is not ours to do
      // (the user may still attend); the pair is only unlinked.
      const current = link!.origin === 'google' ? await ctx.google.getEvent(link!.calendarId, link!.eventId) : null;
      if (current && isInvitation(current)) {
        await deleteLink(ctx.db, ctx.connection.id, activityId);
        return outcome('unlinked', 'invitation-kept-in-calendar');
      }
      await deleteEvent(ctx, link!.calendarId, link!.eventId);
      await deleteLink(ctx.db, ctx.connection.id, activityId);
      return outcome('deleted', decision.reason);
    }
    case 'create-event': {
      const { event, generation } = await insertEvent(
        ctx,
        calendarId!,
        activity!,
        await eventBodies(ctx, activity!, names),
      );
      await saveLink(
        ctx.db,
        linkFor({
          ctx,
          activity: activity!,
          content: content!,
          event,
          generation,
          calendarId: calendarId!,
          origin: 'pipedrive',
        }),
      );
      return outcome('created', decision.reason);
    }
    case 'update-event':
      return outcome(...(await pushUpdate(ctx, { activity: activity!, names, content: content!, link: link! })));
  }
}

/** One change of a linked activity, with what was computed for it once. */
interface ActivityChange {
  activity: PdActivity;
  names: LinkedNames;
  content: SyncedContent;
  link: Link;
}

/** Updates the linked event; when the user changed it in Google meanwhile, merges field by field. */
async function pushUpdate(ctx: SyncContext, change: ActivityChange): Promise<[SyncOutcome['result'], string]> {
  const { activity, names, content, link: linked } = change;
  const linkAfter = (event: calendar_v3.Schema$Event, calendarId: string, generation: number) =>
    linkFor({ ctx, activity, content, event, generation, calendarId, origin: linked.origin });
  // The calendar setting changed since this pair was linked (and the relocation has not reached it yet): the
  // event moves to the new calendar (or, when it is gone from the old one, is written there anew), then gets
  // this change like any other.
  const calendarId = ctx.settings.calendarId!;
  const moved = linked.calendarId !== calendarId ? await moveLinkedEvent(ctx, linked, calendarId) : linked;
  if (isCannotMove(moved)) return ['skipped', `cannot-move-${moved.cannotMove}`];
  const bodies = await eventBodies(ctx, activity, names);
  if (!moved) {
    const written = await insertEvent(ctx, calendarId, activity, bodies, linked.eventGeneration);
    await saveLink(ctx.db, linkAfter(written.event, calendarId, written.generation));
    return ['created', 'calendar-changed'];
  }
  const link = moved;
  const updated = await updateEvent(ctx, link.calendarId, link.eventId, bodies(link.eventGeneration), link.googleEtag);
  switch (updated.result) {
    case 'updated':
      await saveLink(ctx.db, linkAfter(updated.event, link.calendarId, link.eventGeneration));
      return ['updated', 'activity-changed'];
    case 'notAllowed':
      // An invitation (someone else organizes the event): Google lets an attendee change none of the fields the
      // sync writes but transparency, and a half-applied edit would only confuse. The Pipedrive edit stays in
      // Pipedrive; the link keeps the old hash, so the organizer's next change in Google is still applied.
      return ['skipped', 'invitation-organized-by-someone-else'];
    case 'gone':
      // Deleted in Google while Pipedrive changed it: the deletion is the user's latest word; the Google pull
      // applies it per the deletion setting. Nothing to write here.
      return ['ignored', 'event-deleted-in-google'];
    case 'changed': {
      // Both sides changed since the last sync (the etag moved, or a 412 when it moved between our read and write).
      const current = updated.current ?? (await ctx.google.getEvent(link.calendarId, link.eventId));
      if (!current) return ['ignored', 'event-deleted-in-google'];
      return mergeBothSides(ctx, {
        link,
        names,
        pipedrive: { activity, content },
        google: {
          event: current,
          fields: eventToSyncedFields(current, { names, settings: ctx.settings }),
          justRead: true,
        },
        bodies,
      });
    }
  }
}
