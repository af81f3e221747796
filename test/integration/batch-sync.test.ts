/**
 * Pipedrive activity changes that wait in a user's queue are synced together by one activity
 * (`syncPipedriveActivities`), and each of them ends as it would alone: written once, audited once, a failure
 * booked against that change only (retried on its own, recorded when permanent), a spent Pipedrive budget
 * holding the queue until it returns. A Google pull that waits behind changes we are about to write lets them go
 * first, so it also absorbs the push notifications of those writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { clearBudgetPauses } from '../../adapters/pipedrive/budget-pause.js';
import { activityRuns } from '../../testing/activity-runs.js';
import { recentAudit } from '../../adapters/store/audit-log.js';
import { linkByActivity } from '../../adapters/store/links.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { workflowIdFor } from '../../workflows/names.js';
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

let deliveries = 0;
function webhook(id: number, action: 'create' | 'change' = 'create'): PipedriveChange {
  return pipedriveWebhook({ action, entityId: id, delivery: `batch-${id}-${++deliveries}` });
}

function newActivities(user: SyncUser, n: number, label: string): number[] {
  return Array.from({ length: n }, (_, i) => {
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: `${label} ${i}`,
      type: 'meeting',
      due_date: '2030-05-06',
      due_time: `${String(8 + i).padStart(2, '0')}:00`,
      duration: '00:30',
    }) as { id: number };
    return a.id;
  });
}

const eventsOf = (user: SyncUser) => h.google.control.listEvents(user.email, user.calendarId);
const eventOf = (user: SyncUser, activityId: number) =>
  eventsOf(user).find((e) => readEventLinkProperties(e)?.activityId === activityId);
const calls = (key: string) => h.apiCalls.get(key) ?? 0;

/** The changes wait in the queue (the sync is paused) and are all there when it resumes. */
async function queueWhilePaused(user: SyncUser, ids: number[], action: 'create' | 'change' = 'create') {
  await h.sync.pause(user.connectionId);
  for (const id of ids) await h.sync.pipedriveChanged(user.connectionId, webhook(id, action));
  await eventually(async () => ((await h.sync.status(user.connectionId)).queued >= ids.length ? true : undefined));
  await h.sync.resume(user.connectionId);
}

/**
 * The activities the user's workflow ran since `since` (history event id), by type: regular activities and local
 * ones (markers) alike, so a step that ran locally still counts as the step it is.
 */
async function scheduled(user: SyncUser, since = 0) {
  const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
  const out = activityRuns(history.events ?? [], since);
  return { activities: out, last: Number(history.events?.at(-1)?.eventId ?? 0) };
}

/** Audit rows of `action` per subject. */
async function auditCounts(user: SyncUser, action: string): Promise<Record<string, number>> {
  const rows = await recentAudit(h.stack.db, user.connectionId, 500);
  const out: Record<string, number> = {};
  for (const r of rows) if (r.action === action && r.subject) out[r.subject] = (out[r.subject] ?? 0) + 1;
  return out;
}

const ofType = (list: { type: string }[], type: string) => list.filter((a) => a.type === type).length;

