/**
 * The single Pipedrive activity sync and the Google pull run first as a local activity (workflows/local-first.ts):
 * on the real stack, a change is synced by one local-activity marker and no activity task; when the local attempt
 * fails after its side effect, the regular activity finishes the same change, and it is written exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkByActivity, linkByEvent } from '../../adapters/store/links.js';
import { recentAudit } from '../../adapters/store/audit-log.js';
import { activityExecutions } from '../../lib/metrics.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { activityRuns, type ActivityRun } from '../../testing/activity-runs.js';
import { day, googleToPipedriveSteps, timed } from '../../testing/google-to-pipedrive-steps.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { workflowIdFor } from '../../workflows/names.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const { activitiesOf, insertEvent, pull } = googleToPipedriveSteps(() => h);
const calls = (key: string) => h.apiCalls.get(key) ?? 0;
/** Pipedrive activity creates carried out. */
const creates = () =>
  [...h.apiCalls].filter(([k]) => /^pipedrive POST \/api\/v2\/activities 20\d$/.test(k)).reduce((n, [, c]) => n + c, 0);

let deliveries = 0;
function newActivity(user: SyncUser, subject: string): number {
  const a = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject,
    type: 'meeting',
    due_date: '2030-05-07',
    due_time: '09:00',
    duration: '00:30',
  }) as { id: number };
  return a.id;
}

/** The webhook of a new activity, and the sync settled after it. */
async function pushCreated(user: SyncUser, id: number) {
  await h.sync.pipedriveChanged(
    user.connectionId,
    pipedriveWebhook({ action: 'create', entityId: id, delivery: `local-first-${id}-${++deliveries}` }),
  );
  await eventually(async () => (await linkByActivity(h.stack.db, user.connectionId, id)) ?? undefined, 30_000);
  return h.settled(user.connectionId);
}

/** The workflow's history: its last event id, and the activity runs (regular and local) after `since`. */
async function runsSince(user: SyncUser, since = 0) {
  const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
  const events = history.events ?? [];
  return { runs: activityRuns(events, since), events, last: Number(events.at(-1)?.eventId ?? 0) };
}

const shape = (runs: ActivityRun[], type: string) =>
  runs.filter((r) => r.type === type).map((r) => ({ local: r.local, ok: r.ok, attempts: r.attempts }));

/** The worker's `calendar_sync_activity_executions_total` by outcome for one activity type (local runs too). */
async function executions(activity: string): Promise<{ completed: number; failed: number }> {
  const { values } = await activityExecutions.get();
  const of = (outcome: string) =>
    values.find((v) => v.labels.activity === activity && v.labels.outcome === outcome)?.value ?? 0;
  return { completed: of('completed'), failed: of('failed') };
}

const delta = (after: { completed: number; failed: number }, before: { completed: number; failed: number }) => ({
  completed: after.completed - before.completed,
  failed: after.failed - before.failed,
});

async function auditRows(user: SyncUser, subject: string, action: string) {
  return (await recentAudit(h.stack.db, user.connectionId, 500)).filter(
    (r) => r.subject === subject && r.action === action,
  );
}

describe('a Pipedrive activity change', () => {
  it('is synced by one local activity: one marker, no activity task scheduled', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const before = await runsSince(user);
    const inserts = calls('google events.insert 200');
    const counted = await executions('syncPipedriveActivity');
    const id = newActivity(user, 'Local sync');
    const status = await pushCreated(user, id);

    expect(status.failures).toBe(0);
    const { runs, events } = await runsSince(user, before.last);
    expect(shape(runs, 'syncPipedriveActivity')).toEqual([{ local: true, ok: true, attempts: [1] }]);
    const scheduledAfter = events.filter(
      (e) => Number(e.eventId) > before.last && e.activityTaskScheduledEventAttributes,
    );
    expect(scheduledAfter.map((e) => e.activityTaskScheduledEventAttributes!.activityType?.name)).not.toContain(
      'syncPipedriveActivity',
    );
    expect(calls('google events.insert 200') - inserts).toBe(1);
    expect(await auditRows(user, `activity:${id}`, 'created')).toHaveLength(1);
    // The worker's metrics count the local execution like a regular one.
    expect(delta(await executions('syncPipedriveActivity'), counted)).toEqual({ completed: 1, failed: 0 });
  });

  it('is finished by the regular activity when the local attempt fails after its Google write: written once', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const before = await runsSince(user);
    const inserts = calls('google events.insert 200');
    const counted = await executions('syncPipedriveActivity');
    const id = newActivity(user, 'Local attempt crashed');
    // The local attempt's insert reaches Google, then the step dies before the link is saved.
    h.crashAt('after-google-insert', 1);
    const status = await pushCreated(user, id);

    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);
    expect(status.unresolved).toEqual([]);
    const { runs } = await runsSince(user, before.last);
    // One failed local attempt, then one regular activity that succeeded at its first attempt.
    expect(shape(runs, 'syncPipedriveActivity')).toEqual([
      { local: true, ok: false, attempts: [1] },
      { local: false, ok: true, attempts: [1] },
    ]);
    // The regular activity adopted the event the local attempt wrote: one insert, one event, one audit row.
    expect(calls('google events.insert 200') - inserts).toBe(1);
    const events = h.google.control
      .listEvents(user.email, user.calendarId)
      .filter((e) => readEventLinkProperties(e)?.activityId === id);
    expect(events).toHaveLength(1);
    expect(events[0]!.summary).toBe('Local attempt crashed');
    expect(await auditRows(user, `activity:${id}`, 'created')).toHaveLength(1);
    // The failed local attempt and the regular run are one execution each in the worker's metrics.
    expect(delta(await executions('syncPipedriveActivity'), counted)).toEqual({ completed: 1, failed: 1 });
  });
});

describe('a Google pull', () => {
  it('runs as one local activity: one marker, no activity task scheduled', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const before = await runsSince(user);
    await insertEvent(user, { summary: 'Pulled locally', ...timed(day(4), '10:00', '10:30') });
    await pull(user);

    expect(activitiesOf(user).map((a) => a.subject)).toEqual(['Pulled locally']);
    const { runs, events } = await runsSince(user, before.last);
    expect(shape(runs, 'pullGoogle')).toEqual([{ local: true, ok: true, attempts: [1] }]);
    expect(
      events.filter(
        (e) =>
          Number(e.eventId) > before.last &&
          e.activityTaskScheduledEventAttributes?.activityType?.name === 'pullGoogle',
      ),
    ).toEqual([]);
  });

  it('is finished by the regular activity when the local attempt fails after its Pipedrive write: created once', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    const before = await runsSince(user);
    const createsBefore = creates();
    const event = await insertEvent(user, { summary: 'Pull crashed', ...timed(day(4), '11:00', '11:30') });
    // The local pull creates the activity in Pipedrive, then dies before the link is saved.
    h.crashAt('after-pipedrive-create', 1);
    await pull(user);

    const status = await h.settled(user.connectionId);
    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);
    const { runs } = await runsSince(user, before.last);
    expect(shape(runs, 'pullGoogle')).toEqual([
      { local: true, ok: false, attempts: [1] },
      { local: false, ok: true, attempts: [1] },
    ]);
    // One activity in Pipedrive, linked to the event, whichever attempt created it.
    expect(activitiesOf(user).map((a) => a.subject)).toEqual(['Pull crashed']);
    const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, event.id!);
    expect(link?.activityId).toBe(activitiesOf(user)[0]!.id);
    expect(creates() - createsBefore).toBe(1);
  });
});
