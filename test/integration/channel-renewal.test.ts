/**
 * Google channel renewal against the emulator with a short TTL: channels are replaced before they expire,
 * new one first, so notifications never stop, every old channel is stopped, and the timer survives a worker
 * restart. (The real 7-day cadence is in channel-renewal-cadence.test.ts, on a time-skipping server.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const TTL_SECONDS = 4;
const MARGIN_SECONDS = 2;
/** A notification becomes a Pipedrive activity within this (the safety net would take five minutes). */
const DELIVERY_MS = 5_000;
/**
 * Right after a worker restart one workflow task can be in transit to the stopping worker's poll; the SDK drops
 * it on shutdown and the server hands it out again after the workflow task timeout (10 s by default). The
 * notification itself is still received and signalled at once; only its processing waits for that redelivery.
 */
const AFTER_RESTART_DELIVERY_MS = DELIVERY_MS + 10_000;

let h: Harness;
beforeAll(async () => {
  // The safety net is left at its 5-minute default: every change below must arrive through a notification.
  h = await startHarness({ feeds: true, channelTtlSeconds: TTL_SECONDS, channelRenewMarginSeconds: MARGIN_SECONDS });
});
afterAll(async () => {
  await h.close();
});

function channelsOf(user: SyncUser) {
  return h.google.control.listChannels().filter((c) => c.ownerEmail === user.email);
}

async function googleEditReachesPipedrive(user: SyncUser, subject: string, timeoutMs: number): Promise<void> {
  await user.calendar.events.insert({
    calendarId: user.calendarId,
    requestBody: {
      summary: subject,
      start: { dateTime: '2026-12-20T09:00:00Z' },
      end: { dateTime: '2026-12-20T09:30:00Z' },
    },
  });
  await eventually(
    async () =>
      h.pipedrive.control.listActivities().find((a) => a.owner_id === user.pipedriveUserId && a.subject === subject),
    timeoutMs,
    `"${subject}" to reach Pipedrive by notification`,
  );
}

describe('Google channel renewal', () => {
  it('renews at least three times in a row with no gap in notifications and every old channel stopped, across a worker restart', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    const first = await eventually(async () => channelsOf(user).find((c) => !c.stopped));

    for (let renewal = 1; renewal <= 3; renewal++) {
      const before = channelsOf(user).length;
      await eventually(
        async () => (channelsOf(user).length > before ? true : undefined),
        TTL_SECONDS * 3000,
        `renewal ${renewal}`,
      );
      const restart = renewal === 2;
      if (restart) await h.restartWorker();
      await googleEditReachesPipedrive(
        user,
        `After renewal ${renewal}`,
        restart ? AFTER_RESTART_DELIVERY_MS : DELIVERY_MS,
      );
    }

    const all = channelsOf(user);
    const active = all.filter((c) => !c.stopped && c.expiration > Date.now());
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(active).toHaveLength(1);
    expect(all.filter((c) => c.id !== active[0]!.id).every((c) => c.stopped)).toBe(true);
    expect(all.map((c) => c.id)).toContain(first.id);
    const { rows } = await h.stack.db.query(`SELECT state FROM watch_channels WHERE connection_id = $1`, [
      user.connectionId,
    ]);
    expect(rows.filter((r) => r.state === 'active')).toHaveLength(1);
  });
});
