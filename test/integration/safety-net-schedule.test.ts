/**
 * The adaptive safety net on the real stack (workflows/safety-net.ts): real webhooks and push notifications to
 * our HTTP server, the schedule read through the workflow's `safetyNet` query. Seconds stand in for minutes:
 * base 2 s, bound 8 s (production: the user's 5 minutes and 30 minutes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCredentials } from '../../adapters/store/connections.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { workflowIdFor } from '../../workflows/names.js';
import { safetyNetQuery, type SafetyNetView } from '../../workflows/safety-net.js';
import { eventually } from '../../testing/stack.js';
import { meetingInPipedrive } from '../../testing/pipedrive-to-google-steps.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const BASE = 2;
const BOUND = 8;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    feeds: true,
    workflowInput: { safetyIntervalSeconds: BASE, safetyNetBoundSeconds: BOUND },
  });
});
afterAll(async () => {
  await h?.close();
});

const view = async (user: SyncUser): Promise<SafetyNetView> => {
  const v = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).query(safetyNetQuery);
  if (!v) throw new Error('the workflow does not run the adaptive safety net');
  return v;
};

const activity = (user: SyncUser, subject: string) => meetingInPipedrive(h, user, subject);

const summaryOf = (user: SyncUser, activityId: number) =>
  h.google.control
    .listEvents(user.email, user.calendarId)
    .find((e) => e.id === eventIdFor(user.connectionId, activityId) && e.status !== 'cancelled')?.summary;

/** Samples the schedule until `until` holds (or the time is up), returning every interval seen. */
async function watchIntervals(user: SyncUser, until: (v: SafetyNetView) => boolean, timeoutMs: number) {
  const seen: SafetyNetView[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await view(user);
    const s = await h.sync.status(user.connectionId);
    // The next pass is never further away than the bound.
    if (s.nextSafetyNetAt) expect(Date.parse(s.nextSafetyNetAt) - Date.now()).toBeLessThanOrEqual(BOUND * 1000);
    seen.push(v);
    if (until(v) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('adaptive safety net', () => {
  it('catches a change the webhook never delivered within the bound, then returns to the base interval', async () => {
    const user = await h.connectUser();
    const id = activity(user, 'Delivered');
    await eventually(async () => (summaryOf(user, id) === 'Delivered' ? true : undefined));
    // A fresh schedule starts at the bound.
    expect((await view(user)).intervalSeconds).toBe(BOUND);

    // Pipedrive's `update_time` has whole seconds: a change within the second of the previous webhook of the same
    // activity is indistinguishable from the delivered one. Users do not edit that fast; the test waits as long.
    await new Promise((r) => setTimeout(r, 1500));
    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 120_000);
    try {
      const lost = h.pipedrive.control.stats().webhooks.lostToBan;
      const changedAt = Date.now();
      h.pipedrive.control.updateActivity(id, { subject: 'Nobody delivered this' });
      expect(h.pipedrive.control.stats().webhooks.lostToBan).toBeGreaterThan(lost);
      // The bound, plus the time of the pass and of the sync it queues on this loaded machine.
      await eventually(
        async () => (summaryOf(user, id) === 'Nobody delivered this' ? true : undefined),
        (BOUND + 10) * 1000,
        'the missed change to be caught',
      );
      const waited = Date.now() - changedAt;
      expect(waited).toBeLessThanOrEqual((BOUND + 10) * 1000);
      // The pass found what no webhook delivered: the feeds lose changes, so passes come at the base again.
      await expect.poll(async () => (await view(user)).intervalSeconds).toBe(BASE);
      expect((await view(user)).lastPassUnhealthy).toBe(true);
    } finally {
      h.pipedrive.control.unbanWebhooks();
    }
  });

  it('backs off while the feeds deliver, doubling up to the bound and never past it', async () => {
    const user = await h.connectUser();
    // First a miss (webhooks banned) puts the schedule at the base…
    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 120_000);
    const missed = activity(user, 'Missed');
    await eventually(async () => (summaryOf(user, missed) === 'Missed' ? true : undefined), (BOUND + 10) * 1000);
    await expect.poll(async () => (await view(user)).intervalSeconds).toBe(BASE);
    h.pipedrive.control.unbanWebhooks();

    // …then, with the webhooks delivering changes (and passes finding nothing they had not delivered), it
    // doubles pass by pass. A change is made only well before the next pass, so its webhook is in before the
    // reconciliation looks (one made just before would be found in flight, which counts as missed).
    const seen: SafetyNetView[] = [];
    const deadline = Date.now() + 90_000;
    for (let n = 0; Date.now() < deadline; n++) {
      const v = await view(user);
      seen.push(v);
      if (v.intervalSeconds === BOUND) break;
      const next = Date.parse((await h.sync.status(user.connectionId)).nextSafetyNetAt!);
      expect(next - Date.now()).toBeLessThanOrEqual(BOUND * 1000);
      if (next - Date.now() > 1500 && !v.passInProgress) {
        const delivered = h.pipedrive.control.stats().webhooks.delivered;
        activity(user, `Delivered ${n}`);
        await eventually(async () => (h.pipedrive.control.stats().webhooks.delivered > delivered ? true : undefined));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const intervals = [...new Set(seen.map((v) => v.intervalSeconds))];
    expect(intervals).toEqual([2, 4, 8]);
    expect(Math.max(...seen.map((v) => v.intervalSeconds))).toBeLessThanOrEqual(BOUND);
    // Stays at the bound while nothing is missed.
    const later = await watchIntervals(user, () => false, 2 * BOUND * 1000);
    expect(later.every((v) => v.intervalSeconds === BOUND)).toBe(true);
    expect(later.at(-1)!.passes).toBeGreaterThan(later[0]!.passes);
  });

  it('returns to the base interval after a pass that failed', async () => {
    const user = await h.connectUser();
    expect((await view(user)).intervalSeconds).toBe(BOUND);
    // Pipedrive refuses the stored token (as after a revoked API token): the reconciliation fails for good.
    await saveCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'pipedrive', {
      kind: 'api-token',
      token: 'revoked',
    });
    try {
      await expect.poll(async () => (await view(user)).intervalSeconds, { timeout: (BOUND + 15) * 1000 }).toBe(BASE);
      expect((await h.sync.status(user.connectionId)).unresolved.map((f) => f.subject)).toContain(
        'pipedrive-reconciliation',
      );
    } finally {
      await saveCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'pipedrive', {
        kind: 'api-token',
        token: user.apiToken,
      });
    }
    // Working again: the passes find nothing missed and the interval grows.
    await expect.poll(async () => (await view(user)).intervalSeconds, { timeout: 30_000 }).toBeGreaterThan(BASE);
  });
});
