/**
 * Google → Pipedrive on the real stack: events created and edited in the user's calendar (through the official
 * Google client, as the user), the resulting Pipedrive state read back from the emulator; conflicts between
 * both sides; exactly-once creation across crashes; the 410 full-resync path; echo suppression.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { linkByActivity, linkByEvent } from '../../adapters/store/links.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../../sync-rules/settings.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface Activity {
  id: number;
  subject: string;
  type: string;
  owner_id: number;
  is_deleted: boolean;
  deal_id: number | null;
  person_id: number | null;
  org_id: number | null;
  due_date: string | null;
  due_time: string | null;
  duration: string | null;
  public_description: string | null;
  location: { value: string } | null;
  busy: boolean;
}

// ── Helpers ─────────────────────────────────────────────────────────────────────────────────────────────

/** `YYYY-MM-DD`, `days` from today (UTC). */
function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

function timed(date: string, from: string, to: string): Pick<calendar_v3.Schema$Event, 'start' | 'end'> {
  return { start: { dateTime: `${date}T${from}:00Z` }, end: { dateTime: `${date}T${to}:00Z` } };
}

let deliveries = 0;
function webhook(action: 'create' | 'change' | 'delete', id: number): PipedriveChange {
  return {
    meta: {
      action,
      entity: 'activity',
      entity_id: String(id),
      id: `g2p-${id}-${action}-${++deliveries}`,
      change_source: 'app',
    },
    data: null,
    previous: null,
  };
}

/** The user's activities in Pipedrive (not deleted). */
function activitiesOf(user: SyncUser): Activity[] {
  return (h.pipedrive.control.listActivities() as unknown as Activity[]).filter(
    (a) => a.owner_id === user.pipedriveUserId && !a.is_deleted,
  );
}

function activity(id: number): Activity {
  return h.pipedrive.control.getActivity(id) as unknown as Activity;
}

/** Runs `signal`, then waits until the workflow processed at least one more item and has nothing left to do. */
async function processed(user: SyncUser, signal: () => Promise<void>): Promise<void> {
  const before = (await h.sync.status(user.connectionId)).processed;
  await signal();
  await eventually(
    async () => {
      const s = await h.sync.status(user.connectionId);
      return s.processed > before && s.queued === 0 && s.state !== 'syncing' ? s : undefined;
    },
    20_000,
    `the sync of ${user.connectionId} to process the change`,
  );
}

/** A Google change notification, fully processed (one pull). */
function pull(user: SyncUser): Promise<void> {
  return processed(user, () => h.sync.googleChanged(user.connectionId));
}

/** A Pipedrive webhook for an activity, fully processed. */
function pushActivity(user: SyncUser, action: 'create' | 'change' | 'delete', id: number): Promise<void> {
  return processed(user, () => h.sync.pipedriveChanged(user.connectionId, webhook(action, id)));
}

async function insertEvent(user: SyncUser, body: calendar_v3.Schema$Event): Promise<calendar_v3.Schema$Event> {
  const res = await user.calendar.events.insert({ calendarId: user.calendarId, requestBody: body });
  return res.data;
}

async function patchEvent(user: SyncUser, eventId: string, body: calendar_v3.Schema$Event) {
  const res = await user.calendar.events.patch({ calendarId: user.calendarId, eventId, requestBody: body });
  return res.data;
}

async function getEvent(user: SyncUser, eventId: string): Promise<calendar_v3.Schema$Event> {
  return (await user.calendar.events.get({ calendarId: user.calendarId, eventId })).data;
}

/** A new Google event that the sync has turned into an activity (two-way mode); returns both. */
async function importedEvent(user: SyncUser, body: calendar_v3.Schema$Event) {
  const event = await insertEvent(user, body);
  await pull(user);
  const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id!);
  expect(link, 'the new event is linked to an activity').not.toBeNull();
  return { event, activityId: link!.activityId };
}

