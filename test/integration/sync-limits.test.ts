/**
 * Limits and lost authorizations on the real stack: a spent Pipedrive daily budget pauses the connection's
 * Pipedrive calls until it returns (one refused request, not one every retry); Google's `dailyLimitExceeded` is
 * waited out rather than given up on; a revoked Google authorization (`invalid_grant`) shows as "needs reconnect".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { recentAudit } from '../../adapters/store/audit-log.js';
import { clearBudgetPauses } from '../../adapters/pipedrive/budget-pause.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.deps.googleDailyLimitRetryMs = 1500;
});
afterAll(async () => {
  await h.close();
});

let deliveries = 0;
function webhook(id: number): PipedriveChange {
  return pipedriveWebhook({ action: 'create', entityId: id, delivery: `lim-${id}-${++deliveries}` });
}

function newActivity(user: SyncUser, subject: string): number {
  const a = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject,
    type: 'meeting',
    due_date: '2030-03-04',
    due_time: '10:00',
    duration: '00:30',
  }) as { id: number };
  return a.id;
}

const eventOf = (user: SyncUser, activityId: number) =>
  h.google.control
    .listEvents(user.email, user.calendarId)
    .find((e) => readEventLinkProperties(e)?.activityId === activityId);

const calls = (key: string) => h.apiCalls.get(key) ?? 0;

describe('Pipedrive daily budget', () => {
  it('pauses Pipedrive calls once the budget is spent, records it, and carries on when the budget returns', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    clearBudgetPauses();
    const id = newActivity(user, 'After the budget');
    const refusedBefore = calls('pipedrive GET /api/v2/activities/:id 429');
    // A 20-second budget "day", spent from the start: requests are refused until the period ends. Start right
    // after a period boundary, so the refusal comes long before the reset.
    const PERIOD = 20_000;
    await eventually(async () => (Date.now() % PERIOD < 1000 ? true : undefined), PERIOD + 5000);
    h.pipedrive.control.setRateLimits({ dailyTokenBudget: 0, budgetPeriodMs: PERIOD });
    try {
      await h.sync.pipedriveChanged(user.connectionId, webhook(id));
      await eventually(
        async () => (calls('pipedrive GET /api/v2/activities/:id 429') > refusedBefore ? true : undefined),
        10_000,
      );
      const reset = Math.ceil(Date.now() / PERIOD) * PERIOD;
      // The status says so while it lasts (the activity is not hidden in a retry): paused until the reset.
      const paused = await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.pipedriveBudgetPausedUntil ? s : undefined;
      }, 10_000);
      expect(Math.abs(Date.parse(paused.pipedriveBudgetPausedUntil!) - reset)).toBeLessThan(2000);
      expect(paused.queued).toBeGreaterThan(0);
      expect(paused.failures).toBe(0);
      // The budget returns with the next period (raised just before it, so the retry at the reset gets through).
      await new Promise((r) => setTimeout(r, Math.max(0, reset - Date.now() - 1000)));
      h.pipedrive.control.setRateLimits({ dailyTokenBudget: 1_000_000, budgetPeriodMs: PERIOD });
      await eventually(async () => eventOf(user, id), 30_000, 'the event after the budget returned');
      const status = await h.settled(user.connectionId);
      expect(status.failures).toBe(0);
      expect(status.pipedriveBudgetPausedUntil).toBeNull();
      // Refused once in ~19 s: the retry waited for the reset instead of asking again every burst window.
      expect(calls('pipedrive GET /api/v2/activities/:id 429') - refusedBefore).toBe(1);
      const audit = await recentAudit(h.stack.db, user.connectionId, 20);
      expect(audit.find((a) => a.action === 'pipedrive-budget-spent')).toMatchObject({
        direction: 'system',
        outcome: 'skipped',
        detail: { resumeAt: expect.any(String) },
      });
    } finally {
      h.pipedrive.control.setRateLimits({ dailyTokenBudget: 1_000_000, budgetPeriodMs: 86_400_000 });
    }
  });
});

describe('Google daily limit', () => {
  it('waits out 403 dailyLimitExceeded instead of failing for good', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const id = newActivity(user, 'Over the daily limit');
    const before = calls('google events.insert 403');
    h.google.control.setDailyLimitExceeded(true);
    try {
      await h.sync.pipedriveChanged(user.connectionId, webhook(id));
      await eventually(async () => (calls('google events.insert 403') > before ? true : undefined), 20_000);
    } finally {
      h.google.control.setDailyLimitExceeded(false);
    }
    await eventually(async () => eventOf(user, id), 30_000, 'the event once the quota is back');
    const status = await h.settled(user.connectionId);
    expect(status.failures).toBe(0);
    expect(status.lastError).toBeNull();
  });
});

describe('a revoked Google authorization', () => {
  it('marks the connection as needing a reconnect of Google', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    h.google.control.revokeRefreshToken(user.email);
    await h.sync.pipedriveChanged(user.connectionId, webhook(newActivity(user, 'No access')));
    const status = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.needsReconnect ? s : undefined;
    }, 30_000);
    expect(status.needsReconnect).toBe('google');
    expect(status.lastError?.message).toMatch(/invalid_grant.*needs reconnecting/);
    // Not retried in a loop: one refused token request per attempt, and the step was given up at once.
    expect(status.failures).toBe(1);
  });
});
