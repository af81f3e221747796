/**
 * Settings changes, disconnects and work items never interleave: while a work item is in flight, two updates that
 * arrive wait for it and then run one after the other, each starting from the settings the previous one left.
 * Proven from the workflow's own history: the `applySettings` steps never overlap, and each one's `previous` is the
 * `next` of the one before.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import type { SyncSettings } from '../../sync-rules/settings.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

const ADMIN_TOKEN = 'exclusive-updates-admin-token-0123456789';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ feeds: true, adminToken: ADMIN_TOKEN });
});
afterAll(async () => {
  await h.close();
});

interface Step {
  name: string;
  args: unknown[];
  scheduledAt: number;
  closedAt: number;
}

interface SettingsStep extends Step {
  previous: SyncSettings | null;
  next: SyncSettings;
}

/** The activity steps of the user's workflow, in order, with their (decrypted) arguments and history positions. */
async function activitySteps(connectionId: string): Promise<Step[]> {
  const history = await h.stack.client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
  const events = history.events ?? [];
  const steps: Step[] = [];
  for (const e of events) {
    const attrs = e.activityTaskScheduledEventAttributes;
    if (!attrs) continue;
    const payloads = await h.stack.payloadCodec.decode(
      (attrs.input?.payloads ?? []) as temporal.api.common.v1.IPayload[],
    );
    const args = payloads.map((p) => defaultPayloadConverter.fromPayload(p));
    const id = Number(e.eventId);
    const closed = events.find((c) => {
      const a =
        c.activityTaskCompletedEventAttributes ??
        c.activityTaskFailedEventAttributes ??
        c.activityTaskTimedOutEventAttributes;
      return a !== null && a !== undefined && Number(a.scheduledEventId) === id;
    });
    steps.push({
      name: attrs.activityType?.name ?? '',
      args,
      scheduledAt: id,
      closedAt: Number(closed?.eventId ?? Infinity),
    });
  }
  return steps;
}

/** The `applySettings` steps, with the settings each started from and saved. */
async function settingsSteps(connectionId: string): Promise<SettingsStep[]> {
  return (await activitySteps(connectionId))
    .filter((s) => s.name === 'applySettings')
    .map((s) => ({ ...s, previous: s.args[1] as SyncSettings | null, next: s.args[2] as SyncSettings }));
}

/** No step starts before the previous one ended, and each sees what the previous one saved. */
function expectSerialised(steps: SettingsStep[]): void {
  for (let i = 1; i < steps.length; i++) {
    expect(steps[i]!.scheduledAt, `step ${i} started before step ${i - 1} ended`).toBeGreaterThan(
      steps[i - 1]!.closedAt,
    );
    expect(steps[i]!.previous, `step ${i} did not start from step ${i - 1}'s settings`).toEqual(steps[i - 1]!.next);
  }
}

/**
 * Puts a work item in flight as a regular activity. A step runs first as a local attempt, and while that attempt
 * runs the workflow task stays open: an update or a status query sent then is delivered only after the attempt
 * ended, so nothing would arrive while the item is still in flight. Pipedrive answering slower than the local
 * attempt's 5 s bound makes the step fall back to its regular activity; while that runs the workflow takes updates.
 * The item is in flight once its regular activity is scheduled and not closed (read from the history).
 */
async function itemInFlight(user: SyncUser): Promise<void> {
  const a = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject: 'Slow one',
    type: 'call',
    due_date: '2026-12-04',
    due_time: '09:00',
    duration: '00:30',
  }) as { id: number };
  await h.settled(user.connectionId);
  const stepsBefore = (await activitySteps(user.connectionId)).length;
  // The step's first call reads the activity. The emulator draws a call's latency when the call arrives: only the
  // local attempt's read is held past the bound, and the regular attempt's calls answer after 1.5 s, slow enough
  // for the item to still be in flight below.
  const calls = (): number => h.pipedrive.control.stats().apiCalls['GET /api/v2/activities/:id'] ?? 0;
  const callsBefore = calls();
  h.pipedrive.control.setFaults({ latencyMs: 6000 });
  const change: PipedriveChange = pipedriveWebhook({
    action: 'change',
    entityId: a.id,
    delivery: `slow-${a.id}`,
    changeSource: 'app',
  });
  await h.sync.pipedriveChanged(user.connectionId, change);
  await eventually(async () => (calls() > callsBefore ? true : undefined));
  h.pipedrive.control.setFaults({ latencyMs: 1500 });
  await eventually(async () => {
    const steps = (await activitySteps(user.connectionId)).slice(stepsBefore);
    return steps.some((s) => s.name === 'syncPipedriveActivity' && s.closedAt === Infinity) ? true : undefined;
  });
  expect((await h.sync.status(user.connectionId)).state).toBe('syncing');
}

