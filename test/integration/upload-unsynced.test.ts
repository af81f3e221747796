/**
 * "Upload unsynced activities" on the real stack: the parent's `uploadUnsynced` update starts the child workflow,
 * which scans the user's Pipedrive activities and writes the missing events through the live sync's idempotent
 * path. The Google emulator's quota is raised (and a matching quota passed to the upload) so the file runs fast;
 * the pacing at the real quota is measured by `bench/backfill.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { uploadUnsynced } from '../../workflows/contract.js';
import { workflowIdFor } from '../../workflows/names.js';
import { uploadUnsynced as uploadUnsyncedWorkflow, uploadWorkflowIdFor } from '../../workflows/upload-unsynced.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ googleQuotaPerMinute: 1_000_000 });
});
afterAll(async () => {
  await h?.close();
});

/** The quota the tests give the upload: far above what they need, so only our own speed limits them. */
const FAST = 100_000;

function webhook(action: 'change' | 'delete', id: number): PipedriveChange {
  return pipedriveWebhook({ action, entityId: id, delivery: `${id}-${action}-${Math.random()}` });
}

/** Live events of the user's calendar, by the activity they were written for. */
function eventsByActivity(user: SyncUser): Map<number, { summary: string }[]> {
  const byActivity = new Map<number, { summary: string }[]>();
  for (const e of h.google.control.listEvents(user.email, user.calendarId)) {
    const activityId = readEventLinkProperties(e)?.activityId;
    if (activityId === undefined) continue;
    byActivity.set(activityId, [...(byActivity.get(activityId) ?? []), { summary: String(e.summary ?? '') }]);
  }
  return byActivity;
}

function expectOneEventEach(user: SyncUser, activityIds: number[]): void {
  const events = eventsByActivity(user);
  const counts = activityIds.map((id) => events.get(id)?.length ?? 0);
  expect(counts.filter((c) => c !== 1)).toEqual([]);
}

/** The upload's report has reached the user's workflow (it ended). */
async function uploadEnded(user: SyncUser, timeoutMs = 40_000) {
  return eventually(
    async () => {
      const s = await h.sync.status(user.connectionId);
      return s.upload && s.upload.state !== 'running' ? s.upload : undefined;
    },
    timeoutMs,
    'the upload to end',
  );
}

async function progressReaching(user: SyncUser, done: number) {
  return eventually(async () => {
    const p = await h.sync.uploadProgress(user.connectionId);
    return p && p.done >= done ? p : undefined;
  }, 30_000);
}

function pipedriveCalls(): number {
  return [...h.apiCalls].filter(([k]) => k.startsWith('pipedrive')).reduce((n, [, v]) => n + v, 0);
}

function pipedriveReads(): number {
  return [...h.apiCalls].filter(([k]) => k.startsWith('pipedrive GET')).reduce((n, [, v]) => n + v, 0);
}

