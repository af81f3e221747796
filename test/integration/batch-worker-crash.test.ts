/**
 * A worker process killed (SIGKILL) while it syncs a batch of waiting Pipedrive changes: the next worker runs the
 * batch again (its heartbeat stops, so Temporal retries it), and the retry writes only what the first attempt did
 * not — every event exactly once, every change audited once. The worker is the production entry point in a child
 * process, as in worker-crash.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import type { SyncClient } from '../../client/sync-client.js';
import type { GoogleEmulator } from '../../emulators/google/index.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import { workflowIdFor } from '../../workflows/names.js';
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
  s = await startWorkerProcessStack({ name: 'batch-crash', seed: 5 });
  ({ stack, google, pipedrive, sync } = s);
});

afterAll(async () => {
  await s?.close();
});

const startWorker = () => s.startWorker();
const connectUser = (companyId: number) => s.connectUser(companyId);

function webhook(id: number): PipedriveChange {
  return pipedriveWebhook({ action: 'create', entityId: id, delivery: `batch-crash-${id}`, changeSource: 'app' });
}

describe('a worker killed in the middle of a batch', () => {
  it('has the whole batch retried by the next worker: every event written once, every change audited once', async () => {
    const first = await startWorker();
    const { companyId } = pipedrive.control.createCompany({ name: 'Batch Crash Co' });
    const user = await connectUser(companyId);
    const ids = Array.from({ length: 8 }, (_, i) => {
      const a = pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: `Batched ${i}`,
        type: 'task',
        due_date: '2026-12-15',
        due_time: `${String(8 + i).padStart(2, '0')}:00`,
        duration: '00:30',
      }) as { id: number };
      return a.id;
    });
    // Slow Google down so the batch is half-way when the worker dies; all eight wait in the queue when it starts.
    google.control.setFaults({ latencyMs: 400 });
    await sync.pause(user.connectionId);
    for (const id of ids) await sync.pipedriveChanged(user.connectionId, webhook(id));
    await sync.resume(user.connectionId);

    const written = () =>
      google.control.listEvents(user.email, user.calendarId).filter((e) => e.extendedProperties?.private?.pdActivityId)
        .length;
    await eventually(async () => (written() >= 2 ? true : undefined), 60_000, 'the batch to be under way');
    await first.kill();
    const atKill = written();
    expect(atKill, 'the worker died with the batch unfinished').toBeLessThan(ids.length);
    google.control.setFaults({});

    await startWorker();
    const status = await settled(sync, user.connectionId, 120_000);
    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);

    // One event per activity: the events the first attempt wrote were found unchanged, not written again.
    const perActivity = new Map<string, number>();
    for (const e of google.control.listEvents(user.email, user.calendarId)) {
      const id = e.extendedProperties?.private?.pdActivityId;
      if (id) perActivity.set(id, (perActivity.get(id) ?? 0) + 1);
    }
    expect(Object.fromEntries(perActivity)).toEqual(Object.fromEntries(ids.map((id) => [String(id), 1])));
    const { rows: links } = await stack.db.query<{ activity_id: string }>(
      'SELECT activity_id FROM links WHERE connection_id = $1',
      [user.connectionId],
    );
    expect(links.map((r) => Number(r.activity_id)).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    // One audit row per change, whichever attempt wrote it.
    const { rows: audit } = await stack.db.query<{ subject: string; n: string }>(
      "SELECT subject, count(*) AS n FROM audit_log WHERE connection_id = $1 AND action = 'created' GROUP BY subject",
      [user.connectionId],
    );
    expect(Object.fromEntries(audit.map((r) => [r.subject, Number(r.n)]))).toEqual(
      Object.fromEntries(ids.map((id) => [`activity:${id}`, 1])),
    );
    // It was the same batch, retried as a whole (a second attempt), not the changes one by one.
    const history = await stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
    const batches = new Set(
      (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncPipedriveActivities')
        .map((e) => String(e.eventId)),
    );
    const attempts = (history.events ?? [])
      .filter((e) => batches.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '')))
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts).toEqual([2]);
  }, 240_000);
});
