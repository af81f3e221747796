/**
 * What real calendars contain, on the real stack: fields the user set in Google that the sync does not own,
 * invitations organized by someone else, recurring series (deleted whole, or not movable instance by instance)
 * and a calendar switch that meets events Google will not move.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentAudit } from '../../adapters/store/audit-log.js';
import { linkByActivity, linkByEvent } from '../../adapters/store/links.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../../sync-rules/settings.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { day, googleToPipedriveSteps } from '../../testing/google-to-pipedrive-steps.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ relocateBatch: 2 });
});
afterAll(async () => {
  await h.close();
});

const { pull, pushActivity, processed } = googleToPipedriveSteps(() => h);

function activity(id: number) {
  return h.pipedrive.control.getActivity(id) as unknown as {
    id: number;
    subject: string;
    is_deleted: boolean;
    due_date: string;
    location: { value: string } | null;
    busy: boolean;
  };
}

function activitiesOf(user: SyncUser) {
  return (h.pipedrive.control.listActivities() as unknown as ReturnType<typeof activity>[]).filter(
    (a) => (a as unknown as { owner_id: number }).owner_id === user.pipedriveUserId && !a.is_deleted,
  );
}

async function configure(user: SyncUser, settings: Partial<SyncSettings>) {
  await h.sync.configure(user.connectionId, { ...DEFAULT_SETTINGS, enabled: true, ...settings });
  await h.settled(user.connectionId, 40_000);
}

/** An activity created in Pipedrive and pushed to Google; returns its id and event. */
async function pushed(user: SyncUser, subject: string) {
  const created = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject,
    type: 'meeting',
    due_date: day(5),
    due_time: '09:00',
    duration: '01:00',
  }) as { id: number };
  await pushActivity(user, 'create', created.id);
  const event = await eventually(async () =>
    h.google.control
      .listEvents(user.email, user.calendarId)
      .find((e) => readEventLinkProperties(e)?.activityId === created.id),
  );
  return { activityId: created.id, eventId: event.id };
}

const ORGANIZER = { email: 'boss@partner.example', displayName: 'Partner Boss' };

/** An invitation lands in the user's calendar and the sync imports it (two-way mode). */
async function importedInvitation(user: SyncUser, id: string, summary = 'Partner review') {
  h.google.control.createInvitation(user.email, user.calendarId, {
    id,
    summary,
    location: 'Their office',
    start: { dateTime: `${day(3)}T13:00:00Z` },
    end: { dateTime: `${day(3)}T14:00:00Z` },
    organizer: ORGANIZER,
    responseStatus: 'accepted',
  });
  await pull(user);
  const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, id);
  expect(link, 'the invitation is imported as an activity').not.toBeNull();
  return link!.activityId;
}

describe('fields the sync does not own', () => {
  it('keeps the colour, reminders, attachment, conference data and shared properties the user set in Google when a Pipedrive edit arrives', async () => {
    const user = await h.connectUser();
    const { activityId, eventId } = await pushed(user, 'Kick-off');
    await user.calendar.events.patch({
      calendarId: user.calendarId,
      eventId,
      supportsAttachments: true,
      // As the Calendar UI does: without version 1 Google ignores conference data in the body.
      conferenceDataVersion: 1,
      requestBody: {
        colorId: '4',
        reminders: { useDefault: false, overrides: [{ method: 'popup', minutes: 15 }] },
        attachments: [{ fileUrl: 'https://drive.google.com/file/d/agenda', title: 'Agenda' }],
        conferenceData: { conferenceId: 'abc-defg-hij' },
        guestsCanModify: true,
        extendedProperties: { shared: { team: 'sales' }, private: { note: 'mine' } },
      },
    });
    await pull(user);

    h.pipedrive.control.updateActivity(activityId, { subject: 'Kick-off (moved)', due_time: '11:00' });
    await pushActivity(user, 'change', activityId);

    const { data } = await user.calendar.events.get({ calendarId: user.calendarId, eventId });
    expect(data.summary).toBe('Kick-off (moved)');
    expect(data.start?.dateTime).toBe(`${day(5)}T11:00:00Z`);
    expect(data.colorId).toBe('4');
    expect(data.reminders).toEqual({ useDefault: false, overrides: [{ method: 'popup', minutes: 15 }] });
    expect(data.attachments).toEqual([{ fileUrl: 'https://drive.google.com/file/d/agenda', title: 'Agenda' }]);
    expect(data.conferenceData).toEqual({ conferenceId: 'abc-defg-hij' });
    expect(data.guestsCanModify).toBe(true);
    expect(data.extendedProperties?.shared).toEqual({ team: 'sales' });
    expect(data.extendedProperties?.private?.note).toBe('mine');
    expect(readEventLinkProperties(data)?.activityId).toBe(activityId);
  });
});