describe('upload unsynced activities', () => {
  it('uploads 1,000 existing activities with exactly one event each, counting already-linked ones as skipped', async () => {
    const user = await h.connectUser();
    const ids = h.unsyncedActivities(user, 1000);
    // Three of them reached the calendar through the live sync already.
    for (const id of ids.slice(0, 3)) await h.sync.pipedriveChanged(user.connectionId, webhook('change', id));
    await h.settled(user.connectionId);
    const readsBefore = pipedriveReads();

    const workflowId = await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: FAST });
    expect(workflowId).toBe(`calendar-sync:${user.connectionId}:upload`);
    const ended = await uploadEnded(user, 50_000);

    expect(ended).toMatchObject({ state: 'completed', counts: { found: 1000, done: 997, skipped: 3, failed: 0 } });
    expect(await h.sync.uploadProgress(user.connectionId)).toMatchObject({
      state: 'completed',
      total: 1000,
      done: 997,
      skipped: 3,
      failed: 0,
      pending: 0,
      estimatedSecondsLeft: 0,
    });
    expectOneEventEach(user, ids);
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(1000);
    // Two list pages of 500, and no read of single activities: the pages answered everything.
    expect(pipedriveReads() - readsBefore).toBe(2);

    // The next Google pull sees the uploaded events as our own writes: echoes, nothing read or written back.
    const echoesBefore = (await h.sync.status(user.connectionId)).echoes;
    const pipedriveCallsBefore = pipedriveCalls();
    await h.sync.googleChanged(user.connectionId);
    const after = await h.settled(user.connectionId);
    expect(after.echoes - echoesBefore).toBeGreaterThanOrEqual(997);
    expect(pipedriveCalls() - pipedriveCallsBefore).toBe(0);
  });

  it('runs one upload when the button is pressed twice, and stops cleanly when cancelled', async () => {
    const user = await h.connectUser();
    const ids = h.unsyncedActivities(user, 300);
    const parent = h.sync.client.workflow.getHandle(workflowIdFor(user.connectionId));
    // A slow pace (1,200 requests/min: batches of 30) so the upload is still running when cancelled.
    const press = () => parent.executeUpdate(uploadUnsynced, { args: [{ quotaPerMinute: 1200 }] });
    const [a, b] = await Promise.all([press(), press()]);
    expect(a.workflowId).toBe(b.workflowId);
    expect(a.runId).toBe(b.runId);
    expect([a.started, b.started].sort()).toEqual([false, true]);

    await progressReaching(user, 30);
    const again = await press();
    expect(again).toEqual({ workflowId: a.workflowId, runId: a.runId, started: false });

    await h.sync.cancelUpload(user.connectionId);
    const ended = await uploadEnded(user);
    expect(ended.state).toBe('cancelled');
    expect(ended.runId).toBe(a.runId);
    const progress = (await h.sync.uploadProgress(user.connectionId))!;
    expect(progress.state).toBe('cancelled');
    expect(progress.done).toBeLessThan(300);
    // What was written has one event each; nothing else was written.
    const events = eventsByActivity(user);
    expect(events.size).toBe(progress.done);
    expect([...events.values()].every((e) => e.length === 1)).toBe(true);
    expect([...events.keys()].every((id) => ids.includes(id))).toBe(true);
  });

  it('stops a running upload when the user disconnects: no Google write happens after the disconnect returns', async () => {
    const user = await h.connectUser();
    h.unsyncedActivities(user, 600);
    // Slow Google answers make each batch (100 events, 10 at a time) take seconds, back to back at this quota.
    h.google.control.setFaults({ latencyMs: 200 });
    try {
      await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: FAST });
      await progressReaching(user, 100);
      await new Promise((r) => setTimeout(r, 300)); // well inside the next batch
      const status = await h.sync.disconnect(user.connectionId);
      const returnedAt = Date.now();
      expect(status.state).toBe('disconnected');
      // Time enough for a batch left running to write the rest of its events.
      await new Promise((r) => setTimeout(r, 4000));
      const events = h.google.control.listEvents(user.email, user.calendarId, { includeDeleted: true });
      expect(events.length).toBeGreaterThanOrEqual(100);
      const late = events.filter((e) => Date.parse(String(e.updated)) > returnedAt).map((e) => e.id);
      expect(late).toEqual([]);
      expect(events.length).toBeLessThan(600);
      const progress = await h.sync.uploadProgress(user.connectionId);
      expect(progress?.state).toBe('cancelled');
    } finally {
      h.google.control.setFaults({});
    }
  });

  it('resumes after a worker restart and crashes between the Google write and the link, with one event per activity', async () => {
    const user = await h.connectUser();
    const ids = h.unsyncedActivities(user, 400);
    // Five writes crash after Google created the event but before the link is saved: their retries meet 409.
    h.crashAt('after-google-insert', 5);
    const conflictsBefore = h.apiCalls.get('google events.insert 409') ?? 0;
    await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: 6000 });
    expect((await progressReaching(user, 50)).pending).toBeGreaterThan(0);
    await h.restartWorker();

    const ended = await uploadEnded(user);
    expect(ended).toMatchObject({ state: 'completed', counts: { found: 400, done: 400, failed: 0 } });
    expectOneEventEach(user, ids);
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(400);
    // The crashed writes were retried and adopted the events their first attempt created.
    expect((h.apiCalls.get('google events.insert 409') ?? 0) - conflictsBefore).toBeGreaterThanOrEqual(5);
  });

  it('continues as new during a long upload and carries on where it left off', async () => {
    const user = await h.connectUser();
    const ids = h.unsyncedActivities(user, 600);
    // Started directly with a tiny continue-as-new threshold: a new run after every two batches of 100.
    const handle = await h.sync.client.workflow.start(uploadUnsyncedWorkflow, {
      workflowId: uploadWorkflowIdFor(user.connectionId),
      taskQueue: h.stack.taskQueue,
      args: [{ connectionId: user.connectionId, options: { quotaPerMinute: FAST }, batchesBeforeContinue: 2 }],
    });
    const ended = await uploadEnded(user);
    expect(ended).toMatchObject({ state: 'completed', counts: { found: 600, done: 600, failed: 0 } });
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expectOneEventEach(user, ids);
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(600);
  });

  it('keeps live edits made while the upload runs: every event ends with the activity’s latest state', async () => {
    const user = await h.connectUser();
    const ids = h.unsyncedActivities(user, 300);
    await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: 3000 });
    await progressReaching(user, 75);

    // Edits to activities the upload wrote already and to ones it has not reached yet, and one deletion.
    const edited = [...ids.slice(0, 5), ...ids.slice(280, 285)];
    for (const id of edited) {
      h.pipedrive.control.updateActivity(id, { subject: `Edited ${id}` });
      await h.sync.pipedriveChanged(user.connectionId, webhook('change', id));
    }
    const deleted = ids[299]!;
    h.pipedrive.control.deleteActivity(deleted);
    await h.sync.pipedriveChanged(user.connectionId, webhook('delete', deleted));

    expect((await uploadEnded(user)).state).toBe('completed');
    await h.settled(user.connectionId);
    const events = eventsByActivity(user);
    const kept = ids.filter((id) => id !== deleted);
    expectOneEventEach(user, kept);
    expect(events.has(deleted)).toBe(false);
    for (const id of kept) {
      const subject = (h.pipedrive.control.getActivity(id) as { subject: string }).subject;
      expect(events.get(id)![0]!.summary).toBe(subject);
    }
    expect(edited.every((id) => events.get(id)![0]!.summary === `Edited ${id}`)).toBe(true);
  });

  it('uploads only activities due within from..to, and done ones only when asked', async () => {
    const user = await h.connectUser();
    const [january, february, februaryDone, march, undated] = h.unsyncedActivities(
      user,
      5,
      (i) =>
        [
          { due_date: '2026-01-10' },
          { due_date: '2026-02-10' },
          { due_date: '2026-02-11', done: true },
          { due_date: '2026-03-10' },
          { due_date: null, due_time: null, duration: null },
        ][i]!,
    ) as [number, number, number, number, number];
    const february_ = { from: '2026-02-01', to: '2026-02-28', quotaPerMinute: FAST };

    await h.sync.uploadUnsynced(user.connectionId, february_);
    expect((await uploadEnded(user)).counts).toMatchObject({ found: 1, done: 1 });
    expect([...eventsByActivity(user).keys()]).toEqual([february]);

    await h.sync.uploadUnsynced(user.connectionId, { ...february_, includeDone: true });
    expect((await uploadEnded(user)).counts).toMatchObject({ found: 2, done: 1, skipped: 1 });
    expect([...eventsByActivity(user).keys()].sort()).toEqual([february, februaryDone].sort());

    await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: FAST });
    // Open activities only (done is excluded by default); the undated one cannot be an event.
    expect((await uploadEnded(user)).counts).toMatchObject({ found: 4, done: 2, skipped: 1, excluded: 1 });
    expect([...eventsByActivity(user).keys()].sort()).toEqual([january, february, februaryDone, march].sort());
    expect(eventsByActivity(user).has(undated)).toBe(false);
  });

  it('rejects bad options with the reasons and starts nothing', async () => {
    const user = await h.connectUser();
    const rejection = (options: Record<string, unknown>) =>
      h.sync.uploadUnsynced(user.connectionId, options).then(
        () => 'accepted',
        (err: Error) => String((err.cause as Error | undefined)?.message ?? err.message),
      );
    expect(await rejection({ from: '2026-13-01' })).toMatch(/from must be a date YYYY-MM-DD/);
    expect(await rejection({ from: '2026-03-01', to: '2026-02-01' })).toMatch(/from must not be after to/);
    expect(await rejection({ includeDone: 'yes', colour: 'red' })).toMatch(
      /unknown option "colour".*includeDone must be a boolean/,
    );
    expect((await h.sync.status(user.connectionId)).upload).toBeNull();
    expect(await h.sync.uploadProgress(user.connectionId)).toBeNull();
  });
});

