/**
 * A worker process killed (SIGKILL) in the middle of a user's queue and replaced by a new process: every change
 * is still synced, exactly once. The worker is the production entry point (`worker/main.ts`) in a child process,
 * configured through the environment; this file builds the rest of the stack itself so that no in-process
 * worker competes on the task queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import type { SyncClient } from '../../client/sync-client.js';
import type { GoogleEmulator } from '../../emulators/google/index.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import type { PdActivity } from '../../sync-rules/types.js';
import { eventually, type Stack } from '../../testing/stack.js';
import { settled } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';
import { startWorkerProcessStack, type WorkerProcessStack } from '../../testing/worker-process.js';

let s: WorkerProcessStack;
let stack: Stack;
let google: GoogleEmulator;
let pipedrive: PipedriveEmulator;
let sync: SyncClient;

beforeAll(async () => {
  s = await startWorkerProcessStack({ name: 'crash', seed: 3 });
  ({ stack, google, pipedrive, sync } = s);
});

afterAll(async () => {
  await s?.close();
});

const startWorker = () => s.startWorker();
const connectUser = (companyId: number) => s.connectUser(companyId);

function webhook(id: number): PipedriveChange {
  return pipedriveWebhook({ action: 'create', entityId: id, delivery: `crash-${id}`, changeSource: 'app' });
}

describe('a worker killed mid-queue', () => {
  it('loses and duplicates nothing once a new worker process takes over', async () => {
    const first = await startWorker();
    const { companyId } = pipedrive.control.createCompany({ name: 'Crash Co' });
    const user = await connectUser(companyId);

    // Slow both APIs down so the queue is still being worked on when the worker dies.
    google.control.setFaults({ latencyMs: 50 });
    pipedrive.control.setFaults({ latencyMs: 50 });

    const fromPipedrive: number[] = [];
    const fromGoogle: string[] = [];
    const newActivity = (i: number) => {
      const a = pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: `Queued ${i}`,
        type: 'task',
        due_date: '2026-12-15',
        due_time: `${String(7 + (i % 12)).padStart(2, '0')}:00`,
        duration: '00:30',
      }) as { id: number };
      fromPipedrive.push(a.id);
      return a.id;
    };
    for (let i = 0; i < 25; i++) await sync.pipedriveChanged(user.connectionId, webhook(newActivity(i)));
    // Events created in Google in the middle of the queue: the pull that imports them may be cut short too.
    for (let i = 0; i < 10; i++) {
      const e = google.control.upsertEvent(user.email, user.calendarId, {
        summary: `From Google ${i}`,
        start: { dateTime: `2026-12-16T${String(8 + i).padStart(2, '0')}:00:00Z` },
        end: { dateTime: `2026-12-16T${String(8 + i).padStart(2, '0')}:45:00Z` },
      });
      fromGoogle.push(e.id);
    }
    await sync.googleChanged(user.connectionId);
    for (let i = 25; i < 50; i++) await sync.pipedriveChanged(user.connectionId, webhook(newActivity(i)));

    // Kill it while the pull that imports Google's events is under way (some imported, more queued behind it).
    const imported = () =>
      (pipedrive.control.listActivities() as unknown as PdActivity[]).filter(
        (a) => a.owner_id === user.pipedriveUserId && a.subject.startsWith('From Google'),
      ).length;
    await eventually(async () => (imported() >= 3 ? true : undefined), 30_000, 'the import to be under way');
    await first.kill();
    const eventsAtKill = google.control.listEvents(user.email, user.calendarId).length;
    expect(eventsAtKill, 'the worker died with work left in the queue').toBeLessThan(
      fromPipedrive.length + fromGoogle.length,
    );

    await startWorker();
    const status = await settled(sync, user.connectionId, 120_000);
    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);

    // Every Pipedrive activity has exactly one event, and there are no other events than these and Google's.
    const events = google.control.listEvents(user.email, user.calendarId);
    const eventsPerActivity = new Map<string, number>();
    for (const e of events) {
      const activityId = e.extendedProperties?.private?.pdActivityId;
      if (activityId) eventsPerActivity.set(activityId, (eventsPerActivity.get(activityId) ?? 0) + 1);
    }
    expect(Object.fromEntries(eventsPerActivity)).toEqual(Object.fromEntries(fromPipedrive.map((id) => [id, 1])));
    const notFromPipedrive = events.filter((e) => !e.extendedProperties?.private?.pdActivityId).map((e) => e.id);
    expect(notFromPipedrive.sort()).toEqual([...fromGoogle].sort());
    expect(events).toHaveLength(fromPipedrive.length + fromGoogle.length);

    // Every Google event has exactly one activity: one link each, and no activity beyond those.
    const activities = (pipedrive.control.listActivities() as unknown as PdActivity[]).filter(
      (a) => a.owner_id === user.pipedriveUserId,
    );
    expect(activities).toHaveLength(fromPipedrive.length + fromGoogle.length);
    const { rows } = await stack.db.query<{ activity_id: string; event_id: string }>(
      'SELECT activity_id, event_id FROM links WHERE connection_id = $1',
      [user.connectionId],
    );
    expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(rows.map((r) => Number(r.activity_id)).sort((a, b) => a - b)).toEqual(
      activities.map((a) => a.id).sort((a, b) => a - b),
    );
    const importedSubjects = activities.filter((a) => !fromPipedrive.includes(a.id)).map((a) => a.subject);
    expect(importedSubjects.sort()).toEqual(fromGoogle.map((_, i) => `From Google ${i}`).sort());
  }, 180_000);
});
