/**
 * The per-user workflow's message API and bookkeeping, on the real stack.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { workflowIdFor } from '../../workflows/names.js';
import {
  CONNECTION_ID,
  PIPEDRIVE_COMPANY_ID,
  PIPEDRIVE_USER_ID,
  SYNC_MODE,
  SYNC_STATE,
} from '../../workflows/search-attributes.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function activityWebhook(id: number, delivery: string): PipedriveChange {
  return pipedriveWebhook({ entityId: id, delivery, changeSource: 'app' });
}

function newActivity(userId: number, subject: string): number {
  const a = h.pipedrive.control.createActivity({
    userId,
    subject,
    type: 'task',
    due_date: '2026-12-03',
    due_time: '08:00',
    duration: '00:15',
  });
  return (a as { id: number }).id;
}

describe('the calendarSync workflow', () => {
  it('is one workflow per connection, found in the UI by its search attributes', async () => {
    const user = await h.connectUser();
    const id = newActivity(user.pipedriveUserId, 'A');
    await h.sync.pipedriveChanged(user.connectionId, activityWebhook(id, 'd1'));
    await h.sync.pipedriveChanged(user.connectionId, activityWebhook(id, 'd2'));
    await h.settled(user.connectionId);

    const runs = await h.stack.client.workflow.count(`WorkflowId = '${workflowIdFor(user.connectionId)}'`);
    expect(runs.count).toBe(1);
    const found = await eventually(async () => {
      const n = await h.stack.client.workflow.count(
        `CalendarSyncConnectionId = '${user.connectionId}' AND CalendarSyncState = 'idle'`,
      );
      return n.count === 1 ? n : undefined;
    });
    expect(found.count).toBe(1);
    const d = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).describe();
    expect(d.typedSearchAttributes.get(CONNECTION_ID)).toBe(user.connectionId);
    expect(d.typedSearchAttributes.get(SYNC_STATE)).toBe('idle');
    expect(d.typedSearchAttributes.get(SYNC_MODE)).toBe('two-way');
    expect(d.typedSearchAttributes.get(PIPEDRIVE_USER_ID)).toBe(user.pipedriveUserId);
    expect(d.typedSearchAttributes.get(PIPEDRIVE_COMPANY_ID)).toBe(h.companyId);
    // Other test files' emulators hand out the same user ids: look only at this file's task queue.
    const byUser = await h.stack.client.workflow.count(
      `TaskQueue = '${h.stack.taskQueue}' AND PipedriveUserId = ${user.pipedriveUserId} AND CalendarSyncMode = 'two-way'`,
    );
    expect(byUser.count).toBe(1);
  });

  it('reports its settings, counters and recent outcomes through the status query', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google' });
    const id = newActivity(user.pipedriveUserId, 'Status check');
    await h.sync.pipedriveChanged(user.connectionId, activityWebhook(id, 's1'));
    const status = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.recent.some((o) => o.subject === `activity:${id}`) ? s : undefined;
    });
    expect(status.settings).toMatchObject({ enabled: true, mode: 'pipedrive-to-google', calendarId: user.calendarId });
    expect(status.recent.at(-1)).toEqual({
      direction: 'pipedrive-to-google',
      subject: `activity:${id}`,
      result: 'created',
      reason: 'activity-created',
    });
    expect(status.failures).toBe(0);
    expect(status.processed).toBeGreaterThanOrEqual(2); // the baseline pull and the activity
  });

  it('rejects invalid settings with the reasons and keeps the current ones', async () => {
    const user = await h.connectUser();
    const before = (await h.sync.status(user.connectionId)).settings;
    const err = await h.sync
      .configure(user.connectionId, { ...before, mode: 'sideways', titleTemplate: '{deal}' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((err as WorkflowUpdateFailedError).cause?.message)).toMatch(/mode/);
    expect(String((err as WorkflowUpdateFailedError).cause?.message)).toMatch(/subject/);
    expect((await h.sync.status(user.connectionId)).settings).toEqual(before);
    const { rows } = await h.stack.db.query('SELECT settings FROM connections WHERE id = $1', [user.connectionId]);
    expect(rows[0].settings).toEqual(before);
  });

  it('queues changes while paused, coalescing duplicates, and syncs them on resume', async () => {
    const user = await h.connectUser();
    const paused = await h.sync.pause(user.connectionId);
    expect(paused.state).toBe('paused');
    const id = newActivity(user.pipedriveUserId, 'Later');
    for (const d of ['p1', 'p2', 'p3']) await h.sync.pipedriveChanged(user.connectionId, activityWebhook(id, d));
    await h.sync.googleChanged(user.connectionId);
    await h.sync.googleChanged(user.connectionId);
    const queued = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.queued === 2 ? s : undefined;
    });
    expect(queued.state).toBe('paused');
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(0);

    const resumed = await h.sync.resume(user.connectionId);
    expect(resumed.state).not.toBe('paused');
    await h.settled(user.connectionId);
    expect(h.google.control.listEvents(user.email, user.calendarId).map((e) => e.summary)).toEqual(['Later']);
  });
});
