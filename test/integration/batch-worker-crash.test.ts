/**
 * A worker process killed (SIGKILL) while it syncs a batch of waiting Pipedrive changes: the next worker runs the
 * batch again (its heartbeat stops, so Temporal retries it), and the retry writes only what the first attempt did
 * not — every event exactly once, every change audited once. The worker is the production entry point in a child
 * process, as in worker-crash.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { SecretBox } from '../../lib/secret-box.js';
import { SyncClient } from '../../client/sync-client.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/index.js';
import { startPipedriveEmulator, type PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import { DEFAULT_SETTINGS } from '../../sync-rules/settings.js';
import { connectStack, eventually, type Stack } from '../../testing/stack.js';
import { registerAccounts, settled } from '../../testing/sync-harness.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { workflowIdFor } from '../../workflows/names.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';
import { emulatorEnv } from '../../testing/emulator-env.js';

let stack: Stack;
let google: GoogleEmulator;
let pipedrive: PipedriveEmulator;
let sync: SyncClient;
let secrets: SecretBox;
let workerEnv: Record<string, string>;
let tmp: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await connectStack();
  google = await startGoogleEmulator({ seed: 3, allowInsecurePushAddresses: true });
  pipedrive = await startPipedriveEmulator({ seed: 3 });
  const key = randomBytes(32);
  secrets = new SecretBox([{ id: 'crash', key }]);
  sync = new SyncClient(stack.client, stack.taskQueue);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'batch-worker-crash-'));
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  await writeFile(bundlePath, inject('workflowBundleCode'));
  workerEnv = {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: stack.taskQueue,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    // The child must decrypt the credentials this process stored: the same key, shared through the environment.
    CALENDAR_SYNC_ENCRYPTION_KEYS: `crash:${key.toString('base64')}`,
    ...emulatorEnv(google, pipedrive),
  };
});

afterAll(async () => {
  for (const w of workers) await w.kill();
  await Promise.all([google?.close(), pipedrive?.close()]);
  await stack?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function startWorker(): Promise<WorkerProcess> {
  const w = await startWorkerProcess(workerEnv);
  workers.push(w);
  return w;
}

/** Connects a Pipedrive + Google user as the product does (encrypted credentials) and enables a two-way sync. */
async function connectUser(companyId: number) {
  const { connectionId, email, pd, g } = await registerAccounts({
    db: stack.db,
    secrets,
    google,
    pipedrive,
    companyId,
  });
  await sync.configure(connectionId, {
    ...DEFAULT_SETTINGS,
    enabled: true,
    mode: 'two-way',
    calendarId: g.primaryCalendarId,
  });
  await settled(sync, connectionId);
  return { connectionId, pipedriveUserId: pd.userId, email, calendarId: g.primaryCalendarId };
}

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