describe('waiting Pipedrive changes', () => {
  it('are synced by one activity, each event written and audited exactly once', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const before = await scheduled(user);
    const inserts = calls('google events.insert 200');
    const ids = newActivities(user, 6, 'Batched');
    await queueWhilePaused(user, ids);
    const status = await h.settled(user.connectionId);

    expect(status.failures).toBe(0);
    for (const id of ids) expect(eventOf(user, id)?.summary).toMatch(/^Batched \d$/);
    expect(calls('google events.insert 200') - inserts).toBe(ids.length);
    const { activities } = await scheduled(user, before.last);
    expect(ofType(activities, 'syncPipedriveActivities')).toBe(1);
    expect(ofType(activities, 'syncPipedriveActivity')).toBe(0);
    expect(await auditCounts(user, 'created')).toEqual(Object.fromEntries(ids.map((id) => [`activity:${id}`, 1])));
    expect(status.recent.filter((o) => o.result === 'created').map((o) => o.subject)).toEqual(
      ids.map((id) => `activity:${id}`),
    );
  });

  it('survive a crash between the Google write and the link of one of them: retried alone, written once', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const before = await scheduled(user);
    const inserts = calls('google events.insert 200');
    const ids = newActivities(user, 4, 'Crashed');
    // The first insert of the batch reaches Google, then the step dies before the link is saved.
    h.crashAt('after-google-insert', 1);
    await queueWhilePaused(user, ids);
    const status = await h.settled(user.connectionId);

    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);
    expect(status.unresolved).toEqual([]);
    // One event per activity, no duplicate of the one whose insert was repeated.
    const perActivity = new Map<number, number>();
    for (const e of eventsOf(user)) {
      const id = readEventLinkProperties(e)?.activityId;
      if (id !== undefined) perActivity.set(id, (perActivity.get(id) ?? 0) + 1);
    }
    expect(Object.fromEntries(perActivity)).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    expect(calls('google events.insert 200') - inserts).toBe(ids.length);
    for (const id of ids) expect(await linkByActivity(h.stack.db, user.connectionId, id)).not.toBeNull();
    expect(await auditCounts(user, 'created')).toEqual(Object.fromEntries(ids.map((id) => [`activity:${id}`, 1])));
    // The batch stopped at the crash; the crashed change ran on its own; the rest were batched again.
    const { activities } = await scheduled(user, before.last);
    expect(activities.map((a) => a.type).filter((t) => t.startsWith('syncPipedrive'))).toEqual([
      'syncPipedriveActivities',
      'syncPipedriveActivity',
      'syncPipedriveActivities',
    ]);
  });

  it('book a permanent failure against each change that failed, and clear it once a later batch syncs it', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const ids = newActivities(user, 3, 'Refused');
    // Google refuses every request for now (a 400 is permanent: no retry helps).
    h.google.control.setFaults({ errorRates: { 400: 1 } });
    try {
      await queueWhilePaused(user, ids);
      const failed = await h.settled(user.connectionId);
      expect(failed.failures).toBe(ids.length);
      expect(failed.unresolved.map((f) => f.subject).sort()).toEqual(ids.map((id) => `activity:${id}`).sort());
      expect(await auditCounts(user, 'sync-step-failed')).toEqual(
        Object.fromEntries(ids.map((id) => [`activity:${id}`, 1])),
      );
    } finally {
      h.google.control.setFaults({});
    }
    const before = await scheduled(user);
    await queueWhilePaused(user, ids, 'change');
    const status = await h.settled(user.connectionId);
    expect(status.unresolved).toEqual([]);
    for (const id of ids) expect(eventOf(user, id)).toBeDefined();
    expect(ofType((await scheduled(user, before.last)).activities, 'syncPipedriveActivities')).toBe(1);
  });

  it('wait for a spent Pipedrive budget together, refused once, and sync when it returns', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    clearBudgetPauses();
    const ids = newActivities(user, 3, 'Over budget');
    const refusedBefore = calls('pipedrive GET /api/v2/activities/:id 429');
    const PERIOD = 20_000;
    // Right after a budget period begins, so the refusal comes long before the reset.
    await eventually(async () => (Date.now() % PERIOD < 1000 ? true : undefined), PERIOD + 5000);
    h.pipedrive.control.setRateLimits({ dailyTokenBudget: 0, budgetPeriodMs: PERIOD });
    try {
      await queueWhilePaused(user, ids);
      const reset = Math.ceil(Date.now() / PERIOD) * PERIOD;
      const paused = await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.pipedriveBudgetPausedUntil && s.queued === ids.length ? s : undefined;
      }, 10_000);
      expect(Math.abs(Date.parse(paused.pipedriveBudgetPausedUntil!) - reset)).toBeLessThan(2000);
      expect(paused.queued).toBe(ids.length);
      expect(paused.failures).toBe(0);
      await new Promise((r) => setTimeout(r, Math.max(0, reset - Date.now() - 1000)));
      h.pipedrive.control.setRateLimits({ dailyTokenBudget: 1_000_000, budgetPeriodMs: PERIOD });
      for (const id of ids) await eventually(async () => eventOf(user, id), 30_000, `the event of ${id}`);
      const status = await h.settled(user.connectionId);
      expect(status.failures).toBe(0);
      expect(status.pipedriveBudgetPausedUntil).toBeNull();
      expect(calls('pipedrive GET /api/v2/activities/:id 429') - refusedBefore).toBe(1);
    } finally {
      h.pipedrive.control.setRateLimits({ dailyTokenBudget: 1_000_000, budgetPeriodMs: 86_400_000 });
    }
  }, 90_000);
});

