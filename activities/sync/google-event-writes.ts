/**
 * Writing an activity's event to Google, exactly once.
 *
 * Inserts use the deterministic id `eventIdFor(connection, activity, generation)`, so a retried insert gets
 * 409 instead of creating a duplicate; we then adopt the event that the earlier attempt created. Google never
 * reuses the id of a deleted event (409 as well): we then move to the next generation.
 *
 * Updates read the event first and write it back whole with only the fields the sync owns replaced
 * (`withOwnedFields`): `events.update` is a full replacement, so sending just our fields would wipe the colour,
 * reminders, attachments, conference data, guest permissions, shared and foreign private properties the user set
 * in Google — sent with `conferenceDataVersion=1`, without which Google ignores the conference data we send back
 * and the update removes the event's Meet link. Why get + update and not `events.patch`: Google's performance guide counts a patch as 3 quota
 * units and recommends get + update instead — 2 units and 2 requests. The get is not wasted: its etag, compared
 * with the one we last saw, is the conflict check (the user edited the event since), and on a conflict the caller
 * needs the current event anyway (before: update → 412 → get → update, 3 calls). The update carries `If-Match`
 * with the etag just read, so an edit between our get and update is a 412, never overwritten.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { ApplicationFailure } from '@temporalio/common';
import { activityToEvent, isNeutralized, sendUpdatesFor } from '../../sync-rules/mapping.js';
import { CONFERENCE_DATA_VERSION, conferenceForUpdate, fitVideoLinkTo } from '../../sync-rules/video-link.js';
import type { LinkedNames, PdActivity } from '../../sync-rules/types.js';
import type { SyncContext } from './context.js';
import { contactDetails } from './linked-names.js';

/** Google refuses deleted ids forever; a few generations cover any realistic delete/recreate history. */
const MAX_GENERATIONS = 20;

export interface WrittenEvent {
  event: calendar_v3.Schema$Event;
  generation: number;
}

export async function eventBody(
  ctx: SyncContext,
  activity: PdActivity,
  names: LinkedNames,
  generation: number,
): Promise<calendar_v3.Schema$Event> {
  return activityToEvent(activity, {
    names,
    settings: ctx.settings,
    connectionId: ctx.connection.id,
    pipedriveAppUrl: ctx.pipedriveAppUrl,
    contact: await contactDetails(ctx, activity),
    eventIdGeneration: generation,
  });
}

export async function insertEvent(
  ctx: SyncContext,
  calendarId: string,
  activity: PdActivity,
  names: LinkedNames,
  fromGeneration = 0,
  /**
   * On 409, take the existing event as it is instead of bringing it up to date: the upload of unsynced
   * activities writes what its scan read, and an event the live sync wrote meanwhile carries fresher data.
   */
  opts: { keepExisting?: boolean } = {},
): Promise<WrittenEvent> {
  for (let generation = fromGeneration; generation < fromGeneration + MAX_GENERATIONS; generation++) {
    const body = await eventBody(ctx, activity, names, generation);
    const inserted = await ctx.google.request(
      'events.insert',
      (cal) =>
        cal.events.insert({
          calendarId,
          requestBody: body,
          sendUpdates: sendUpdatesFor(ctx.settings),
          conferenceDataVersion: CONFERENCE_DATA_VERSION,
        }),
      [409],
    );
    if (inserted.ok) {
      ctx.deps.crashPoint?.('after-google-insert');
      return { event: inserted.data, generation };
    }
    // 409: either our own earlier attempt created it (adopt and bring it up to date), or the id belonged to an
    // event that was deleted since (try the next generation).
    const existing = await ctx.google.request(
      'events.get',
      (cal) => cal.events.get({ calendarId, eventId: body.id! }),
      [404, 410],
    );
    if (existing.ok && existing.data.status !== 'cancelled') {
      if (opts.keepExisting) return { event: existing.data, generation };
      const updated = await ctx.google.call('events.update', (cal) =>
        cal.events.update(
          {
            calendarId,
            eventId: body.id!,
            requestBody: withOwnedFields(existing.data, body),
            sendUpdates: sendUpdatesFor(ctx.settings),
            conferenceDataVersion: CONFERENCE_DATA_VERSION,
          },
          existing.data.etag ? { headers: { 'If-Match': existing.data.etag } } : {},
        ),
      );
      return { event: updated, generation };
    }
  }
  throw ApplicationFailure.nonRetryable(
    `no free event id for activity ${activity.id} after ${MAX_GENERATIONS} generations`,
    'GoogleRequestRejected',
  );
}