describe('invitations organized by someone else', () => {
  it('imports an invitation, applies the organizer’s changes, and never writes a Pipedrive edit back', async () => {
    const user = await h.connectUser();
    const activityId = await importedInvitation(user, 'invitation0001');
    expect(activity(activityId)).toMatchObject({ subject: 'Partner review', location: { value: 'Their office' } });

    // The organizer changes the meeting: it reaches the activity.
    h.google.control.upsertEvent(user.email, user.calendarId, { id: 'invitation0001', summary: 'Partner review v2' });
    await pull(user);
    expect(activity(activityId).subject).toBe('Partner review v2');

    // The user edits the activity in Pipedrive: nothing is written to the organizer's event.
    const before = new Map(h.apiCalls);
    const etag = h.google.control.inspectEvent(user.email, user.calendarId, 'invitation0001').event.etag;
    h.pipedrive.control.updateActivity(activityId, { subject: 'My own title' });
    await pushActivity(user, 'change', activityId);
    const after = h.google.control.inspectEvent(user.email, user.calendarId, 'invitation0001').event;
    expect(after.etag).toBe(etag);
    expect(after.summary).toBe('Partner review v2');
    const writes = [...h.apiCalls.keys()].filter(
      (k) => /^google events\.(insert|update|patch|move|delete) /.test(k) && h.apiCalls.get(k) !== before.get(k),
    );
    expect(writes).toEqual([]);
    const status = await h.sync.status(user.connectionId);
    expect(status.failures).toBe(0);
    expect(status.recent.at(-1)).toMatchObject({
      subject: `activity:${activityId}`,
      result: 'skipped',
      reason: 'invitation-organized-by-someone-else',
    });
    const audit = await recentAudit(h.stack.db, user.connectionId, 5);
    expect(audit[0]).toMatchObject({ action: 'skipped', outcome: 'skipped', subject: `activity:${activityId}` });

    // Deleting the activity leaves the meeting in the user's calendar.
    h.pipedrive.control.deleteActivity(activityId);
    await pushActivity(user, 'delete', activityId);
    expect(h.google.control.inspectEvent(user.email, user.calendarId, 'invitation0001').event.status).toBe('confirmed');
    expect(await linkByActivity(h.stack.db, user.connectionId, activityId)).toBeNull();
  });
});

describe('private Google events (Pipedrive has no private activities)', () => {
  it('imports a private event as a neutral activity, and a Pipedrive time change moves it without exposing or overwriting its content', async () => {
    const user = await h.connectUser({ privateEvents: 'private' });
    const { data: event } = await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        id: 'privatemeet01',
        summary: 'Job interview elsewhere',
        description: 'Do not tell anyone',
        location: 'Competitor HQ',
        visibility: 'private',
        start: { dateTime: `${day(4)}T15:00:00Z` },
        end: { dateTime: `${day(4)}T16:00:00Z` },
      },
    });
    await pull(user);
    const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id!);
    expect(link).not.toBeNull();
    const imported = h.pipedrive.control.getActivity(link!.activityId) as Record<string, unknown>;
    expect(imported).toMatchObject({
      subject: 'Private event',
      due_date: day(4),
      due_time: '15:00:00',
      location: null,
    });
    expect(JSON.stringify(imported)).not.toMatch(/interview|Do not tell|Competitor/);

    // Pulling again finds nothing new (the neutral activity is the event's echo, not a difference).
    const writesBefore = [...h.apiCalls]
      .filter(([k]) => /^pipedrive (POST|PATCH)/.test(k))
      .reduce((n, [, c]) => n + c, 0);
    h.pipedrive.control.updateActivity(link!.activityId, { due_time: '17:00' });
    await pushActivity(user, 'change', link!.activityId);
    const { data: moved } = await user.calendar.events.get({ calendarId: user.calendarId, eventId: event.id! });
    expect(moved).toMatchObject({
      summary: 'Job interview elsewhere',
      description: 'Do not tell anyone',
      location: 'Competitor HQ',
      visibility: 'private',
      start: { dateTime: `${day(4)}T17:00:00Z` },
    });
    await pull(user);
    const writesAfter = [...h.apiCalls]
      .filter(([k]) => /^pipedrive (POST|PATCH)/.test(k))
      .reduce((n, [, c]) => n + c, 0);
    expect(writesAfter).toBe(writesBefore);
    expect(activity(link!.activityId).subject).toBe('Private event');
  });
});

