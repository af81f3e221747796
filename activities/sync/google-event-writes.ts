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
 * in Google. Why get + update and not `events.patch`: Google's performance guide counts a patch as 3 quota
 * units and recommends get + update instead — 2 units and 2 requests. The get is not wasted: its etag, compared
 * with the one we last saw, is the conflict check (the user edited the event since), and on a conflict the caller
 * needs the current event anyway (before: update → 412 → get → update, 3 calls). The update carries `If-Match`
 * with the etag just read, so an edit between our get and update is a 412, never overwritten.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { ApplicationFailure } from '@temporalio/common';
import { activityToEvent, isNeutralized, sendUpdatesFor } from '../../sync-rules/mapping.js';
import type { LinkedNames, PdActivity } from '../../sync-rules/types.js';
import type { MoveRefusal } from '../../adapters/google/calendar-api.js';
import type { SyncContext } from './context.js';
import { contactDetails } from './linked-names.js';

/** Google refuses deleted ids forever; a few generations cover any realistic delete/recreate history. */
const MAX_GENERATIONS = 20;

type Event = calendar_v3.Schema$Event;

export interface WrittenEvent {
  event: Event;
  generation: number;
}

/**
 * The Google event bodies of one activity's change, by event id generation. The contact details (deal, person
 * and organization read from Pipedrive, when the description shows them) are read once per change, however many
 * bodies the change writes (an insert past deleted ids, a conflict's second write).
 */
export type EventBodies = (generation: number, activity?: PdActivity) => Event;

export async function eventBodies(ctx: SyncContext, activity: PdActivity, names: LinkedNames): Promise<EventBodies> {
  const contact = await contactDetails(ctx, activity);
  return (generation, changed = activity) =>
    activityToEvent(changed, {
      names,
      settings: ctx.settings,
      connectionId: ctx.connection.id,
      pipedriveAppUrl: ctx.pipedriveAppUrl,
      contact,
      eventIdGeneration: generation,
    });
}

export async function insertEvent(
  ctx: SyncContext,
  calendarId: string,
  activity: PdActivity,
  bodies: EventBodies,
  fromGeneration = 0,
  /**
   * When the id exists, take the existing event as it is instead of bringing it up to date: the upload of
   * unsynced activities writes what its scan read, and an event the live sync wrote meanwhile carries fresher data.
   */
  opts: { keepExisting?: boolean } = {},
): Promise<WrittenEvent> {
  const sendUpdates = sendUpdatesFor(ctx.settings);
  for (let generation = fromGeneration; generation < fromGeneration + MAX_GENERATIONS; generation++) {
    const body = bodies(generation);
    const inserted = await ctx.google.insertEvent(calendarId, body, sendUpdates);
    if (inserted.result === 'created') {
      ctx.deps.crashPoint?.('after-google-insert');
      return { event: inserted.event, generation };
    }
    // The id exists: either our own earlier attempt created it (adopt and bring it up to date), or it belonged to
    // an event that was deleted since (try the next generation).
    const existing = await ctx.google.getEvent(calendarId, body.id!);
    if (existing) {
      if (opts.keepExisting) return { event: existing, generation };
      const updated = await ctx.google.updateEvent(calendarId, body.id!, withOwnedFields(existing, body), {
        ifMatch: existing.etag,
        sendUpdates,
      });
      if (updated.result !== 'updated') {
        // Changed or deleted between our read and write: this step fails and is retried with fresh state.
        throw new Error(`event ${body.id} was ${updated.result} while adopting it; retrying`);
      }
      return { event: updated.event, generation };
    }
  }
  throw ApplicationFailure.nonRetryable(
    `no free event id for activity ${activity.id} after ${MAX_GENERATIONS} generations`,
    'GoogleRequestRejected',
  );
}

export type UpdateResult =
  | { result: 'updated'; event: Event }
  | { result: 'gone' }
  /** Edited in Google since `etag`; `current` is the event as it is now (absent when it changed mid-write). */
  | { result: 'changed'; current?: Event }
  /** Someone else organizes it: we may not change what the sync owns (see `attendeeWrite`). */
  | { result: 'notAllowed'; current?: Event };

/** The fields of an event body the sync writes; everything else on the event belongs to the user. */
const OWNED_FIELDS = ['summary', 'description', 'location', 'start', 'end', 'transparency'] as const;

/**
 * `current` with the sync's fields taken from `body`: read-only fields dropped, attendees merged by e-mail (an
 * attendee's answer and name stay; rooms and the organizer's own entry, which Pipedrive never sees, are kept),
 * our private extended properties set next to any others.
 */
export function withOwnedFields(current: Event, body: Event): Event {
  const next: Event = { ...current };
  for (const k of ['kind', 'etag', 'created', 'updated', 'htmlLink', 'creator', 'organizer', 'sequence'] as const)
    delete next[k];
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
export function isInvitation(event: Event): boolean {
  return event.organizer !== undefined && event.organizer !== null && event.organizer.self !== true;
}

export async function updateEvent(
  ctx: SyncContext,
  calendarId: string,
  eventId: string,
  body: Event,
  etag: string | null,
  /** The event as just read, when the caller has it (saves the get). */
  known?: Event,
): Promise<UpdateResult> {
  const current = known ?? (await ctx.google.getEvent(calendarId, eventId));
  // A user's deletion wins over our update: a cancelled event stays deleted and the caller treats it as gone.
  if (!current) return { result: 'gone' };
  if (etag && current.etag !== etag) return { result: 'changed', current };
  if (isInvitation(current)) return { result: 'notAllowed', current };
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
  return ctx.google.updateEvent(calendarId, eventId, withOwnedFields(current, { ...body, id: eventId }), {
    ifMatch: current.etag,
    sendUpdates: sendUpdatesFor(ctx.settings),
  });
}

/**
 * Moves an event to another calendar under the same id (`events.move`), so a calendar switch neither leaves the
 * old copy behind nor re-invites the attendees. Null when the event is no longer in `from` (deleted there, or
 * moved by an earlier attempt); `cannotMove` when Google refuses to move it.
 */
export async function moveEvent(
  ctx: SyncContext,
  from: string,
  to: string,
  eventId: string,
): Promise<Event | CannotMove | null> {
  const moved = await ctx.google.moveEvent(from, eventId, to);
  if (moved.result === 'moved') return moved.event;
  if (moved.result === 'notAllowed') return { cannotMove: moved.why };
  return null;
}

/** Why Google will not move an event: a recurring instance, or someone else's event. */
export type CannotMove = { cannotMove: MoveRefusal };

export function isCannotMove(v: unknown): v is CannotMove {
  return typeof v === 'object' && v !== null && 'cannotMove' in v;
}

/** Deletes an event; an event that is already gone counts as deleted. */
export async function deleteEvent(ctx: SyncContext, calendarId: string, eventId: string): Promise<void> {
  await ctx.google.deleteEvent(calendarId, eventId, sendUpdatesFor(ctx.settings));
}
