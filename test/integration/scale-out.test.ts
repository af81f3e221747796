/**
 * Scale-out: two production worker processes (`worker/main.ts`, configured through the environment only) on one
 * task queue share the users' work, and killing one of them (SIGKILL, under load) loses and duplicates nothing.
 * Who did what is read from the workflow histories: every activity task's `identity` is the worker that ran it
 * (`<pid>@<host>`, the SDK's default).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { SecretBox } from '../../lib/secret-box.js';
import { SyncClient } from '../../client/sync-client.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/index.js';
import { startPipedriveEmulator, type PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import { DEFAULT_SETTINGS } from '../../sync-rules/settings.js';
import { workflowIdFor } from '../../workflows/names.js';
import { connectStack, type Stack } from '../../testing/stack.js';
import { registerAccounts, settled } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';
import { emulatorEnv } from '../../testing/emulator-env.js';
import { startWorkerProcess, type WorkerProcess } from '../../testing/worker-process.js';

const USERS = 6;

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
  google = await startGoogleEmulator({ seed: 5, allowInsecurePushAddresses: true });
  pipedrive = await startPipedriveEmulator({ seed: 5 });
  const key = randomBytes(32);
  secrets = new SecretBox([{ id: 'scale', key }]);
  sync = new SyncClient(stack.client, stack.taskQueue);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'scale-out-'));
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  await writeFile(bundlePath, inject('workflowBundleCode'));
  // Both workers get the same environment: the same task queue, database, keys and APIs — all a replica needs.
  workerEnv = {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: stack.taskQueue,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    CALENDAR_SYNC_ENCRYPTION_KEYS: `scale:${key.toString('base64')}`,
    ...emulatorEnv(google, pipedrive),
  };
});

afterAll(async () => {
  for (const w of workers) await w.kill();
  await Promise.all([google?.close(), pipedrive?.close()]);
  await stack?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function connectUser(companyId: number) {
  const { connectionId, email, pd, g } = await registerAccounts({
    db: stack.db,
    secrets,
    google,
    pipedrive,
    companyId,
  });
  await sync.configure(connectionId, { ...DEFAULT_SETTINGS, enabled: true, calendarId: g.primaryCalendarId });
  return {
    connectionId,
    pipedriveUserId: pd.userId,
    email,
    calendarId: g.primaryCalendarId,
    activities: [] as number[],
  };
}
type User = Awaited<ReturnType<typeof connectUser>>;

async function change(user: User, label: string): Promise<void> {
  const a = pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject: label,
    type: 'call',
    due_date: '2026-12-20',
    due_time: `${String(8 + (user.activities.length % 10)).padStart(2, '0')}:00`,
    duration: '00:30',
  }) as { id: number };
  user.activities.push(a.id);
  await sync.pipedriveChanged(
    user.connectionId,
    pipedriveWebhook({ action: 'create', entityId: a.id, delivery: `scale-${a.id}`, changeSource: 'app' }),
  );
}

/** Activity tasks started per worker pid, over every run of the users' workflows. */
async function activityTasksByWorker(users: User[]): Promise<Map<number, number>> {
  const byPid = new Map<number, number>();
  for (const u of users) {
    const id = workflowIdFor(u.connectionId);
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      const history = await stack.client.workflow.getHandle(id, run.runId).fetchHistory();
      for (const e of history.events ?? []) {
        const identity = e.activityTaskStartedEventAttributes?.identity;
        if (!identity) continue;
        const pid = Number(identity.split('@')[0]);
        byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
      }
    }
  }
  return byPid;
}

describe('two workers on one task queue', () => {
  it('share the users’ work, and killing one under load loses and duplicates nothing', async () => {
    const a = await startWorkerProcess(workerEnv);
    const b = await startWorkerProcess(workerEnv);
    workers.push(a, b);
    const { companyId } = pipedrive.control.createCompany({ name: 'Scale-out Co' });
    const users = await Promise.all(Array.from({ length: USERS }, () => connectUser(companyId)));
    await Promise.all(users.map((u) => settled(sync, u.connectionId, 60_000)));

    // Changes for every user, in parallel: both workers pick up work.
    await Promise.all(
      users.map(async (u) => {
        for (let i = 0; i < 4; i++) await change(u, `First ${i}`);
      }),
    );
    await Promise.all(users.map((u) => settled(sync, u.connectionId, 60_000)));
    const shared = await activityTasksByWorker(users);
    expect([...shared.keys()].sort()).toEqual([a.pid, b.pid].sort());
    expect(shared.get(a.pid)).toBeGreaterThan(0);
    expect(shared.get(b.pid)).toBeGreaterThan(0);

    // Under load (slower APIs, so queues are being worked on), one worker dies without a word.
    google.control.setFaults({ latencyMs: 40 });
    pipedrive.control.setFaults({ latencyMs: 40 });
    const sending = Promise.all(
      users.map(async (u) => {
        for (let i = 0; i < 8; i++) await change(u, `Second ${i}`);
      }),
    );
    const eventsNow = () => users.reduce((n, u) => n + google.control.listEvents(u.email, u.calendarId).length, 0);
    const before = eventsNow();
    await expect.poll(eventsNow, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(before + 6);
    await a.kill();
    await sending;
    const total = users.reduce((n, u) => n + u.activities.length, 0);
    expect(eventsNow(), 'the worker died with changes still to write').toBeLessThan(total);

    // The survivor finishes everything; an activity the dead worker had started is retried when its timeout
    // (a minute for a sync step) expires.
    google.control.setFaults({});
    pipedrive.control.setFaults({});
    for (const u of users) {
      const s = await settled(sync, u.connectionId, 120_000);
      expect(s.failures, JSON.stringify(s.lastError)).toBe(0);
    }

    for (const u of users) {
      // Every change written exactly once: one event per activity, nothing else, and the links agree.
      const events = google.control.listEvents(u.email, u.calendarId);
      const perActivity = new Map<string, number>();
      for (const e of events) {
        const id = e.extendedProperties?.private?.pdActivityId;
        if (id) perActivity.set(id, (perActivity.get(id) ?? 0) + 1);
      }
      expect(Object.fromEntries(perActivity)).toEqual(Object.fromEntries(u.activities.map((id) => [String(id), 1])));
      expect(events).toHaveLength(u.activities.length);
      const { rows } = await stack.db.query<{ activity_id: string; event_id: string }>(
        'SELECT activity_id, event_id FROM links WHERE connection_id = $1',
        [u.connectionId],
      );
      expect(rows.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
      expect(rows.map((r) => Number(r.activity_id)).sort((x, y) => x - y)).toEqual(
        [...u.activities].sort((x, y) => x - y),
      );
      // Our own writes came back as echoes at most: no activity was created or changed in Pipedrive by the sync.
      const mine = pipedrive.control.changes({ entity: 'activity', changeSource: 'api' });
      expect(mine.filter((c) => u.activities.includes(c.entityId))).toEqual([]);
    }
    // After the kill the survivor did the rest.
    const after = await activityTasksByWorker(users);
    expect(after.get(b.pid)!).toBeGreaterThan(shared.get(b.pid)!);
  }, 240_000);
});
