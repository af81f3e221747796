/**
 * The two-way import filters on the real stack: Google events made in the emulator (as the user, through the
 * official client, or as the Calendar UI through the control API), one Google pull each, the Pipedrive state read
 * back. Status events and declined invitations create nothing; declining an invitation already synced applies the
 * deletion setting; free, all-day and solo events are imported by default and skipped with their setting off.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkByEvent } from '../../adapters/store/links.js';
import type { SyncSettings } from '../../sync-rules/settings.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { day, googleToPipedriveSteps, timed } from '../../testing/google-to-pipedrive-steps.js';

let h: Harness;
let s: ReturnType<typeof googleToPipedriveSteps>;
beforeAll(async () => {
  h = await startHarness();
  s = googleToPipedriveSteps(() => h);
});
afterAll(async () => {
  await h.close();
});

const ORGANIZER = { email: 'boss@customer.example', displayName: 'The Boss' };
const GUEST = { email: 'guest@customer.example' };

async function insertEvent(user: SyncUser, body: calendar_v3.Schema$Event): Promise<calendar_v3.Schema$Event> {
  return (await user.calendar.events.insert({ calendarId: user.calendarId, requestBody: body })).data;
}

async function linkedActivityId(user: SyncUser, eventId: string): Promise<number | null> {
  return (await linkByEvent(h.stack.db, user.connectionId, user.calendarId, eventId))?.activityId ?? null;
}

/** Imports one event with `settings`, returns the subjects of the activities the user has afterwards. */
async function importWith(settings: Partial<SyncSettings>, body: calendar_v3.Schema$Event): Promise<string[]> {
  const user = await h.connectUser(settings);
  await insertEvent(user, body);
  await s.pull(user);
  return s.activitiesOf(user).map((a) => a.subject);
}

describe('event types and declined invitations (skipped by default)', () => {
  it('creates nothing for focus time, out of office, working location or a birthday, and imports a default event', async () => {
    const user = await h.connectUser();
    const c = h.google.control;
    c.createTypedEvent(user.email, user.calendarId, {
      ...timed(day(3), '09:00', '11:00'),
      eventType: 'focusTime',
      summary: 'Focus',
    });
    c.createTypedEvent(user.email, user.calendarId, {
      start: { date: day(4) },
      end: { date: day(5) },
      eventType: 'outOfOffice',
      summary: 'Away',
    });
    c.createTypedEvent(user.email, user.calendarId, {
      ...timed(day(5), '08:00', '17:00'),
      eventType: 'workingLocation',
      summary: 'Home',
    });
    c.createTypedEvent(user.email, user.calendarId, {
      start: { date: day(6) },
      end: { date: day(7) },
      eventType: 'birthday',
      summary: 'Birthday',
    });
    await insertEvent(user, { summary: 'Customer call', ...timed(day(3), '14:00', '15:00') });
    await s.pull(user);

    expect(s.activitiesOf(user).map((a) => a.subject)).toEqual(['Customer call']);
  });

  it('imports a focus-time event with importOtherEventTypes on', async () => {
    const user = await h.connectUser({ importOtherEventTypes: true });
    h.google.control.createTypedEvent(user.email, user.calendarId, {
      ...timed(day(3), '09:00', '11:00'),
      eventType: 'focusTime',
      summary: 'Focus',
    });
    await s.pull(user);
    expect(s.activitiesOf(user).map((a) => a.subject)).toEqual(['Focus']);
  });

  it('creates nothing for an invitation the user declined, and imports one they accepted', async () => {
    const user = await h.connectUser();
    h.google.control.createInvitation(user.email, user.calendarId, {
      ...timed(day(3), '10:00', '11:00'),
      summary: 'Declined review',
      organizer: ORGANIZER,
      responseStatus: 'declined',
    });
    h.google.control.createInvitation(user.email, user.calendarId, {
      ...timed(day(3), '12:00', '13:00'),
      summary: 'Accepted review',
      organizer: ORGANIZER,
      responseStatus: 'accepted',
    });
    await s.pull(user);
    expect(s.activitiesOf(user).map((a) => a.subject)).toEqual(['Accepted review']);
  });

  it('deletes the activity of a synced invitation the user then declines (deletion: delete)', async () => {
    const user = await h.connectUser({ deletion: 'delete' });
    const invitation = h.google.control.createInvitation(user.email, user.calendarId, {
      ...timed(day(3), '10:00', '11:00'),
      summary: 'Review',
      organizer: ORGANIZER,
      responseStatus: 'accepted',
    });
    await s.pull(user);
    const activityId = await linkedActivityId(user, invitation.id);
    expect(activityId, 'the accepted invitation became an activity').not.toBeNull();

    h.google.control.respondToInvitation(user.email, user.calendarId, invitation.id, 'declined');
    await s.pull(user);

    expect(s.activity(activityId!).is_deleted).toBe(true);
    expect(await linkedActivityId(user, invitation.id)).toBeNull();
    expect(h.google.control.inspectEvent(user.email, user.calendarId, invitation.id).event.status).toBe('confirmed');
  });

  it('keeps the activity and forgets the link when the deletion setting is unlink', async () => {
    const user = await h.connectUser({ deletion: 'unlink' });
    const invitation = h.google.control.createInvitation(user.email, user.calendarId, {
      ...timed(day(3), '10:00', '11:00'),
      summary: 'Review',
      organizer: ORGANIZER,
      responseStatus: 'accepted',
    });
    await s.pull(user);
    const activityId = await linkedActivityId(user, invitation.id);
    expect(activityId).not.toBeNull();

    h.google.control.respondToInvitation(user.email, user.calendarId, invitation.id, 'declined');
    await s.pull(user);

    expect(s.activity(activityId!).is_deleted).toBe(false);
    expect(await linkedActivityId(user, invitation.id)).toBeNull();
  });

  it('keeps syncing a declined invitation with importDeclined on', async () => {
    const user = await h.connectUser({ importDeclined: true });
    const invitation = h.google.control.createInvitation(user.email, user.calendarId, {
      ...timed(day(3), '10:00', '11:00'),
      summary: 'Review',
      organizer: ORGANIZER,
      responseStatus: 'declined',
    });
    await s.pull(user);
    const activityId = await linkedActivityId(user, invitation.id);
    expect(activityId, 'a declined invitation is imported').not.toBeNull();
    h.google.control.respondToInvitation(user.email, user.calendarId, invitation.id, 'tentative');
    h.google.control.respondToInvitation(user.email, user.calendarId, invitation.id, 'declined');
    await s.pull(user);
    expect(s.activity(activityId!).is_deleted).toBe(false);
    expect(await linkedActivityId(user, invitation.id)).toBe(activityId);
  });
});