/** An activity linked to a deal, person and organization, pushed to Google; returns the activity and its event. */
async function pushedActivity(user: SyncUser, subject: string) {
  const pd = h.pipedrive.control;
  const userId = user.pipedriveUserId;
  const org = pd.createOrganization({ userId, name: 'Globex' }) as { id: number };
  const person = pd.createPerson({ userId, name: 'Hank', org_id: org.id }) as { id: number };
  const deal = pd.createDeal({ userId, title: 'Hammock', person_id: person.id, org_id: org.id }) as { id: number };
  const created = pd.createActivity({
    userId,
    subject,
    type: 'meeting',
    deal_id: deal.id,
    person_id: person.id,
    org_id: org.id,
    due_date: day(10),
    due_time: '09:00',
    duration: '01:00',
    location: { value: 'Cypress Creek' },
    public_description: 'Bring the plans',
    busy: true,
  }) as unknown as Activity;
  await pushActivity(user, 'create', created.id);
  const eventId = eventIdFor(user.connectionId, created.id);
  const event = await getEvent(user, eventId);
  expect(event.summary).toBe(`Hammock > Hank > Globex > ${subject}`);
  return { activityId: created.id, eventId, deal, person, org };
}

function googleWrites(): number {
  let n = 0;
  for (const [key, count] of h.apiCalls) {
    if (/^google events\.(insert|update|patch|delete) /.test(key)) n += count;
  }
  return n;
}

function apiCalls(key: string): number {
  return h.apiCalls.get(key) ?? 0;
}

/** Waits until Pipedrive's clock (second resolution) has moved on, so two edits get distinct update times. */
async function nextSecond(): Promise<void> {
  const second = Math.floor(Date.now() / 1000);
  await eventually(async () => (Math.floor(Date.now() / 1000) > second ? true : undefined), 3_000);
}

/** Connects a user with the sync off, so the test can put events into the calendar before the sync is enabled. */
async function connectDisabled(settings: Partial<SyncSettings> = {}): Promise<SyncUser> {
  return h.connectUser({ ...settings, enabled: false });
}

async function enable(user: SyncUser, settings: Partial<SyncSettings> = {}): Promise<void> {
  await processed(user, async () => {
    await h.sync.configure(user.connectionId, {
      ...DEFAULT_SETTINGS,
      calendarId: user.calendarId,
      ...settings,
      enabled: true,
    });
  });
}

// ── Two-way mode ────────────────────────────────────────────────────────────────────────────────────────

describe('Google → Pipedrive in two-way mode', () => {
  it('turns a new Google event into an unlinked activity of type task', async () => {
    const user = await h.connectUser();
    const date = day(5);
    const event = await insertEvent(user, {
      summary: 'Dentist',
      description: 'Bring the card',
      location: 'Main St 1',
      transparency: 'transparent',
      ...timed(date, '14:00', '14:45'),
    });
    await pull(user);

    const [created] = activitiesOf(user);
    expect(activitiesOf(user)).toHaveLength(1);
    expect(created).toMatchObject({
      subject: 'Dentist',
      type: 'task',
      deal_id: null,
      person_id: null,
      org_id: null,
      due_date: date,
      due_time: '14:00:00',
      duration: '00:45:00',
      public_description: 'Bring the card',
      location: { value: 'Main St 1' },
      busy: false,
    });
    const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id!);
    expect(link?.activityId).toBe(created!.id);
  });

  it('gives activities from Google events the configured incoming activity type', async () => {
    const user = await h.connectUser({ incomingActivityType: 'meeting' });
    await insertEvent(user, { summary: 'Stand-up', ...timed(day(3), '08:00', '08:15') });
    await pull(user);

    expect(activitiesOf(user).map((a) => [a.subject, a.type])).toEqual([['Stand-up', 'meeting']]);
  });

  it('applies edits of the event (time, title, description, location, busy) to its activity', async () => {
    const user = await h.connectUser();
    const { event, activityId } = await importedEvent(user, {
      summary: 'Review',
      description: 'old notes',
      location: 'Room 1',
      ...timed(day(4), '10:00', '11:00'),
    });
    expect(activity(activityId).busy).toBe(true);

    const newDate = day(6);
    await patchEvent(user, event.id!, {
      summary: 'Quarterly review',
      description: 'new notes',
      location: 'Room 2',
      transparency: 'transparent',
      ...timed(newDate, '15:30', '17:00'),
    });
    await pull(user);

    expect(activity(activityId)).toMatchObject({
      subject: 'Quarterly review',
      public_description: 'new notes',
      location: { value: 'Room 2' },
      busy: false,
      due_date: newDate,
      due_time: '15:30:00',
      duration: '01:30:00',
      is_deleted: false,
    });
    expect(activitiesOf(user)).toHaveLength(1);
  });

  it('deletes the activity when its event is deleted in Google (deletion: delete)', async () => {
    const user = await h.connectUser();
    const { event, activityId } = await importedEvent(user, { summary: 'Lunch', ...timed(day(2), '12:00', '13:00') });

    await user.calendar.events.delete({ calendarId: user.calendarId, eventId: event.id! });
    await pull(user);

    expect(activity(activityId).is_deleted).toBe(true);
    expect(await linkByActivity(h.stack.db, user.connectionId, activityId)).toBeNull();
  });

  it('keeps the activity and forgets the link when its event is deleted in Google (deletion: unlink)', async () => {
    const user = await h.connectUser({ deletion: 'unlink' });
    const { event, activityId } = await importedEvent(user, { summary: 'Gym', ...timed(day(2), '18:00', '19:00') });
    const before = activity(activityId);

    await user.calendar.events.delete({ calendarId: user.calendarId, eventId: event.id! });
    await pull(user);

    expect(activity(activityId)).toEqual(before);
    expect(await linkByActivity(h.stack.db, user.connectionId, activityId)).toBeNull();
    // The deleted event stays deleted: forgetting the link writes nothing to Google.
    const deleted = h.google.control.listEvents(user.email, user.calendarId, { includeDeleted: true });
    expect(deleted.find((e) => e.id === event.id)?.status).toBe('cancelled');
  });
});