describe('updates during an in-flight work item', () => {
  it('two Saves run one after the other, the second starting from the first one’s settings', async () => {
    const user = await h.connectUser();
    const before = (await h.sync.status(user.connectionId)).settings!;
    const stepsBefore = (await settingsSteps(user.connectionId)).length;
    try {
      await itemInFlight(user);
      const [a, b] = await Promise.all([
        h.sync.configure(user.connectionId, { ...before, titleTemplate: '{subject} (A)' }),
        h.sync.configure(user.connectionId, { ...before, titleTemplate: '{subject} (B)' }),
      ]);
      expect([a.titleTemplate, b.titleTemplate].sort()).toEqual(['{subject} (A)', '{subject} (B)']);
    } finally {
      h.pipedrive.control.setFaults({});
    }
    const steps = (await settingsSteps(user.connectionId)).slice(stepsBefore);
    expect(steps).toHaveLength(2);
    expect(steps[0]!.previous).toEqual(before);
    expectSerialised(steps);
  });

  it('a Save and a Disconnect serialise: the disconnect switches off the settings the Save left', async () => {
    const user = await h.connectUser();
    const before = (await h.sync.status(user.connectionId)).settings!;
    const stepsBefore = (await settingsSteps(user.connectionId)).length;
    try {
      await itemInFlight(user);
      const saved = h.sync.configure(user.connectionId, { ...before, titleTemplate: '{subject} [saved]' });
      // The Save is admitted first; the disconnect arrives while it (and the item) are still waiting.
      await new Promise((r) => setTimeout(r, 200));
      const [, status] = await Promise.all([saved, h.sync.disconnect(user.connectionId)]);
      expect(status.state).toBe('disconnected');
      expect(status.settings).toMatchObject({ enabled: false, titleTemplate: '{subject} [saved]' });
    } finally {
      h.pipedrive.control.setFaults({});
    }
    const steps = (await settingsSteps(user.connectionId)).slice(stepsBefore);
    expect(steps.map((s) => s.next.enabled)).toEqual([true, false]);
    expectSerialised(steps);
    // The disconnect's first step (stopping the Google channel) waited for the Save to end.
    const save = steps[0]!;
    const stop = (await activitySteps(user.connectionId)).filter((s) => s.name === 'stopWatch').at(-1)!;
    expect(stop.scheduledAt).toBeGreaterThan(save.closedAt);
    const { rows } = await h.stack.db.query('SELECT settings FROM connections WHERE id = $1', [user.connectionId]);
    expect(rows[0].settings).toMatchObject({ enabled: false, titleTemplate: '{subject} [saved]' });
  });

  it('a Save and an admin PATCH serialise in the workflow', async () => {
    const user = await h.connectUser();
    const before = (await h.sync.status(user.connectionId)).settings!;
    const stepsBefore = (await settingsSteps(user.connectionId)).length;
    try {
      await itemInFlight(user);
      const patch = fetch(`${h.http!.url}/api/admin/connections/${user.connectionId}/settings`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ safetyIntervalSeconds: 600 }),
      });
      const save = h.sync.configure(user.connectionId, { ...before, titleTemplate: '{subject} (saved)' });
      const [res] = await Promise.all([patch, save]);
      expect(res.status).toBe(200);
    } finally {
      h.pipedrive.control.setFaults({});
    }
    const steps = (await settingsSteps(user.connectionId)).slice(stepsBefore);
    expect(steps).toHaveLength(2);
    expectSerialised(steps);
  });
});