describe('free, all-day and solo events (imported by default)', () => {
  it('imports a free event by default and skips it with importFree off', async () => {
    const free = { summary: 'Free slot', transparency: 'transparent', ...timed(day(3), '10:00', '11:00') };
    expect(await importWith({}, free)).toEqual(['Free slot']);
    expect(await importWith({ importFree: false }, free)).toEqual([]);
  });

  it('imports an all-day event by default and skips it with importAllDay off', async () => {
    const allDay = { summary: 'Trade fair', start: { date: day(4) }, end: { date: day(5) } };
    expect(await importWith({}, allDay)).toEqual(['Trade fair']);
    expect(await importWith({ importAllDay: false }, allDay)).toEqual([]);
  });

  it('skips an event without external attendees with importWithoutExternalAttendees off, and imports one with a guest', async () => {
    const user = await h.connectUser({ importWithoutExternalAttendees: false });
    await insertEvent(user, { summary: 'Alone', ...timed(day(3), '10:00', '11:00') });
    await insertEvent(user, { summary: 'With guest', attendees: [GUEST], ...timed(day(3), '12:00', '13:00') });
    await s.pull(user);
    expect(s.activitiesOf(user).map((a) => a.subject)).toEqual(['With guest']);
    expect(await importWith({}, { summary: 'Alone', ...timed(day(3), '10:00', '11:00') })).toEqual(['Alone']);
  });

  it('never filters an event already linked: an imported event made free later stays synced', async () => {
    const user = await h.connectUser({ importFree: false });
    const event = await insertEvent(user, { summary: 'Busy first', ...timed(day(3), '10:00', '11:00') });
    await s.pull(user);
    const activityId = await linkedActivityId(user, event.id!);
    await user.calendar.events.patch({
      calendarId: user.calendarId,
      eventId: event.id!,
      requestBody: { summary: 'Free now', transparency: 'transparent' },
    });
    await s.pull(user);
    expect(s.activity(activityId!)).toMatchObject({ subject: 'Free now', is_deleted: false });
  });
});
