/**
 * The watch step is retried after a failure before Google created the channel: the retry must send Google the
 * same token the registry holds, or every notification on that channel is rejected until the next renewal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  // The safety net stays at its 5-minute default: the change below can only arrive through a notification.
  h = await startHarness({ feeds: true });
});
afterAll(async () => {
  await h.close();
});

describe('the watch channel token', () => {
  it('is the same on every attempt, so notifications are accepted after the first attempt failed before Google saw it', async () => {
    h.crashAt('before-google-watch', 1);
    const user = await h.connectUser({ mode: 'two-way' });
    const status = await h.settled(user.connectionId);
    const channel = h.google.control.listChannels().find((c) => c.ownerEmail === user.email && !c.stopped);
    expect(channel?.id).toBe(status.channel?.channelId);
    const { rows } = await h.stack.db.query('SELECT count(*)::int AS n FROM watch_channels WHERE connection_id = $1', [
      user.connectionId,
    ]);
    expect(rows[0].n).toBe(1); // the crashed attempt registered the same channel id

    await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        summary: 'Told by push',
        start: { dateTime: '2026-12-21T09:00:00Z' },
        end: { dateTime: '2026-12-21T09:30:00Z' },
      },
    });
    const created = await eventually(
      async () =>
        h.pipedrive.control
          .listActivities()
          .find((a) => a.owner_id === user.pipedriveUserId && a.subject === 'Told by push'),
      15_000,
      'the event to reach Pipedrive through its push notification',
    );
    expect(created.due_time).toBe('09:00:00');
    expect(h.logLines.filter((l) => l.includes('bad-token'))).toEqual([]);
  });
});
