/**
 * Continue-as-new on the real stack: with a low history threshold the per-user workflow hands over to a new run
 * again and again while changes keep arriving — also while it is paused with a queue — and nothing is lost,
 * nothing is processed twice, and its status (counters, settings, paused) carries over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workflowInput: { continueAsNewAfterEvents: 40 } });
});
afterAll(async () => {
  await h.close();
});

let delivery = 0;
function webhook(action: 'create' | 'change', id: number): PipedriveChange {
  return pipedriveWebhook({ action, entityId: id, delivery: `can-${++delivery}`, changeSource: 'app' });
}

function writes(): { inserts: number; updates: number; deletes: number } {
  const n = (what: string) => h.apiCalls.get(`google ${what} 200`) ?? 0;
  return { inserts: n('events.insert'), updates: n('events.update'), deletes: n('events.delete') };
}

async function runCount(workflowId: string): Promise<number> {
  return (await h.stack.client.workflow.count(`WorkflowId = '${workflowId}'`)).count;
}

describe('continue-as-new', () => {
  it('hands over to new runs while changes arrive, even while paused, processing each change exactly once and keeping the status', async () => {
    const settings = { incomingActivityType: 'meeting', safetyIntervalSeconds: 900, titleTemplate: '{subject}' };
    const user = await h.connectUser(settings);
    const workflowId = workflowIdFor(user.connectionId);
    const handle = h.stack.client.workflow.getHandle(workflowId);
    const firstRun = (await handle.describe()).runId;
    const processedAtStart = (await h.sync.status(user.connectionId)).processed; // the set-up's own items
    const pd = h.pipedrive.control;
    const newActivity = (i: number) =>
      (
        pd.createActivity({
          userId: user.pipedriveUserId,
          subject: `Call ${i}`,
          type: 'call',
          due_date: '2026-12-10',
          due_time: `${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
          duration: '00:30',
        }) as { id: number }
      ).id;
    const before = writes();

    // 1. A stream of new activities, signalled without waiting: the workflow continues as new several times
    //    with a non-empty queue.
    const streamed: number[] = [];
    for (let i = 0; i < 30; i++) {
      const id = newActivity(i);
      streamed.push(id);
      await h.sync.pipedriveChanged(user.connectionId, webhook('create', id));
    }
    const afterStream = await h.settled(user.connectionId, 60_000);
    expect(afterStream.failures).toBe(0);
    expect(afterStream.processed).toBe(processedAtStart + streamed.length); // one item per activity
    const runsAfterStream = await eventually(
      async () => {
        const n = await runCount(workflowId);
        return n > 2 ? n : undefined;
      },
      10_000,
      'several runs of the workflow',
    );
    expect((await handle.describe()).runId).not.toBe(firstRun);

    // 2. Paused: changes queue up (renames of streamed activities and new ones) and the workflow continues as new
    //    with the queue while paused.
    await h.sync.pause(user.connectionId);
    const pausedRun = (await handle.describe()).runId;
    const renamed = streamed.slice(0, 10);
    for (const id of renamed) {
      pd.updateActivity(id, { subject: `Renamed ${id}` }, { userId: user.pipedriveUserId });
      await h.sync.pipedriveChanged(user.connectionId, webhook('change', id));
      await h.sync.pipedriveChanged(user.connectionId, webhook('change', id)); // duplicate delivery
    }
    const lateArrivals: number[] = [];
    for (let i = 30; i < 40; i++) {
      const id = newActivity(i);
      lateArrivals.push(id);
      await h.sync.pipedriveChanged(user.connectionId, webhook('create', id));
    }
    await eventually(
      async () => ((await handle.describe()).runId !== pausedRun ? true : undefined),
      10_000,
      'a continue-as-new while paused',
    );
    const whilePaused = await h.sync.status(user.connectionId);
    // Each new run also queues one check of its change feeds (coalesced: one while paused).
    expect(whilePaused).toMatchObject({ state: 'paused', queued: renamed.length + lateArrivals.length + 1 });
    expect(whilePaused.processed).toBe(afterStream.processed);
    expect(whilePaused.settings).toMatchObject(settings);
    expect(writes().inserts - before.inserts).toBe(streamed.length);
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(streamed.length);

    // 3. Resumed: the carried queue is worked off exactly once.
    await h.sync.resume(user.connectionId);
    const done = await h.settled(user.connectionId, 60_000);
    expect(done).toMatchObject({ state: 'idle', failures: 0, queued: 0 });
    expect(done.processed).toBe(afterStream.processed + renamed.length + lateArrivals.length);
    expect(done.settings).toMatchObject({ ...settings, enabled: true, calendarId: user.calendarId });
    expect(writes()).toEqual({
      inserts: before.inserts + streamed.length + lateArrivals.length,
      updates: before.updates + renamed.length,
      deletes: before.deletes,
    });

    const events = h.google.control.listEvents(user.email, user.calendarId);
    const all = [...streamed, ...lateArrivals];
    expect(events.map((e) => e.id).sort()).toEqual(all.map((id) => eventIdFor(user.connectionId, id)).sort());
    const summaryOf = new Map(events.map((e) => [e.id, e.summary]));
    for (const id of all) {
      const expected = renamed.includes(id) ? `Renamed ${id}` : `Call ${all.indexOf(id)}`;
      expect(summaryOf.get(eventIdFor(user.connectionId, id))).toBe(expected);
    }
    // The pause/resume phase ran in later runs than the stream did.
    await eventually(
      async () => ((await runCount(workflowId)) > runsAfterStream ? true : undefined),
      10_000,
      'more runs after the paused phase',
    );
  });
});