describe('a Google pull waiting behind changes we write', () => {
  it('lets them go first, so it sees their echoes (and absorbs their notifications); the etags are remembered', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const ids = newActivities(user, 3, 'Echoed');
    await queueWhilePaused(user, ids);
    await h.settled(user.connectionId);
    for (const id of ids)
      h.pipedrive.control.updateActivity(id, { subject: `Echoed again ${id}` }, { userId: user.pipedriveUserId });

    // A pull waits (a notification), then changes arrive behind it. The sync has written to Google since its last
    // pull, so the waiting pull may be there for echoes only: the changes go first, then the one pull sees all.
    const before = await scheduled(user);
    const statusBefore = await h.sync.status(user.connectionId);
    await h.sync.pause(user.connectionId);
    await h.sync.googleChanged(user.connectionId);
    for (const id of ids) await h.sync.pipedriveChanged(user.connectionId, webhook(id, 'change'));
    await eventually(async () => ((await h.sync.status(user.connectionId)).queued === 4 ? true : undefined));
    await h.sync.resume(user.connectionId);
    const status = await h.settled(user.connectionId);
    expect(status.failures).toBe(0);

    const { activities } = await scheduled(user, before.last);
    expect(activities.map((a) => a.type)).toEqual(['syncPipedriveActivities', 'pullGoogle']);
    // The pull saw the writes just made as our own (no write back to Pipedrive) and kept each event's etag.
    expect(status.echoes - statusBefore.echoes).toBe(ids.length);
    for (const id of ids) {
      expect(eventOf(user, id)?.summary).toBe(`Echoed again ${id}`);
      const link = await linkByActivity(h.stack.db, user.connectionId, id);
      expect(link?.googleEtag).toBe(eventOf(user, id)?.etag);
    }
    // Our next update's If-Match matches: a plain update, no refused precondition, no conflict resolution.
    const refused = calls('google events.update 412');
    h.pipedrive.control.updateActivity(ids[0]!, { subject: 'After the echo' }, { userId: user.pipedriveUserId });
    await h.sync.pipedriveChanged(user.connectionId, webhook(ids[0]!, 'change'));
    await eventually(async () => (eventOf(user, ids[0]!)?.summary === 'After the echo' ? true : undefined));
    const after = await h.settled(user.connectionId);
    expect(after.recent.at(-1)).toMatchObject({ subject: `activity:${ids[0]}`, result: 'updated' });
    expect(calls('google events.update 412')).toBe(refused);
  });

  it('runs first when the sync wrote nothing to Google since the last pull (it may hold a user change)', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const ids = newActivities(user, 2, 'Not yet synced');
    // A pull runs, so nothing we wrote is unseen; then a notification and changes wait, the notification first.
    await h.sync.googleChanged(user.connectionId);
    await h.settled(user.connectionId);
    const before = await scheduled(user);
    await h.sync.pause(user.connectionId);
    await h.sync.googleChanged(user.connectionId);
    for (const id of ids) await h.sync.pipedriveChanged(user.connectionId, webhook(id));
    await eventually(async () => ((await h.sync.status(user.connectionId)).queued === 3 ? true : undefined));
    await h.sync.resume(user.connectionId);
    await h.settled(user.connectionId);
    const { activities } = await scheduled(user, before.last);
    expect(activities.map((a) => a.type)).toEqual(['pullGoogle', 'syncPipedriveActivities']);
  });
});
