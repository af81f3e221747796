/**
 * Regenerates the workflow histories that the replay tests replay (`test/histories/*.json`). Run it after a
 * deliberate, versioned change to a workflow: `npm run capture-histories`, or only some scenarios by name
 * (`npm run capture-histories -- calendar-switch-relocation`) to add a new one while the histories recorded by
 * older code keep guarding compatibility. Each scenario drives a real workflow through the real stack (dev
 * server, Postgres, both emulators) and stores its history as the SDK's `historyToJSON` writes it.
 */
import { startStandaloneHarness } from '../testing/standalone-harness.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decodePayloadsInJson } from '../lib/payload-codec.js';
import type { PipedriveChange } from '../adapters/pipedrive/change.js';
import { type Harness, type SyncUser } from '../testing/sync-harness.js';
import { workflowIdFor } from '../workflows/names.js';
import { projectRoot } from './provision/paths.js';
import { pipedriveWebhook } from '../testing/pipedrive-webhook.js';

const historiesDir = path.join(projectRoot, 'test', 'histories');

function webhook(action: 'create' | 'change' | 'delete', entity: string, id: number): PipedriveChange {
  return pipedriveWebhook({ action, entity, entityId: id, delivery: `${entity}-${id}-${action}-${Date.now()}` });
}

/** The user creates an activity (10:00, 30 minutes) in Pipedrive; its webhook is delivered. */
async function createActivity(
  h: Harness,
  user: SyncUser,
  fields: { subject: string; type: string; due_date: string },
): Promise<{ id: number }> {
  const a = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    due_time: '10:00',
    duration: '00:30',
    ...fields,
  }) as { id: number };
  await h.sync.pipedriveChanged(user.connectionId, webhook('create', 'activity', a.id));
  return a;
}

interface Scenario {
  name: string;
  /** Drives one user's workflow; returns its connection id once the history holds what the scenario wants. */
  run(h: Harness): Promise<string>;
}

const scenarios: Scenario[] = [
  {
    name: 'pipedrive-to-google-lifecycle',
    async run(h) {
      const user = await h.connectUser();
      const pd = h.pipedrive.control;
      const a = await createActivity(h, user, { subject: 'Call', type: 'call', due_date: '2026-12-01' });
      await h.settled(user.connectionId);
      pd.updateActivity(a.id, { subject: 'Call (moved)', due_time: '11:00' });
      await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'activity', a.id));
      await h.sync.googleChanged(user.connectionId, { resourceState: 'exists' });
      await h.settled(user.connectionId);
      await h.sync.pause(user.connectionId);
      pd.deleteActivity(a.id);
      await h.sync.pipedriveChanged(user.connectionId, webhook('delete', 'activity', a.id));
      await h.sync.resume(user.connectionId);
      await h.settled(user.connectionId);
      return user.connectionId;
    },
  },
  {
    name: 'google-to-pipedrive-two-way',
    async run(h) {
      const user = await h.connectUser({ mode: 'two-way' });
      const created = await user.calendar.events.insert({
        calendarId: user.calendarId,
        requestBody: {
          summary: 'Lunch with Ann',
          start: { dateTime: '2026-12-02T12:00:00Z' },
          end: { dateTime: '2026-12-02T13:00:00Z' },
        },
      });
      await h.sync.googleChanged(user.connectionId, { resourceState: 'exists' });
      await h.settled(user.connectionId);
      await user.calendar.events.patch({
        calendarId: user.calendarId,
        eventId: created.data.id!,
        requestBody: { location: 'Cafe' },
      });
      await h.sync.googleChanged(user.connectionId, { resourceState: 'exists' });
      await h.settled(user.connectionId);
      return user.connectionId;
    },
  },
  {
    name: 'calendar-switch-relocation',
    async run(h) {
      const user = await h.connectUser();
      for (const subject of ['Demo', 'Review']) {
        await createActivity(h, user, { subject, type: 'meeting', due_date: '2026-12-03' });
      }
      await h.settled(user.connectionId);
      const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });
      const { settings } = await h.sync.status(user.connectionId);
      await h.sync.configure(user.connectionId, { ...settings, calendarId: dedicated.id });
      await h.settled(user.connectionId);
      return user.connectionId;
    },
  },
  {
    name: 'resave-concurrent-saves-disconnect-during-upload',
    async run(h) {
      const user = await h.connectUser();
      await createActivity(h, user, { subject: 'Call', type: 'call', due_date: '2026-12-04' });
      const { settings } = await h.sync.status(user.connectionId);
      // Two Saves at once (the mutex serialises them), then the same settings again (feeds re-established).
      await Promise.all([
        h.sync.configure(user.connectionId, { ...settings, titleTemplate: '{subject} (A)' }),
        h.sync.configure(user.connectionId, { ...settings, titleTemplate: '{subject} (B)' }),
      ]);
      await h.sync.configure(user.connectionId, (await h.sync.status(user.connectionId)).settings!);
      await h.settled(user.connectionId);
      // An upload running when the user disconnects: the disconnect cancels it and waits for it to stop.
      h.unsyncedActivities(user, 200);
      await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: 1200 });
      await new Promise((r) => setTimeout(r, 1500));
      await h.sync.disconnect(user.connectionId);
      return user.connectionId;
    },
  },
  {
    // Local-first steps (workflows/local-first.ts): a sync and a pull each as one local activity, then each with a
    // local attempt that fails after its write and the regular activity that finishes it.
    name: 'local-first-steps',
    async run(h) {
      const user = await h.connectUser({ mode: 'two-way' });
      await createActivity(h, user, { subject: 'Local sync', type: 'meeting', due_date: '2026-12-07' });
      await h.settled(user.connectionId);
      h.crashAt('after-google-insert', 1);
      await createActivity(h, user, { subject: 'Local attempt fails', type: 'meeting', due_date: '2026-12-08' });
      await h.settled(user.connectionId);
      const event = (start: string, summary: string) => ({
        calendarId: user.calendarId,
        requestBody: { summary, start: { dateTime: start }, end: { dateTime: start.replace('T09', 'T10') } },
      });
      await user.calendar.events.insert(event('2026-12-09T09:00:00Z', 'Pulled locally'));
      await h.sync.googleChanged(user.connectionId, { resourceState: 'exists' });
      await h.settled(user.connectionId);
      h.crashAt('after-pipedrive-create', 1);
      await user.calendar.events.insert(event('2026-12-10T09:00:00Z', 'Pull attempt fails'));
      await h.sync.googleChanged(user.connectionId, { resourceState: 'exists' });
      await h.settled(user.connectionId);
      return user.connectionId;
    },
  },
];

async function main(): Promise<void> {
  await mkdir(historiesDir, { recursive: true });
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  }
  const { h, stop } = await startStandaloneHarness('capture');
  try {
    for (const scenario of scenarios.filter((s) => only.length === 0 || only.includes(s.name))) {
      const connectionId = await scenario.run(h);
      const history = await h.stack.client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
      const file = path.join(historiesDir, `${scenario.name}.json`);
      // Payloads are encrypted with this run's random test key: store them decrypted, so the replay test reads them.
      const readable = await decodePayloadsInJson(JSON.parse(historyToJSON(history)) as unknown, h.stack.payloadCodec);
      await writeFile(file, JSON.stringify(readable, null, 2));
      console.log(`wrote ${path.relative(projectRoot, file)} (${history.events?.length ?? 0} events)`);
    }
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
