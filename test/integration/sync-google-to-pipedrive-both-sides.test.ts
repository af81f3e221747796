/**
 * Google → Pipedrive on the real stack, where both sides meet: conflicts between edits on both sides, exactly-once
 * creation across crashes, the 410 full-resync path, and echo suppression. One side's changes are in
 * sync-google-to-pipedrive-changes.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkByEvent } from '../../adapters/store/links.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import {
  day,
  timed,
  nextSecond,
  googleToPipedriveSteps,
  type Activity,
} from '../../testing/google-to-pipedrive-steps.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const {
  webhook,
  activitiesOf,
  activity,
  processed,
  pull,
  pushActivity,
  insertEvent,
  patchEvent,
  getEvent,
  importedEvent,
  googleWrites,
  apiCalls,
  connectDisabled,
  enable,
} = googleToPipedriveSteps(() => h);

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