// ── Pipedrive-to-Google mode ────────────────────────────────────────────────────────────────────────────

describe('Google → Pipedrive in pipedrive-to-google mode', () => {
  it('ignores events created in Google', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google' });
    const event = await insertEvent(user, { summary: 'Private errand', ...timed(day(3), '09:00', '10:00') });
    await pull(user);

    expect(activitiesOf(user)).toEqual([]);
    expect(await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id!)).toBeNull();
  });

  it('applies Google edits of an event that came from Pipedrive, stripping the title prefix', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google' });
    const { activityId, eventId, deal, person, org } = await pushedActivity(user, 'Kick-off');

    const newDate = day(12);
    await patchEvent(user, eventId, {
      summary: 'Hammock > Hank > Globex > New subject',
      description: 'Bring the revised plans',
      location: 'Springfield',
      transparency: 'transparent',
      ...timed(newDate, '13:00', '13:30'),
    });
    await pull(user);

    expect(activity(activityId)).toMatchObject({
      subject: 'New subject',
      public_description: 'Bring the revised plans',
      location: { value: 'Springfield' },
      busy: false,
      due_date: newDate,
      due_time: '13:00:00',
      duration: '00:30:00',
      deal_id: deal.id,
      person_id: person.id,
      org_id: org.id,
    });
    expect((await getEvent(user, eventId)).summary).toBe('Hammock > Hank > Globex > New subject');
  });

  it('deletes the activity when its event is deleted in Google', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google' });
    const { activityId, eventId } = await pushedActivity(user, 'Site visit');

    await user.calendar.events.delete({ calendarId: user.calendarId, eventId });
    await pull(user);

    expect(activity(activityId).is_deleted).toBe(true);
  });

  it('keeps the activity when its event is deleted in Google and the deletion setting is unlink', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google', deletion: 'unlink' });
    const { activityId, eventId } = await pushedActivity(user, 'Workshop');
    const before = activity(activityId);

    await user.calendar.events.delete({ calendarId: user.calendarId, eventId });
    await pull(user);

    expect(activity(activityId)).toEqual(before);
    expect(await linkByActivity(h.stack.db, user.connectionId, activityId)).toBeNull();
  });
});

// ── Baseline and recurring events ───────────────────────────────────────────────────────────────────────

