/**
 * After a calendar switch: the linked events still in the old calendar move into the new one, a batch per call
 * (the workflow calls again while some are left, between the user's live changes). Only the chosen calendar is
 * watched, so an event left behind would no longer bring its Google edits to Pipedrive.
 *
 * Each move keeps the event's id, content and attendees; its link is pointed at the new calendar right after.
 * An event no longer in its old calendar was either moved by an earlier attempt of this batch (a crash between
 * the move and the link) — then it is found in the new calendar and linked there — or deleted by the user while
 * that calendar was no longer synced. That deletion is not applied to Pipedrive (it would act on a stale
 * calendar); the pair is unlinked instead, and the activity's next change writes a fresh event.
 *
 * Google does not move everything: a recurring instance (400 `cannotChangeOrganizerOfInstance`) and an invitation
 * organized by someone else (403 `forbiddenForNonOrganizer`) stay where they are. An invitation the sync imported
 * is known as one from its link and skipped without a call; anything else Google refuses is skipped on its answer —
 * reported as a `skipped` outcome (status and audit log), remembered so later batches go past it — and its link
 * stays as it is, so the pair keeps its history; the events after it are moved as usual.
 */
import { deleteLink, linksOutsideCalendar, saveLink } from '../../adapters/store/links.js';
import type { SyncContext } from './context.js';
import { isCannotMove, type CannotMove } from './google-event-writes.js';
import { linkInCalendar, moveLinkedEvent } from './linked-pair.js';
import type { SyncOutcome } from './outcome.js';
import { recordRelocationSkip, relocationSkips } from '../../adapters/store/relocation-skips.js';

export const RELOCATE_BATCH = 25;
const INVITATION: CannotMove['cannotMove'] = 'invitation-organized-by-someone-else';
/** Half of Google's default per-user quota (600/min): the live sync keeps the other half. */
export const RELOCATE_PER_MINUTE = 300;

export interface RelocateResult {
  outcomes: SyncOutcome[];
  /** More events are still in another calendar. */
  more: boolean;
}

export async function relocateEvents(ctx: SyncContext, batch = RELOCATE_BATCH): Promise<RelocateResult> {
  const calendarId = ctx.settings.calendarId;
  if (!ctx.settings.enabled || !calendarId) return { outcomes: [], more: false };
  const skipped = await relocationSkips(ctx.db, ctx.connection.id, calendarId);
  const links = (await linksOutsideCalendar(ctx.db, ctx.connection.id, calendarId, batch + 1 + skipped.size)).filter(
    (l) => !skipped.has(l.activityId),
  );
  const outcomes: SyncOutcome[] = [];
  const spacingMs = 60_000 / RELOCATE_PER_MINUTE;
  const started = Date.now();
  for (const [i, link] of links.slice(0, batch).entries()) {
    const wait = started + i * spacingMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const outcome = (result: SyncOutcome['result'], reason: string): SyncOutcome => ({
      direction: 'pipedrive-to-google',
      subject: `activity:${link.activityId}`,
      result,
      reason,
    });
    if (link.invitation) {
      // Google refuses to move someone else's event (403 `forbiddenForNonOrganizer`): not even asked.
      await recordRelocationSkip(ctx.db, ctx.connection.id, link.activityId, calendarId, INVITATION);
      outcomes.push(outcome('skipped', `cannot-move-${INVITATION}`));
      continue;
    }
    const moved = await moveLinkedEvent(ctx, link, calendarId);
    if (isCannotMove(moved)) {
      await recordRelocationSkip(ctx.db, ctx.connection.id, link.activityId, calendarId, moved.cannotMove);
      outcomes.push(outcome('skipped', `cannot-move-${moved.cannotMove}`));
      continue;
    }
    if (moved) {
      outcomes.push(outcome('moved', 'calendar-changed'));
      continue;
    }
    const arrived = await ctx.google.getEvent(calendarId, link.eventId);
    if (arrived) {
      await saveLink(ctx.db, linkInCalendar(link, calendarId, arrived));
      outcomes.push(outcome('moved', 'calendar-changed'));
    } else {
      await deleteLink(ctx.db, ctx.connection.id, link.activityId);
      outcomes.push(outcome('unlinked', 'event-gone-from-old-calendar'));
    }
  }
  return { outcomes, more: links.length > batch };
}
