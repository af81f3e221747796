/**
 * Google → Pipedrive: an incremental pull of the user's calendar, each changed event applied to Pipedrive.
 *
 * Discipline: the pull uses the saved sync token and pages through `nextPageToken`; the new
 * token (on the last page only) is saved after every page was applied, so a crash repeats the pull instead
 * of skipping changes — repeating is harmless because applying an event is idempotent (echo check, links).
 * `410 fullSyncRequired` wipes the token and re-lists the calendar: linked events are re-checked, and unlinked
 * events count as new only if they changed after our last complete pull (older ones are baseline, never imported).
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { ApplicationFailure } from '@temporalio/common';
import { classifyGoogleChange } from '../../sync-rules/echo.js';
import { activityToSyncedFields, eventToActivityFields, eventToSyncedFields } from '../../sync-rules/mapping.js';
import type { LinkedNames } from '../../sync-rules/types.js';
import { getSyncState, saveSyncToken } from '../../adapters/store/google-sync-state.js';
import { deleteLink, linkByEvent, saveLink, type Link } from '../../adapters/store/links.js';
import { relinkedContacts, titleLinkedEvent, withContactLinks } from './contact-links.js';
import type { SyncContext } from './context.js';
import { createActivityOnce, finishCreate } from './create-activity.js';
import { isInvitation } from './google-event-writes.js';
import { activityContentOrNull, linkFor, syncedContent, type SyncedContent } from './linked-pair.js';
import { linkedNames } from './linked-names.js';
import { mergeBothSides } from './merge-both-sides.js';
import type { SyncOutcome } from './outcome.js';

export interface PullSummary {
  /** 'baseline' when there was no token yet: the calendar's state was recorded, nothing imported. */
  mode: 'incremental' | 'baseline' | 'full-resync';
  pages: number;
  outcomes: SyncOutcome[];
  failures: { subject: string; message: string }[];
}

export interface PullOptions {
  /** Called after each page (heartbeat). */
  onPage?: (page: number) => void;
}

export async function pullGoogleChanges(ctx: SyncContext, opts: PullOptions = {}): Promise<PullSummary> {
  const calendarId = ctx.settings.calendarId;
  if (!ctx.settings.enabled || !calendarId) return { mode: 'incremental', pages: 0, outcomes: [], failures: [] };
  const startedAt = new Date();
  const state = await getSyncState(ctx.db, ctx.connection.id, calendarId);
  if (!state.syncToken) {
    const pages = await listAll(ctx, calendarId, undefined, opts, async () => {});
    await saveSyncToken(ctx.db, ctx.connection.id, calendarId, pages.nextSyncToken, startedAt);
    return { mode: 'baseline', pages: pages.count, outcomes: [], failures: [] };
  }

  const summary: PullSummary = { mode: 'incremental', pages: 0, outcomes: [], failures: [] };
  const apply = async (events: calendar_v3.Schema$Event[], newerThan?: string) => {
    for (const event of events) {
      if (newerThan && !(await isLinked(ctx, calendarId, event)) && (event.updated ?? '') <= newerThan) continue;
      try {
        summary.outcomes.push(await applyRidingOutBlips(ctx, calendarId, event));
      } catch (err) {
        // A permanent failure of one event must not block the calendar: record it and go on. Anything still
        // retryable after the tries on the spot fails the pull, which Temporal retries (the token is not saved, so
        // nothing is skipped).
        if (err instanceof ApplicationFailure && err.nonRetryable) {
          summary.failures.push({ subject: `event:${event.id}`, message: err.message });
        } else throw err;
      }
    }
  };

  let listed: { nextSyncToken: string; count: number };
  try {
    listed = await listAll(ctx, calendarId, state.syncToken, opts, (events) => apply(events));
  } catch (err) {
    if (!(err instanceof FullSyncRequired)) throw err;
    summary.mode = 'full-resync';
    summary.outcomes = [];
    listed = await listAll(ctx, calendarId, undefined, opts, (events) =>
      apply(events, state.lastPulledAt ?? undefined),
    );
  }
  summary.pages = listed.count;
  await saveSyncToken(ctx.db, ctx.connection.id, calendarId, listed.nextSyncToken, startedAt);
  return summary;
}