describe('upload unsynced activities across the user workflow continuing as new', () => {
  let small: Harness;
  beforeAll(async () => {
    // The user's workflow continues-as-new after 80 history events: a few changes during the upload are enough.
    small = await startHarness({
      googleQuotaPerMinute: 1_000_000,
      seed: 7,
      workflowInput: { continueAsNewAfterEvents: 80 },
    });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('keeps running when the user workflow continues as new, and reports to its new run', async () => {
    const user = await small.connectUser();
    const ids = Array.from({ length: 300 }, (_, i) => {
      const a = small.pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: `Existing ${i}`,
        type: 'call',
        due_date: '2026-06-01',
      }) as { id: number };
      return a.id;
    });
    const parent = small.sync.client.workflow.getHandle(workflowIdFor(user.connectionId));
    // 1,500 requests/min: 300 activities take about 12 s, long enough to press again after the hand-over.
    const press = () => parent.executeUpdate(uploadUnsynced, { args: [{ quotaPerMinute: 1500 }] });
    const started = await press();
    const runAtPress = (await parent.describe()).runId;
    // Live changes while the upload runs grow the user's history past the threshold.
    for (const id of ids.slice(0, 12)) await small.sync.pipedriveChanged(user.connectionId, webhook('change', id));
    await eventually(async () => ((await parent.describe()).runId !== runAtPress ? true : undefined));

    // The new run knows the running upload: pressing again joins it.
    expect((await small.sync.status(user.connectionId)).upload?.state).toBe('running');
    expect(await press()).toEqual({ ...started, started: false });

    const ended = await eventually(
      async () => {
        const s = await small.sync.status(user.connectionId);
        return s.upload?.state === 'completed' ? s.upload : undefined;
      },
      40_000,
      'the upload report in the user workflow',
    );
    expect(ended).toMatchObject({ runId: started.runId, counts: { found: 300, failed: 0 } });
    expect(ended.counts!.done + ended.counts!.skipped).toBe(300);
    const events = small.google.control.listEvents(user.email, user.calendarId);
    expect(events).toHaveLength(300);
  });
});
