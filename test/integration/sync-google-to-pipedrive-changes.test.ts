/**
 * Google → Pipedrive on the real stack: events created, edited and deleted in the user's calendar (through the
 * official Google client, as the user), the resulting Pipedrive state read back from the emulator, in two-way and
 * in pipedrive-to-google mode; what is imported when the sync is enabled, and recurring events. Changes on both
 * sides, exactly-once creation and echoes are in sync-google-to-pipedrive-both-sides.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkByActivity, linkByEvent } from '../../adapters/store/links.js';
import { day, timed, googleToPipedriveSteps } from '../../testing/google-to-pipedrive-steps.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';
import { activityRuns } from '../../testing/activity-runs.js';
import { workflowIdFor } from '../../workflows/names.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const {
  activitiesOf,
  activity,
  pull,
  insertEvent,
  patchEvent,
  getEvent,
  importedEvent,
  pushedActivity,
  connectDisabled,
  enable,
} = googleToPipedriveSteps(() => h);

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

  it('rides out a short Pipedrive rate-limit window on one event without failing the whole pull', async () => {
    const user = await h.connectUser();
    const date = day(6);
    for (const [i, summary] of ['Standup', 'Review', 'Retro', 'Planning', 'Demo'].entries()) {
      await insertEvent(user, { summary, ...timed(date, `1${i}:00`, `1${i}:30`) });
    }
    const limited = () =>
      [...h.apiCalls].filter(([k]) => k.startsWith('pipedrive ') && k.endsWith(' 429')).reduce((n, [, c]) => n + c, 0);
    const before = limited();
    // Four requests per 2 s window for each token: importing five events needs more, so the burst limit answers 429
    // with a Retry-After of the window's rest, deterministically, in the middle of the pull.
    h.pipedrive.control.setRateLimits({ burstLimitPer2s: 4 });
    try {
      await pull(user);
    } finally {
      h.pipedrive.control.setRateLimits({ burstLimitPer2s: 80 });
    }
    expect(limited() - before, 'the burst limit was hit during the pull').toBeGreaterThan(0);
    expect(
      activitiesOf(user)
        .map((a) => a.subject)
        .sort(),
    ).toEqual(['Demo', 'Planning', 'Retro', 'Review', 'Standup']);
    // One attempt of each pull: the limited event waited for its window instead of failing the other four's.
    // A pull runs as a local activity first (a marker) and as a regular one only when that attempt failed, so
    // every pull, local or regular, succeeded at its first attempt.
    const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
    const pulls = activityRuns(history.events ?? []).filter((r) => r.type === 'pullGoogle');
    expect(pulls.length).toBeGreaterThan(0);
    expect(pulls.map((p) => ({ ok: p.ok, attempts: p.attempts }))).toEqual(
      pulls.map(() => ({ ok: true, attempts: [1] })),
    );
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