describe('recurring series', () => {
  it('removes the activities of every instance when the whole series is deleted in Google (deletion: delete)', async () => {
    const user = await h.connectUser({ recurringHorizonDays: 30 });
    await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        id: 'seriesaaa01',
        summary: 'Weekly pipeline review',
        start: { dateTime: `${day(1)}T10:00:00Z`, timeZone: 'UTC' },
        end: { dateTime: `${day(1)}T10:30:00Z`, timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
      },
    });
    await pull(user);
    const ids = activitiesOf(user).map((a) => a.id);
    expect(ids).toHaveLength(3);

    await user.calendar.events.delete({ calendarId: user.calendarId, eventId: 'seriesaaa01' });
    await pull(user);
    for (const id of ids) expect(activity(id).is_deleted).toBe(true);
    expect(activitiesOf(user)).toEqual([]);
  });

  it('keeps the activities and forgets the links when the series is deleted and the deletion setting is unlink', async () => {
    const user = await h.connectUser({ recurringHorizonDays: 30, deletion: 'unlink' });
    await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        id: 'seriesbbb02',
        summary: 'Standup',
        start: { dateTime: `${day(1)}T08:00:00Z`, timeZone: 'UTC' },
        end: { dateTime: `${day(1)}T08:15:00Z`, timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=2'],
      },
    });
    await pull(user);
    const ids = activitiesOf(user).map((a) => a.id);
    expect(ids).toHaveLength(2);
    await user.calendar.events.delete({ calendarId: user.calendarId, eventId: 'seriesbbb02' });
    await pull(user);
    for (const id of ids) {
      expect(activity(id).is_deleted).toBe(false);
      expect(await linkByActivity(h.stack.db, user.connectionId, id)).toBeNull();
    }
  });
});

describe('a calendar switch meets events Google will not move', () => {
  it('moves what it can, skips and reports a recurring instance and an invitation, and does not retry them', async () => {
    const user = await h.connectUser({ recurringHorizonDays: 30 });
    // In id order: an instance of the user's own series and an invitation first, then ordinary events.
    await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        id: 'seriesccc03',
        summary: 'Own series',
        start: { dateTime: `${day(2)}T07:00:00Z`, timeZone: 'UTC' },
        end: { dateTime: `${day(2)}T07:30:00Z`, timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=1'],
      },
    });
    await pull(user);
    const instanceActivity = activitiesOf(user)[0]!.id;
    const invitationActivity = await importedInvitation(user, 'invitation0002', 'Their meeting');
    const movable = [(await pushed(user, 'Movable one')).activityId, (await pushed(user, 'Movable two')).activityId];

    expect((await linkByActivity(h.stack.db, user.connectionId, invitationActivity))?.invitation).toBe(true);
    const moves = () => h.google.control.stats().requests.byOperation['events.move'] ?? 0;
    const movesBefore = moves();
    const forbiddenBefore = h.apiCalls.get('google events.move 403') ?? 0;

    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });
    await configure(user, { calendarId: dedicated.id, recurringHorizonDays: 30 });

    await eventually(async () => {
      const links = await Promise.all(movable.map((id) => linkByActivity(h.stack.db, user.connectionId, id)));
      return links.every((l) => l?.calendarId === dedicated.id) ? true : undefined;
    }, 30_000);
    for (const id of [instanceActivity, invitationActivity]) {
      expect((await linkByActivity(h.stack.db, user.connectionId, id))?.calendarId).toBe(user.calendarId);
    }
    const status = await h.sync.status(user.connectionId);
    expect(status.failures).toBe(0);
    const skipped = status.recent.filter((o) => o.result === 'skipped').map((o) => [o.subject, o.reason]);
    expect(skipped).toEqual(
      expect.arrayContaining([
        [`activity:${instanceActivity}`, 'cannot-move-recurring-instance'],
        [`activity:${invitationActivity}`, 'cannot-move-invitation-organized-by-someone-else'],
      ]),
    );
    // The invitation was known from its link: Google was never asked to move it (the two movable events and the
    // instance were; the instance's refusal is Google's 400).
    expect(h.apiCalls.get('google events.move 403') ?? 0).toBe(forbiddenBefore);
    expect(moves() - movesBefore).toBe(3);
    const audit = await recentAudit(h.stack.db, user.connectionId, 50);
    expect(audit.filter((a) => a.outcome === 'skipped').map((a) => a.subject)).toEqual(
      expect.arrayContaining([`activity:${instanceActivity}`, `activity:${invitationActivity}`]),
    );

    // Another relocation pass (the safety net queues one while links are outside) does not try them again.
    const before = h.apiCalls.get('google events.move 400') ?? 0;
    const beforeForbidden = h.apiCalls.get('google events.move 403') ?? 0;
    await processed(user, () => h.sync.googleChanged(user.connectionId));
    await h.sync.configure(user.connectionId, {
      ...DEFAULT_SETTINGS,
      enabled: true,
      calendarId: dedicated.id,
      recurringHorizonDays: 30,
    });
    await h.settled(user.connectionId, 30_000);
    expect(h.apiCalls.get('google events.move 400') ?? 0).toBe(before);
    expect(h.apiCalls.get('google events.move 403') ?? 0).toBe(beforeForbidden);
  });
});
