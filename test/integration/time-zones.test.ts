/**
 * Times given as wall time plus a time zone (no offset), through the official Google client: the emulator answers
 * with the zone's offset, as Google does, and the sync reads the instant in that zone — including on the night
 * Berlin switches to summer time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function activitiesOf(user: SyncUser) {
  return h.pipedrive.control.listActivities().filter((a) => a.owner_id === user.pipedriveUserId);
}

describe('times with a time zone and no offset', () => {
  it('an event created in Google at 03:30 Berlin time on the DST night becomes an activity at 01:30 UTC', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    const res = await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        summary: 'Early call',
        start: { dateTime: '2027-03-28T03:30:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2027-03-28T04:15:00', timeZone: 'Europe/Berlin' },
      },
    });
    // Google answers with the offset in force at that moment (summer time began at 02:00).
    expect(res.data.start).toEqual({ dateTime: '2027-03-28T03:30:00+02:00', timeZone: 'Europe/Berlin' });
    expect(res.data.end?.dateTime).toBe('2027-03-28T04:15:00+02:00');

    await h.sync.googleChanged(user.connectionId);
    const activity = await eventually(async () => activitiesOf(user).find((a) => a.subject === 'Early call'));
    expect(activity).toMatchObject({ due_date: '2027-03-28', due_time: '01:30:00', duration: '00:45:00' });
  });

  it('an event from Pipedrive moved in Google to wall time in a zone moves the activity to that instant', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google' });
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Review',
      type: 'meeting',
      due_date: '2027-03-27',
      due_time: '09:00',
      duration: '01:00',
    }) as { id: number };
    const change: PipedriveChange = pipedriveWebhook({
      action: 'create',
      entityId: a.id,
      delivery: `tz-${a.id}`,
      changeSource: 'app',
    });
    await h.sync.pipedriveChanged(user.connectionId, change);
    const eventId = eventIdFor(user.connectionId, a.id);
    await eventually(async () =>
      h.google.control.listEvents(user.email, user.calendarId).find((e) => e.id === eventId),
    );
    await h.settled(user.connectionId);

    await user.calendar.events.patch({
      calendarId: user.calendarId,
      eventId,
      requestBody: {
        start: { dateTime: '2027-03-28T03:30:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2027-03-28T04:30:00', timeZone: 'Europe/Berlin' },
      },
    });
    await h.sync.googleChanged(user.connectionId);
    const moved = await eventually(async () => {
      const x = h.pipedrive.control.getActivity(a.id) as { due_date?: string; due_time?: string } | undefined;
      return x?.due_date === '2027-03-28' ? x : undefined;
    });
    expect(moved).toMatchObject({ due_date: '2027-03-28', due_time: '01:30:00', duration: '01:00:00' });
  });
});