describe('what the sync imports', () => {
  it('does not import events already in the calendar when enabled, but syncs one once it changes', async () => {
    const user = await connectDisabled();
    const old1 = h.google.control.upsertEvent(user.email, user.calendarId, {
      summary: 'Old one',
      ...timed(day(3), '09:00', '10:00'),
    });
    h.google.control.upsertEvent(user.email, user.calendarId, {
      summary: 'Old two',
      ...timed(day(4), '09:00', '10:00'),
    });
    await enable(user);
    await pull(user);
    expect(activitiesOf(user)).toEqual([]);

    await patchEvent(user, old1.id, { summary: 'Old one, moved', ...timed(day(5), '11:00', '12:00') });
    await pull(user);

    expect(activitiesOf(user).map((a) => [a.subject, a.due_date, a.due_time])).toEqual([
      ['Old one, moved', day(5), '11:00:00'],
    ]);
  });

  it('creates one activity per instance of a weekly event inside the recurring horizon and none beyond', async () => {
    const user = await h.connectUser({ recurringHorizonDays: 30 });
    // Instances on days +1, +8, +15, +22, +29 are inside a 30-day horizon; +36 … +64 are beyond it.
    await insertEvent(user, {
      summary: 'Weekly sync',
      // Recurring events need a time zone (Google rejects them without one).
      start: { dateTime: `${day(1)}T10:00:00Z`, timeZone: 'UTC' },
      end: { dateTime: `${day(1)}T10:30:00Z`, timeZone: 'UTC' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=10'],
    });
    await pull(user);

    const dates = activitiesOf(user)
      .map((a) => a.due_date)
      .sort();
    expect(dates).toEqual([day(1), day(8), day(15), day(22), day(29)]);
    expect(activitiesOf(user).every((a) => a.subject === 'Weekly sync' && a.due_time === '10:00:00')).toBe(true);
  });
});

// ── Conflicts ───────────────────────────────────────────────────────────────────────────────────────────

describe('changes on both sides between two syncs', () => {
  /** Pauses the sync, lets `change` edit both sides, queues both notifications, resumes and waits. */
  async function bothSidesChange(user: SyncUser, activityId: number, change: () => Promise<void>) {
    await h.sync.pause(user.connectionId);
    await change();
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', activityId));
    await h.sync.googleChanged(user.connectionId);
    await processed(user, async () => {
      await h.sync.resume(user.connectionId);
    });
  }

  it('keeps both edits when each side changed a different field', async () => {
    const user = await h.connectUser();
    const { event, activityId } = await importedEvent(user, {
      summary: 'Planning',
      location: 'Room 1',
      ...timed(day(7), '09:00', '10:00'),
    });

    await bothSidesChange(user, activityId, async () => {
      h.pipedrive.control.updateActivity(activityId, { subject: 'Planning (agenda sent)' });
      await patchEvent(user, event.id!, { location: 'Room 7' });
    });

    expect(activity(activityId)).toMatchObject({ subject: 'Planning (agenda sent)', location: { value: 'Room 7' } });
    const now = await getEvent(user, event.id!);
    expect({ summary: now.summary, location: now.location }).toEqual({
      summary: 'Planning (agenda sent)',
      location: 'Room 7',
    });
  });

  it('takes the later edit on both sides when both changed the same field (Google later)', async () => {
    const user = await h.connectUser();
    const { event, activityId } = await importedEvent(user, { summary: 'Call', ...timed(day(7), '11:00', '11:30') });

    await bothSidesChange(user, activityId, async () => {
      h.pipedrive.control.updateActivity(activityId, { subject: 'Call (Pipedrive)' });
      await nextSecond();
      await patchEvent(user, event.id!, { summary: 'Call (Google)' });
    });

    expect(activity(activityId).subject).toBe('Call (Google)');
    expect((await getEvent(user, event.id!)).summary).toBe('Call (Google)');
  });

  it('takes the later edit on both sides when both changed the same field (Pipedrive later)', async () => {
    const user = await h.connectUser();
    const { event, activityId } = await importedEvent(user, { summary: 'Demo', ...timed(day(7), '14:00', '15:00') });

    await bothSidesChange(user, activityId, async () => {
      await patchEvent(user, event.id!, { summary: 'Demo (Google)' });
      await nextSecond();
      h.pipedrive.control.updateActivity(activityId, { subject: 'Demo (Pipedrive)' });
    });

    expect(activity(activityId).subject).toBe('Demo (Pipedrive)');
    expect((await getEvent(user, event.id!)).summary).toBe('Demo (Pipedrive)');
  });
});

// ── Exactly once ────────────────────────────────────────────────────────────────────────────────────────

describe('exactly once', () => {
  it('creates exactly one linked activity for a new event when the step crashes after the Pipedrive create', async () => {
    const user = await h.connectUser();
    const listsBefore = apiCalls('pipedrive GET /api/v2/activities 200');
    h.crashAt('after-pipedrive-create');
    const event = await insertEvent(user, { summary: 'Crash test', ...timed(day(3), '16:00', '17:00') });
    await pull(user);

    // The retry looked for the activity the crashed attempt had created (instead of creating another one).
    expect(apiCalls('pipedrive GET /api/v2/activities 200')).toBeGreaterThan(listsBefore);
    const activities = activitiesOf(user);
    expect(activities.map((a) => a.subject)).toEqual(['Crash test']);
    const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id!);
    expect(link?.activityId).toBe(activities[0]!.id);
  });

  it('creates exactly one event for a new activity when the step crashes after the Google insert', async () => {
    const user = await h.connectUser();
    const conflictsBefore = apiCalls('google events.insert 409');
    h.crashAt('after-google-insert');
    const created = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Crash test',
      type: 'call',
      due_date: day(3),
      due_time: '16:00',
      duration: '00:30',
    }) as unknown as Activity;
    await pushActivity(user, 'create', created.id);

    // The retry's insert hit the event the crashed attempt had written (409) and adopted it.
    expect(apiCalls('google events.insert 409')).toBeGreaterThan(conflictsBefore);
    const events = h.google.control.listEvents(user.email, user.calendarId);
    expect(events.map((e) => e.summary)).toEqual(['Crash test']);
    expect(events[0]!.id).toBe(eventIdFor(user.connectionId, created.id));
  });

  it('re-lists the calendar after a 410 without duplicating anything, and keeps syncing later changes', async () => {
    const user = await connectDisabled();
    h.google.control.upsertEvent(user.email, user.calendarId, {
      summary: 'Baseline',
      ...timed(day(2), '09:00', '10:00'),
    });
    await enable(user);
    const { event, activityId } = await importedEvent(user, {
      summary: 'From Google',
      ...timed(day(3), '09:00', '10:00'),
    });
    const fromPipedrive = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'From Pipedrive',
      type: 'call',
      due_date: day(4),
      due_time: '09:00',
      duration: '01:00',
    }) as unknown as Activity;
    await pushActivity(user, 'create', fromPipedrive.id);
    const activitiesBefore = activitiesOf(user)
      .map((a) => a.id)
      .sort();
    expect(activitiesBefore).toEqual([activityId, fromPipedrive.id].sort());

    h.google.control.invalidateSyncTokens(user.email);
    const goneBefore = apiCalls('google events.list 410');
    const writesBefore = googleWrites();
    await pull(user);

    expect(apiCalls('google events.list 410')).toBe(goneBefore + 1);
    expect(
      activitiesOf(user)
        .map((a) => a.id)
        .sort(),
    ).toEqual(activitiesBefore);
    expect(googleWrites()).toBe(writesBefore);

    await patchEvent(user, event.id!, { summary: 'From Google, renamed' });
    await insertEvent(user, { summary: 'After the resync', ...timed(day(5), '09:00', '10:00') });
    await pull(user);

    expect(activity(activityId).subject).toBe('From Google, renamed');
    expect(
      activitiesOf(user)
        .map((a) => a.subject)
        .sort(),
    ).toEqual(['After the resync', 'From Google, renamed', 'From Pipedrive']);
  });
});

// ── Echo ────────────────────────────────────────────────────────────────────────────────────────────────

describe('echo suppression', () => {
  it('writes nothing to Google when Pipedrive reports the change the sync itself made from Google', async () => {
    const user = await h.connectUser();
    const { event, activityId } = await importedEvent(user, { summary: 'Echo', ...timed(day(3), '09:00', '10:00') });
    await patchEvent(user, event.id!, { summary: 'Echo, edited', location: 'Hall' });
    await pull(user);
    expect(activity(activityId).subject).toBe('Echo, edited');

    const writesBefore = googleWrites();
    const echoesBefore = (await h.sync.status(user.connectionId)).echoes;
    // What Pipedrive's webhooks would send for the sync's own create and update.
    await pushActivity(user, 'create', activityId);
    await pushActivity(user, 'change', activityId);

    expect(googleWrites()).toBe(writesBefore);
    expect((await h.sync.status(user.connectionId)).echoes).toBe(echoesBefore + 2);
  });
});
