/**
 * Video-call links on the real stack: a Meet conference on a Google event arrives as the activity's
 * `conference_meeting_url`; a Pipedrive activity's Zoom link appears once on its event (location, or one
 * description line) and stays once through repeated syncs, and the pull of our own write writes nothing; an
 * event's own conference survives Pipedrive edits; with `createMeetLinks` a meeting gets exactly one Meet link,
 * also when the insert is retried after a crash, and the link is written back to the activity.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkByEvent } from '../../adapters/store/links.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { day, googleToPipedriveSteps, timed, type Activity } from '../../testing/google-to-pipedrive-steps.js';

let h: Harness;
let s: ReturnType<typeof googleToPipedriveSteps>;
beforeAll(async () => {
  h = await startHarness();
  s = googleToPipedriveSteps(() => h);
});
afterAll(async () => {
  await h.close();
});

const ZOOM = 'https://zoom.us/j/987654321?pwd=xyz';
const MEET_URI = /^https:\/\/meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/;

function googleEvent(user: SyncUser, eventId: string): calendar_v3.Schema$Event {
  return h.google.control.inspectEvent(user.email, user.calendarId, eventId).event as calendar_v3.Schema$Event;
}

function createActivity(user: SyncUser, fields: Record<string, unknown>): Activity {
  return h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject: 'Demo',
    type: 'call',
    due_date: day(5),
    due_time: '10:00',
    duration: '00:30',
    ...fields,
  }) as unknown as Activity;
}

function occurrences(text: string | null | undefined, part: string): number {
  return (text ?? '').split(part).length - 1;
}

describe('Google → Pipedrive', () => {
  it('turns the Meet link of a Google event into the activity’s conference_meeting_url, client and id', async () => {
    const user = await h.connectUser();
    const event = h.google.control.upsertEvent(user.email, user.calendarId, {
      summary: 'Meet call',
      ...timed(day(3), '10:00', '11:00'),
      conferenceData: { createRequest: { requestId: 'ui-1', conferenceSolutionKey: { type: 'hangoutsMeet' } } },
    });
    expect(event.hangoutLink).toMatch(MEET_URI);
    await s.pull(user);

    const [activity] = s.activitiesOf(user);
    expect(activity).toMatchObject({
      subject: 'Meet call',
      conference_meeting_url: event.hangoutLink,
      conference_meeting_client: 'Google Meet',
      conference_meeting_id: (event.conferenceData as { conferenceId: string }).conferenceId,
      location: null,
    });
  });

  it('keeps the event’s own conference when the activity is edited in Pipedrive, without placing the link twice', async () => {
    const user = await h.connectUser();
    const event = h.google.control.upsertEvent(user.email, user.calendarId, {
      summary: 'Meet call',
      ...timed(day(3), '10:00', '11:00'),
      conferenceData: { createRequest: { requestId: 'ui-2', conferenceSolutionKey: { type: 'hangoutsMeet' } } },
    });
    await s.pull(user);
    const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id);
    h.pipedrive.control.updateActivity(link!.activityId, { subject: 'Meet call, renamed' });
    await s.pushActivity(user, 'change', link!.activityId);

    const after = googleEvent(user, event.id);
    expect(after.summary).toBe('Meet call, renamed');
    expect(after.hangoutLink, 'the Meet conference survives our update').toBe(event.hangoutLink);
    expect(after.location ?? '').toBe('');
    expect(occurrences(after.description, event.hangoutLink as string)).toBe(0);
  });
});

describe('Pipedrive → Google', () => {
  it('puts a Zoom link into the event location once, and a pull of the echo writes nothing', async () => {
    const user = await h.connectUser();
    const created = createActivity(user, { conference_meeting_url: ZOOM, public_description: 'Agenda' });
    await s.pushActivity(user, 'create', created.id);
    const eventId = eventIdFor(user.connectionId, created.id);
    expect(googleEvent(user, eventId)).toMatchObject({ location: ZOOM, description: 'Agenda' });

    const google = s.googleWrites();
    const pipedrive = s.pipedriveWrites();
    await s.pull(user);
    await s.pushActivity(user, 'change', created.id);
    await s.pull(user);
    expect(s.googleWrites(), 'nothing written back to Google').toBe(google);
    expect(s.pipedriveWrites(), 'nothing written to Pipedrive').toBe(pipedrive);
    expect(s.activity(created.id)).toMatchObject({ location: null, public_description: 'Agenda' });
    expect(s.activity(created.id).conference_meeting_url).toBe(ZOOM);
  });

  it('puts it on one description line when the activity has a location, and it stays once through several syncs', async () => {
    const user = await h.connectUser();
    const created = createActivity(user, {
      conference_meeting_url: ZOOM,
      location: { value: 'Office' },
      public_description: 'Agenda',
    });
    await s.pushActivity(user, 'create', created.id);
    const eventId = eventIdFor(user.connectionId, created.id);
    for (let i = 1; i <= 3; i++) {
      h.pipedrive.control.updateActivity(created.id, { subject: `Demo ${i}` });
      await s.pushActivity(user, 'change', created.id);
      await user.calendar.events.patch({
        calendarId: user.calendarId,
        eventId,
        requestBody: { summary: `Demo ${i}, from Google` },
      });
      await s.pull(user);
    }
    const event = googleEvent(user, eventId);
    expect(event.location).toBe('Office');
    expect(occurrences(event.description, ZOOM)).toBe(1);
    expect(event.description).toBe(`Agenda\n\nVideo call: ${ZOOM}`);
    expect(s.activity(created.id)).toMatchObject({
      subject: 'Demo 3, from Google',
      public_description: 'Agenda',
      location: { value: 'Office' },
      conference_meeting_url: ZOOM,
    });
  });
});

describe('createMeetLinks', () => {
  it('gives a Pipedrive meeting exactly one Meet link, also when the insert is retried, and writes it back', async () => {
    const user = await h.connectUser({ createMeetLinks: true });
    h.crashAt('after-google-insert');
    const created = createActivity(user, { type: 'meeting', subject: 'Kick-off' });
    await s.pushActivity(user, 'create', created.id);
    expect(h.apiCalls.get('google events.insert 409') ?? 0, 'the insert was retried').toBeGreaterThan(0);

    const eventId = eventIdFor(user.connectionId, created.id);
    const events = h.google.control.listEvents(user.email, user.calendarId);
    expect(events.map((e) => e.id)).toEqual([eventId]);
    const meet = events[0]!.hangoutLink as string;
    expect(meet).toMatch(MEET_URI);
    expect((events[0]!.conferenceData as { createRequest: { requestId: string } }).createRequest.requestId).toBe(
      `pd-meet-${eventId}`,
    );

    // The event's change (its new conference) comes back in the next pull and writes the link to the activity.
    await s.pull(user);
    expect(s.activity(created.id)).toMatchObject({ conference_meeting_url: meet, location: null });

    // Further syncs keep that one conference and never place its link on the event a second time.
    h.pipedrive.control.updateActivity(created.id, { subject: 'Kick-off, moved' });
    await s.pushActivity(user, 'change', created.id);
    await s.pull(user);
    const after = googleEvent(user, eventId);
    expect(after.summary).toBe('Kick-off, moved');
    expect(after.hangoutLink).toBe(meet);
    expect(after.location ?? '').toBe('');
    expect(occurrences(after.description, meet)).toBe(0);
  });

  it('creates no Meet link for other activity types, for a meeting with its own link, or with the setting off', async () => {
    const on = await h.connectUser({ createMeetLinks: true });
    const call = createActivity(on, { type: 'call', subject: 'Call' });
    const zoomMeeting = createActivity(on, { type: 'meeting', subject: 'Zoom meeting', conference_meeting_url: ZOOM });
    await s.pushActivity(on, 'create', call.id);
    await s.pushActivity(on, 'create', zoomMeeting.id);
    expect(googleEvent(on, eventIdFor(on.connectionId, call.id)).conferenceData).toBeUndefined();
    const zoomEvent = googleEvent(on, eventIdFor(on.connectionId, zoomMeeting.id));
    expect(zoomEvent.conferenceData).toBeUndefined();
    expect(zoomEvent.location).toBe(ZOOM);

    const off = await h.connectUser();
    const meeting = createActivity(off, { type: 'meeting', subject: 'Meeting' });
    await s.pushActivity(off, 'create', meeting.id);
    expect(googleEvent(off, eventIdFor(off.connectionId, meeting.id)).conferenceData).toBeUndefined();
  });
});