export type UpdateResult =
  | { ok: true; event: calendar_v3.Schema$Event }
  | { ok: false; reason: 'gone' }
  /** Edited in Google since `etag`; `current` is the event as it is now (absent when it changed mid-write). */
  | { ok: false; reason: 'changed'; current?: calendar_v3.Schema$Event }
  /** Someone else organizes it: we may not change what the sync owns (see `attendeeWrite`). */
  | { ok: false; reason: 'not-organizer'; current: calendar_v3.Schema$Event };

/** The fields of an event body the sync writes; everything else on the event belongs to the user. */
const OWNED_FIELDS = ['summary', 'description', 'location', 'start', 'end', 'transparency'] as const;

/**
 * `current` with the sync's fields taken from `body`: read-only fields dropped, attendees merged by e-mail (an
 * attendee's answer and name stay; rooms and the organizer's own entry, which Pipedrive never sees, are kept),
 * our private extended properties set next to any others.
 */
export function withOwnedFields(
  current: calendar_v3.Schema$Event,
  body: calendar_v3.Schema$Event,
): calendar_v3.Schema$Event {
  // An event's own conference stays, and the activity's video link is then not placed on it (video-link.ts).
  body = fitVideoLinkTo(current, body);
  const next: calendar_v3.Schema$Event = { ...current };
  for (const k of ['kind', 'etag', 'created', 'updated', 'htmlLink', 'creator', 'organizer', 'sequence'] as const)
    delete next[k];
  const conference = conferenceForUpdate(current, body);
  if (conference) next.conferenceData = conference;
  for (const k of OWNED_FIELDS) {
    if (body[k] === undefined) delete next[k];
    else (next as Record<string, unknown>)[k] = body[k];
  }
  const byEmail = new Map((current.attendees ?? []).map((a) => [a.email?.toLowerCase() ?? '', a]));
  const ours = (body.attendees ?? []).map((a) => ({ ...byEmail.get(a.email?.toLowerCase() ?? ''), ...a }));
  const oursSet = new Set(ours.map((a) => a.email?.toLowerCase()));
  const kept = (current.attendees ?? []).filter(
    (a) => (a.resource || (a.self && a.organizer)) && !oursSet.has(a.email?.toLowerCase()),
  );
  next.attendees = [...ours, ...kept];
  next.extendedProperties = {
    ...current.extendedProperties,
    private: { ...current.extendedProperties?.private, ...body.extendedProperties?.private },
  };
  next.id = body.id ?? current.id;
  return next;
}

/** Someone else's event on this calendar (the organizer is not this calendar; `self` defaults to false). */
export function isInvitation(event: calendar_v3.Schema$Event): boolean {
  return event.organizer !== undefined && event.organizer !== null && event.organizer.self !== true;
}

