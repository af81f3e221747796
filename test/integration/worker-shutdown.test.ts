/**
 * SIGTERM on the production worker (`worker/main.ts` in a child process) with an activity in flight: the process
 * exits within its shutdown bound, and the change is synced exactly once — by the draining worker when the
 * activity finishes within `WORKER_SHUTDOWN_GRACE_SECONDS`, or by the next worker after Temporal times out the
 * abandoned attempt when it does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import type { SyncClient } from '../../client/sync-client.js';
import type { GoogleEmulator } from '../../emulators/google/index.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import { SHUTDOWN_FORCE_MARGIN_MS } from '../../lib/config.js';
import { eventually, type Stack } from '../../testing/stack.js';
import { settled } from '../../testing/sync-harness.js';
import {
  startWorkerProcessStack,
  type ConnectedUser,
  type WorkerProcess,
  type WorkerProcessStack,
} from '../../testing/worker-process.js';

let s: WorkerProcessStack;
let stack: Stack;
let google: GoogleEmulator;
let pipedrive: PipedriveEmulator;
let sync: SyncClient;

/** Time for the process to start stopping and to close its connections, on a busy machine. */
const EXIT_SLACK_MS = 8_000;

beforeAll(async () => {
  s = await startWorkerProcessStack({ name: 'shutdown', seed: 4 });
  ({ stack, google, pipedrive, sync } = s);
});

afterAll(async () => {
  await s?.close();
});

/** The worker processes started, latest last (the stack kills any still running). */
const workers: WorkerProcess[] = [];

async function startWorker(graceSeconds: number): Promise<WorkerProcess> {
  const w = await s.startWorker({
    // Port 0: each worker process picks a free port for its health listener; no SDK exporter needed here.
    WORKER_HTTP_PORT: '0',
    WORKER_HTTP_HOST: '127.0.0.1',
    WORKER_SDK_METRICS_ADDRESS: 'off',
    WORKER_SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
  });
  workers.push(w);
  return w;
}

async function connectUser(companyName: string): Promise<ConnectedUser> {
  const { companyId } = pipedrive.control.createCompany({ name: companyName });
  return s.connectUser(companyId);
}

/** An activity created in Pipedrive and its webhook's signal; resolves once its `events.insert` reached Google. */
async function changeInFlight(user: ConnectedUser, subject: string): Promise<number> {
  const inserts = () => google.control.stats().requests.byOperation['events.insert'] ?? 0;
  const insertsBefore = inserts();
  const activity = pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject,
    type: 'task',
    due_date: '2026-12-15',
    due_time: '10:00',
    duration: '00:30',
  }) as { id: number };
  const change: PipedriveChange = {
    meta: {
      action: 'create',
      entity: 'activity',
      entity_id: String(activity.id),
      id: `sd-${activity.id}`,
      change_source: 'app',
    },
    data: null,
    previous: null,
  };
  await sync.pipedriveChanged(user.connectionId, change);
  // The emulator counts a request when it arrives, then holds it for the injected latency: in flight.
  await eventually(
    async () => (inserts() > insertsBefore ? true : undefined),
    30_000,
    'the events.insert to be in flight',
  );
  return activity.id;
}

function eventsOf(user: ConnectedUser, activityId: number) {
  return google.control
    .listEvents(user.email, user.calendarId)
    .filter((e) => e.extendedProperties?.private?.pdActivityId === String(activityId));
}

async function linkCount(connectionId: string, activityId: number): Promise<number> {
  const { rows } = await stack.db.query<{ n: string }>(
    'SELECT count(*) AS n FROM links WHERE connection_id = $1 AND activity_id = $2',
    [connectionId, activityId],
  );
  return Number(rows[0]!.n);
}

describe('SIGTERM on the worker', () => {
  it('lets an in-flight activity finish within the grace time, then exits cleanly', async () => {
    const grace = 20;
    const worker = await startWorker(grace);
    const user = await connectUser('Drain Co');
    google.control.setFaults({ latencyMs: 3_000 });
    try {
      const activityId = await changeInFlight(user, 'Finished while draining');
      const signalled = Date.now();
      const exit = await worker.stop();
      const tookMs = Date.now() - signalled;

      // Finished by the stopping worker: the event and its link exist before any other worker ran.
      expect(eventsOf(user, activityId)).toHaveLength(1);
      expect(await linkCount(user.connectionId, activityId), worker.output()).toBe(1);
      expect(exit, worker.output()).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(grace * 1000 + EXIT_SLACK_MS);
    } finally {
      google.control.setFaults({});
    }
    // The next worker picks up the workflow; nothing is done twice.
    await startWorker(grace);
    const status = await settled(sync, user.connectionId, 60_000);
    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);
    const events = google.control
      .listEvents(user.email, user.calendarId)
      .filter((e) => e.extendedProperties?.private?.pdActivityId);
    expect(events).toHaveLength(1);
    await workers.at(-1)!.stop();
  }, 180_000);

  it('exits within its bound when an activity outlives the grace time, and the next worker completes it once', async () => {
    const grace = 2;
    const worker = await startWorker(grace);
    const user = await connectUser('Handback Co');
    // Longer than grace + force margin: the attempt is still waiting on Google when the process gives up on it.
    google.control.setFaults({ latencyMs: 25_000 });
    let activityId: number;
    try {
      activityId = await changeInFlight(user, 'Handed back');
      const signalled = Date.now();
      const exit = await worker.stop();
      const tookMs = Date.now() - signalled;

      expect(tookMs, worker.output()).toBeLessThan(grace * 1000 + SHUTDOWN_FORCE_MARGIN_MS + EXIT_SLACK_MS);
      // Not finished: the process says so (exit code 1) and no link was written.
      expect(exit, worker.output()).toEqual({ code: 1, signal: null });
      expect(await linkCount(user.connectionId, activityId)).toBe(0);
    } finally {
      google.control.setFaults({});
    }
    // The next worker runs the attempt Temporal retries once the abandoned one times out (1 minute).
    await startWorker(30);
    await eventually(
      async () => ((await linkCount(user.connectionId, activityId)) === 1 ? true : undefined),
      120_000,
      'the retried attempt to link the event',
    );
    const status = await settled(sync, user.connectionId, 60_000);
    expect(status.failures, JSON.stringify(status.lastError)).toBe(0);
    expect(eventsOf(user, activityId)).toHaveLength(1);
  }, 240_000);
});