class FullSyncRequired extends Error {}

/** Attempts of one event's apply inside a pull before its transient failure fails the whole pull. */
const EVENT_ATTEMPTS = 3;
/** A failure that asks for a longer wait (a quota window, the daily budget) is left to Temporal's retry. */
const LONGEST_INLINE_WAIT_MS = 2_000;

/**
 * `applyGoogleEvent`, with a transient API failure (5xx, a short rate-limit window) tried again on the spot. A pull
 * carries many events and is retried as a whole, so without this one event's blip costs the attempt of all of them,
 * and a pull under a steady error rate could run out of attempts. Applying an event is idempotent (echo check,
 * links), so trying it again is safe; only classified retryable API failures are, nothing else.
 */
async function applyRidingOutBlips(
  ctx: SyncContext,
  calendarId: string,
  event: calendar_v3.Schema$Event,
): Promise<SyncOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyGoogleEvent(ctx, calendarId, event);
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.nonRetryable || attempt >= EVENT_ATTEMPTS) throw err;
      const asked = typeof err.nextRetryDelay === 'number' ? err.nextRetryDelay : undefined;
      const wait = asked ?? 200 * 2 ** (attempt - 1);
      if (wait > LONGEST_INLINE_WAIT_MS) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** Pages through events.list (incremental with a token, complete without), handing each page to `onEvents`. */
async function listAll(
  ctx: SyncContext,
  calendarId: string,
  syncToken: string | undefined,
  opts: PullOptions,
  onEvents: (events: calendar_v3.Schema$Event[]) => Promise<void>,
): Promise<{ nextSyncToken: string; count: number }> {
  let pageToken: string | undefined;
  let count = 0;
  for (;;) {
    const page = await ctx.google.listEvents(calendarId, { syncToken, pageToken });
    if (page.result === 'fullSyncRequired') throw new FullSyncRequired();
    count++;
    await onEvents(page.items);
    opts.onPage?.(count);
    if (page.nextPageToken) {
      pageToken = page.nextPageToken;
      continue;
    }
    if (!page.nextSyncToken) throw new Error('events.list ended without a nextSyncToken');
    return { nextSyncToken: page.nextSyncToken, count };
  }
}

async function isLinked(ctx: SyncContext, calendarId: string, event: calendar_v3.Schema$Event): Promise<boolean> {
  return (await linkByEvent(ctx.db, ctx.connection.id, calendarId, event.id!)) !== null;
}

/** One changed Google event → Pipedrive. */
export async function applyGoogleEvent(
  ctx: SyncContext,
  calendarId: string,
  event: calendar_v3.Schema$Event,
): Promise<SyncOutcome> {
  const outcome = (result: SyncOutcome['result'], reason?: string, activityId?: number): SyncOutcome => ({
    direction: 'google-to-pipedrive',
    subject: activityId ? `activity:${activityId}` : `event:${event.id}`,
    result,
    reason,
  });
  const link = await linkByEvent(ctx.db, ctx.connection.id, calendarId, event.id!);
  const names = link
    ? await linkedNames(ctx, { deal_id: link.dealId, person_id: link.personId, org_id: link.orgId })
    : {};
  const content = event.status === 'cancelled' ? null : eventContentOrNull(event, names, ctx);
  const decision = classifyGoogleChange({
    event,
    link: link ? { activityId: link.activityId, lastWrittenHash: link.lastWrittenHash } : null,
    settings: ctx.settings,
    connectionId: ctx.connection.id,
    observedHash: content?.hash ?? null,
    now: new Date().toISOString(),
  });
  if (decision.decision === 'echo') {
    // Our own write seen again: remember its etag so our next update's If-Match matches.
    if (link && event.etag && event.etag !== link.googleEtag) {
      await saveLink(ctx.db, { ...link, googleEtag: event.etag, googleUpdated: event.updated ?? link.googleUpdated });
    }
    return outcome('echo', undefined, link?.activityId);
  }
  if (decision.decision === 'ignore') return outcome('ignored', decision.reason, link?.activityId);

  switch (decision.effect) {
    case 'unlink':
      await deleteLink(ctx.db, ctx.connection.id, link!.activityId);
      return outcome('unlinked', decision.reason, link!.activityId);
    case 'delete-activity':
      await ctx.pipedrive.deleteActivity(link!.activityId);
      await deleteLink(ctx.db, ctx.connection.id, link!.activityId);
      return outcome('deleted', decision.reason, link!.activityId);
    case 'create-activity': {
      const activity = await createActivityOnce(ctx, calendarId, event);
      const titled = await titleLinkedEvent(ctx, calendarId, event, activity, 0);
      await saveLink(
        ctx.db,
        linkFor({
          ctx,
          activity,
          content: syncedContent(titled.fields),
          event: titled.event,
          generation: 0,
          calendarId,
          origin: 'google',
          invitation: isInvitation(event),
        }),
      );
      await finishCreate(ctx, calendarId, event.id!);
      return outcome('created', decision.reason, activity.id);
    }
    case 'update-activity':
      return outcome(...(await pullUpdate(ctx, { event, content, link: link!, names })), link!.activityId);
  }
}