export async function updateEvent(
  ctx: SyncContext,
  calendarId: string,
  eventId: string,
  body: calendar_v3.Schema$Event,
  etag: string | null,
  /** The event as just read, when the caller has it (saves the get). */
  known?: calendar_v3.Schema$Event,
): Promise<UpdateResult> {
  const current = known ?? (await getEvent(ctx, calendarId, eventId));
  // A user's deletion wins over our update: a cancelled event stays deleted and the caller treats it as gone.
  if (!current) return { ok: false, reason: 'gone' };
  if (etag && current.etag !== etag) return { ok: false, reason: 'changed', current };
  if (isInvitation(current)) return { ok: false, reason: 'not-organizer', current };
  // A private event stands in Pipedrive as a neutral activity: only its time and busy state are written back,
  // never the neutral text over the user's private content.
  if (isNeutralized(current, ctx.settings)) {
    body = {
      ...current,
      start: body.start,
      end: body.end,
      transparency: body.transparency,
      extendedProperties: body.extendedProperties,
      id: body.id,
    };
  }
  const result = await ctx.google.request(
    'events.update',
    (cal) =>
      cal.events.update(
        {
          calendarId,
          eventId,
          requestBody: withOwnedFields(current, { ...body, id: eventId }),
          sendUpdates: sendUpdatesFor(ctx.settings),
          conferenceDataVersion: CONFERENCE_DATA_VERSION,
        },
        current.etag ? { headers: { 'If-Match': current.etag } } : {},
      ),
    [404, 410, 412],
  );
  if (result.ok && result.data.status !== 'cancelled') return { ok: true, event: result.data };
  if (result.ok) return { ok: false, reason: 'gone' };
  return result.status === 412 ? { ok: false, reason: 'changed' } : { ok: false, reason: 'gone' };
}

/** Why Google will not move an event (`events.move`): a recurring instance, or someone else's event. */
export type CannotMove = { cannotMove: 'recurring-instance' | 'invitation-organized-by-someone-else' };

/**
 * Moves an event to another calendar under the same id (`events.move`), so a calendar switch neither leaves the
 * old copy behind nor re-invites the attendees. Nobody is mailed about the move itself (`sendUpdates: none`,
 * whatever the invitation setting): which of the user's calendars holds the event is not news to the guests.
 * Null when the event is no longer in `from` (deleted there, or moved by an earlier attempt); `cannotMove` when
 * Google refuses to move it (400 `cannotChangeOrganizerOfInstance`, 403 `forbiddenForNonOrganizer`).
 */
export async function moveEvent(
  ctx: SyncContext,
  from: string,
  to: string,
  eventId: string,
): Promise<calendar_v3.Schema$Event | CannotMove | null> {
  const result = await ctx.google.request(
    'events.move',
    (cal) => cal.events.move({ calendarId: from, eventId, destination: to, sendUpdates: 'none' }),
    [400, 403, 404, 410],
  );
  if (result.ok) return result.data;
  if (result.status === 400 && result.reason === 'cannotChangeOrganizerOfInstance')
    return { cannotMove: 'recurring-instance' };
  if (result.status === 403 && result.reason === 'forbiddenForNonOrganizer')
    return { cannotMove: 'invitation-organized-by-someone-else' };
  if (result.status === 400 || result.status === 403) {
    // Any other 400/403 is not about this one event being immovable: fail the step as before.
    throw ApplicationFailure.nonRetryable(
      `events.move of ${eventId} answered ${result.status} ${result.reason ?? ''}`.trim(),
      'GoogleRequestRejected',
      { status: result.status, reason: result.reason },
    );
  }
  return null;
}

export function isCannotMove(v: unknown): v is CannotMove {
  return typeof v === 'object' && v !== null && 'cannotMove' in v;
}

/** Deletes an event; an event that is already gone counts as deleted. */
export async function deleteEvent(ctx: SyncContext, calendarId: string, eventId: string): Promise<void> {
  await ctx.google.request(
    'events.delete',
    (cal) => cal.events.delete({ calendarId, eventId, sendUpdates: sendUpdatesFor(ctx.settings) }),
    [404, 410],
  );
}

export async function getEvent(
  ctx: SyncContext,
  calendarId: string,
  eventId: string,
): Promise<calendar_v3.Schema$Event | null> {
  const result = await ctx.google.request('events.get', (cal) => cal.events.get({ calendarId, eventId }), [404, 410]);
  return result.ok && result.data.status !== 'cancelled' ? result.data : null;
}
