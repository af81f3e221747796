/**
 * Google → Pipedrive: an incremental pull of the user's calendar, each changed event applied to Pipedrive.
 *
 * Discipline: the pull uses the saved sync token and pages through `nextPageToken`; the new
 * token (on the last page only) is saved after every page was applied, so a crash repeats the pull instead
 * of skipping changes — repeating is harmless because applying an event is idempotent (echo check, links).
 * `410 fullSyncRequired` wipes the token and re-lists the calendar: linked events are re-checked, and unlinked
 * events count as new only if they changed after our last complete pull (older ones are baseline, never imported).
 *
 * A pull is one activity, retried by Temporal as a whole, so two things keep a retry from redoing finished work:
 * - Each call (a page's `events.list`, an event's apply) rides out a transient failure on the spot (blip-retry.ts).
 * - After each page but the last, the pull saves its position: the `nextPageToken` and what the pages so far
 *   produced. The next attempt of the same pull (same starting token) lists from there. Google's sync guide: the
 *   pages of one listing are followed with `nextPageToken`, and only the last page carries `nextSyncToken`, which
 *   covers every change since the listing began — so a listing resumed at a later page misses nothing, and the
 *   events of the pages before it were applied. A crash between a page's applies and saving its position repeats
 *   that page, which is harmless for the same reason a repeated pull is.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { ApplicationFailure } from '@temporalio/common';
import { classifyGoogleChange } from '../../sync-rules/echo.js';
import { activityToSyncedFields, eventToActivityFields, eventToSyncedFields } from '../../sync-rules/mapping.js';
import type { LinkedNames } from '../../sync-rules/types.js';
import {
  getSyncState,
  savePullPosition,
  saveSyncToken,
  type GoogleSyncState,
  type PullMode,
  type PullPosition,
} from '../../adapters/store/google-sync-state.js';
import { deleteLink, linkByEvent, saveLink, type Link } from '../../adapters/store/links.js';
import { ridingOutBlips } from './blip-retry.js';
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
  mode: PullMode;
  pages: number;
  outcomes: SyncOutcome[];
  failures: { subject: string; message: string }[];
}

export interface PullOptions {
  /** Called after each page (heartbeat). */
  onPage?: (page: number) => void;
}

/** What the pages applied so far produced: carried in the pull's saved position. */
type Carried = Omit<PullSummary, 'mode'>;

export async function pullGoogleChanges(ctx: SyncContext, opts: PullOptions = {}): Promise<PullSummary> {
  const calendarId = ctx.settings.calendarId;
  if (!ctx.settings.enabled || !calendarId) return { mode: 'incremental', pages: 0, outcomes: [], failures: [] };
  const state = await getSyncState(ctx.db, ctx.connection.id, calendarId);
  const resumed = resumablePosition(state);
  try {
    return await pull(ctx, calendarId, state, resumed, opts);
  } catch (err) {
    // A saved page token Google no longer takes (400: an invalid parameter value): the pull starts over.
    if (!resumed || !(err instanceof PageTokenRejected)) throw err;
    return await pull(ctx, calendarId, state, null, opts);
  }
}

/** The saved position, if it belongs to a pull from the token that is still saved. */
function resumablePosition(state: GoogleSyncState): PullPosition<Carried> | null {
  const p = state.position as PullPosition<Carried> | null;
  if (!p || p.from !== state.syncToken || typeof p.pageToken !== 'string') return null;
  if (!Array.isArray(p.carried?.outcomes) || !Array.isArray(p.carried?.failures)) return null;
  return p;
}