/** One change of a linked event, with what was computed for it once. */
interface EventChange {
  event: calendar_v3.Schema$Event;
  /** The event's synced content, as hashed for the echo check. */
  content: SyncedContent | null;
  link: Link;
  names: LinkedNames;
}

async function pullUpdate(ctx: SyncContext, change: EventChange): Promise<[SyncOutcome['result'], string]> {
  const { event, link, names } = change;
  const activity = await ctx.pipedrive.getActivity(link.activityId);
  if (!activity || activity.is_deleted) {
    // Deleted in Pipedrive meanwhile; its webhook removes the event.
    return ['ignored', 'activity-deleted-in-pipedrive'];
  }
  const pipedrive = activityContentOrNull(ctx, activity, names);
  // An invitation's content is its organizer's: nothing of it can be written back to Google, so there is no
  // conflict to resolve — the event as the organizer left it is applied to the activity.
  const googleOnly = isInvitation(event);
  if (pipedrive === null || pipedrive.hash === link.lastWrittenHash || googleOnly) {
    const write = eventToActivityFields(event, { names, settings: ctx.settings });
    const contact = await relinkedContacts(ctx, link.calendarId, event, link, write);
    const written = await withContactLinks(ctx, contact, () =>
      ctx.pipedrive.updateActivity(activity.id, { ...write, ...contact?.links }),
    );
    if (!written) return ['ignored', 'activity-deleted-in-pipedrive'];
    const titled = contact
      ? await titleLinkedEvent(ctx, link.calendarId, event, written, link.eventGeneration)
      : { event, fields: activityToSyncedFields(written, { names, settings: ctx.settings }) };
    await saveLink(
      ctx.db,
      linkFor({
        ctx,
        activity: written,
        content: syncedContent(titled.fields),
        event: titled.event,
        generation: link.eventGeneration,
        calendarId: link.calendarId,
        origin: link.origin,
        invitation: googleOnly,
      }),
    );
    return ['updated', 'event-changed'];
  }
  // Both sides changed since the last sync. The event is as the pull listed it: read again before the write.
  return mergeBothSides(ctx, {
    link,
    names,
    pipedrive: { activity, content: pipedrive },
    google: {
      event,
      fields: change.content?.fields ?? eventToSyncedFields(event, { names, settings: ctx.settings }),
      justRead: false,
    },
  });
}

/** The event's synced content, or null when it cannot be read as an activity (e.g. no readable start). */
function eventContentOrNull(
  event: calendar_v3.Schema$Event,
  names: LinkedNames,
  ctx: SyncContext,
): SyncedContent | null {
  try {
    return syncedContent(eventToSyncedFields(event, { names, settings: ctx.settings }));
  } catch {
    return null;
  }
}
