/**
 * Writing an activity's event to Google, exactly once.
 *
 * Inserts use the deterministic id `eventIdFor(connection, activity, generation)`, so a retried insert gets
 * 409 instead of creating a duplicate; we then adopt the event that the earlier attempt created. Google never
 * reuses the id of a deleted event (409 as well): we then move to the next generation.
 *
 * Updates send `If-Match` with the etag we last saw: a 412 means the user edited the event since, and the
 * caller resolves the conflict instead of overwriting their edit.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { ApplicationFailure } from '@temporalio/common';
import { activityToEvent, sendUpdatesFor } from '../../sync-rules/mapping.js';
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
      (cal) => cal.events.insert({ calendarId, requestBody: body, sendUpdates: sendUpdatesFor(ctx.settings) }),
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
        cal.events.update({
          calendarId,
          eventId: body.id!,
          requestBody: body,
          sendUpdates: sendUpdatesFor(ctx.settings),
        }),
      );
      return { event: updated, generation };
    }
  }
  throw ApplicationFailure.nonRetryable(
    `no free event id for activity ${activity.id} after ${MAX_GENERATIONS} generations`,
    'GoogleRequestRejected',
  );
}

export type UpdateResult = { ok: true; event: calendar_v3.Schema$Event } | { ok: false; reason: 'changed' | 'gone' };

export async function updateEvent(
  ctx: SyncContext,
  calendarId: string,
  eventId: string,
  body: calendar_v3.Schema$Event,
  etag: string | null,
): Promise<UpdateResult> {
  const result = await ctx.google.request(
    'events.update',
    (cal) =>
      cal.events.update(
        { calendarId, eventId, requestBody: { ...body, id: eventId }, sendUpdates: sendUpdatesFor(ctx.settings) },
        etag ? { headers: { 'If-Match': etag } } : {},
      ),
    [404, 410, 412],
  );
  // A user's deletion wins over our update: a cancelled event stays deleted and the caller treats it as gone.
  if (result.ok && result.data.status !== 'cancelled') return { ok: true, event: result.data };
  if (result.ok) return { ok: false, reason: 'gone' };
  return { ok: false, reason: result.status === 412 ? 'changed' : 'gone' };
}

/**
 * Moves an event to another calendar under the same id (`events.move`), so a calendar switch neither leaves the
 * old copy behind nor re-invites the attendees. Nobody is mailed about the move itself (`sendUpdates: none`,
 * whatever the invitation setting): which of the user's calendars holds the event is not news to the guests.
 * Null when the event is no longer in `from` (deleted there, or moved by an earlier attempt).
 */
export async function moveEvent(
  ctx: SyncContext,
  from: string,
  to: string,
  eventId: string,
): Promise<calendar_v3.Schema$Event | null> {
  const result = await ctx.google.request(
    'events.move',
    (cal) => cal.events.move({ calendarId: from, eventId, destination: to, sendUpdates: 'none' }),
    [404, 410],
  );
  return result.ok ? result.data : null;
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