async function pull(
  ctx: SyncContext,
  calendarId: string,
  state: GoogleSyncState,
  resumed: PullPosition<Carried> | null,
  opts: PullOptions,
): Promise<PullSummary> {
  const from = state.syncToken;
  const startedAt = resumed?.startedAt ?? new Date().toISOString();
  let mode: PullMode = resumed?.mode ?? (from ? 'incremental' : 'baseline');
  const summary: PullSummary = { mode, pages: 0, outcomes: [], failures: [], ...resumed?.carried };

  const apply = async (events: calendar_v3.Schema$Event[], newerThan?: string) => {
    for (const event of events) {
      if (newerThan && !(await isLinked(ctx, calendarId, event)) && (event.updated ?? '') <= newerThan) continue;
      try {
        summary.outcomes.push(await ridingOutBlips(() => applyGoogleEvent(ctx, calendarId, event)));
      } catch (err) {
        // A permanent failure of one event must not block the calendar: record it and go on. Anything still
        // retryable after the tries on the spot fails the pull, which Temporal retries (the token is not saved, so
        // nothing is skipped; the pages before this one are not applied again).
        if (err instanceof ApplicationFailure && err.nonRetryable) {
          summary.failures.push({ subject: `event:${event.id}`, message: err.message });
        } else throw err;
      }
    }
  };
  const onPage = async (events: calendar_v3.Schema$Event[], nextPageToken: string | undefined) => {
    if (mode === 'incremental') await apply(events);
    else if (mode === 'full-resync') await apply(events, state.lastPulledAt ?? undefined);
    summary.pages++;
    opts.onPage?.(summary.pages);
    if (nextPageToken) {
      ctx.deps.crashPoint?.('before-pull-position');
      const carried: Carried = { pages: summary.pages, outcomes: summary.outcomes, failures: summary.failures };
      await savePullPosition(ctx.db, ctx.connection.id, calendarId, {
        from,
        mode,
        pageToken: nextPageToken,
        startedAt,
        carried,
      });
    }
  };
  const listing = (m: PullMode) => (m === 'incremental' ? (from ?? undefined) : undefined);

  let nextSyncToken: string;
  try {
    nextSyncToken = await listPages(ctx, calendarId, listing(mode), resumed?.pageToken, onPage);
  } catch (err) {
    if (!(err instanceof FullSyncRequired) || mode !== 'incremental') throw err;
    // The token is no longer valid: what this pull applied from it is re-checked by the full listing.
    mode = 'full-resync';
    Object.assign(summary, { mode, pages: 0, outcomes: [], failures: [] });
    nextSyncToken = await listPages(ctx, calendarId, undefined, undefined, onPage);
  }
  await saveSyncToken(ctx.db, ctx.connection.id, calendarId, nextSyncToken, new Date(startedAt));
  return summary;
}

class FullSyncRequired extends Error {}
class PageTokenRejected extends Error {}

/**
 * Pages through events.list (changes since `syncToken`, or the whole calendar without one) from `pageToken` (the
 * first page without one), handing each page to `onPage` with the token of the page after it; answers the
 * `nextSyncToken` of the last page.
 */
async function listPages(
  ctx: SyncContext,
  calendarId: string,
  syncToken: string | undefined,
  pageToken: string | undefined,
  onPage: (events: calendar_v3.Schema$Event[], nextPageToken: string | undefined) => Promise<void>,
): Promise<string> {
  const resumedAt = pageToken;
  for (;;) {
    const page = await ridingOutBlips(() => ctx.google.listEvents(calendarId, { syncToken, pageToken })).catch(
      (err: unknown) => {
        if (pageToken && pageToken === resumedAt && isBadRequest(err)) throw new PageTokenRejected();
        throw err;
      },
    );
    if (page.result === 'fullSyncRequired') throw new FullSyncRequired();
    await onPage(page.items, page.nextPageToken);
    if (page.nextPageToken) {
      pageToken = page.nextPageToken;
      continue;
    }
    if (!page.nextSyncToken) throw new Error('events.list ended without a nextSyncToken');
    return page.nextSyncToken;
  }
}

function isBadRequest(err: unknown): boolean {
  return (
    err instanceof ApplicationFailure &&
    err.type === 'GoogleRequestRejected' &&
    (err.details?.[0] as { status?: number } | undefined)?.status === 400
  );
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
