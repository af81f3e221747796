/**
 * The worker's `/metrics`, `/healthz` and `/readyz`, read from the production entry point (`worker/main.ts`) in a
 * child process: the Temporal SDK's own worker series and the sync's series, before and after changes synced in
 * both directions and a change only the safety net finds. The web service's `/metrics` is read from its
 * production entry point too.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncClient } from '../../client/sync-client.js';
import type { GoogleEmulator } from '../../emulators/google/index.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import { freePort } from '../../scripts/provision/free-port.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import type { PdActivity } from '../../sync-rules/types.js';
import { parsePrometheusText, sample, sumOf, type Samples } from '../support/prometheus-text.js';
import { eventually } from '../../testing/stack.js';
import { settled } from '../../testing/sync-harness.js';
import { startWebProcess, type WebProcess } from '../support/web-process.js';
import { startWorkerProcessStack, type WorkerProcess, type WorkerProcessStack } from '../../testing/worker-process.js';

let s: WorkerProcessStack;
let google: GoogleEmulator;
let pipedrive: PipedriveEmulator;
let sync: SyncClient;
let worker: WorkerProcess;
let workerUrl: string;
let web: WebProcess;
/** The web service's `/metrics` before and after the changes, read by the worker's test, checked by its own. */
const webScrapes: { status: number; text: string }[] = [];
const ADMIN_TOKEN = randomBytes(24).toString('base64url');

beforeAll(async () => {
  // A short safety-net interval, so a pass runs (and finds the change no webhook announced) within the test.
  s = await startWorkerProcessStack({
    name: 'metrics',
    seed: 16,
    syncOptions: { workflowInput: { safetyIntervalSeconds: 3 } },
  });
  ({ google, pipedrive, sync } = s);
  const httpPort = await freePort();
  // The web service receives the emulators' webhooks and push notifications and signals the workflows; its
  // /metrics is read with the admin token.
  const webPort = await freePort();
  const env = { ...s.env, CALENDAR_SYNC_ADMIN_TOKEN: ADMIN_TOKEN, PUBLIC_URL: `http://127.0.0.1:${webPort}` };
  web = await startWebProcess(env, webPort);
  worker = await s.startWorker({
    CALENDAR_SYNC_ADMIN_TOKEN: ADMIN_TOKEN,
    PUBLIC_URL: env.PUBLIC_URL,
    WORKER_HTTP_PORT: String(httpPort),
    WORKER_HTTP_HOST: '127.0.0.1',
    WORKER_SDK_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
  });
  workerUrl = `http://127.0.0.1:${httpPort}`;
}, 120_000);

afterAll(async () => {
  await web?.stop();
  await s?.close();
});

async function scrape(base: string): Promise<{ text: string; samples: Samples; contentType: string | null }> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status, `${base}/metrics`).toBe(200);
  const text = await res.text();
  return { text, samples: parsePrometheusText(text), contentType: res.headers.get('content-type') };
}

describe('the worker process', () => {
  it('answers /healthz, and /readyz once Postgres and Temporal answer and it polls', async () => {
    const health = await fetch(`${workerUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await eventually(async () => {
      const res = await fetch(`${workerUrl}/readyz`);
      return res.status === 200 ? res.text() : undefined;
    }, 30_000);
    expect(ready).toMatch(/worker: running\npostgres: ok\ntemporal: ok/);
    expect((await fetch(`${workerUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${workerUrl}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('logs JSON lines through pino, the Temporal runtime lines included', async () => {
    const lines = () =>
      worker
        .output()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { name?: string; sdkComponent?: string; msg?: string });
    await expect
      .poll(lines, { timeout: 15_000 })
      .toContainEqual(expect.objectContaining({ sdkComponent: 'worker', msg: 'Worker state changed' }));
    expect(lines().every((l) => l.name === 'worker')).toBe(true);
  });

  it('serves the SDK series and the sync series on one /metrics, and they move with synced changes', async () => {
    const before = await scrape(workerUrl);
    expect(before.contentType).toMatch(/^text\/plain/);
    webScrapes.push(await scrapeWeb());

    const { companyId } = pipedrive.control.createCompany({ name: 'Metrics Co' });
    const { connectionId, email, pipedriveUserId, calendarId } = await s.connectUser(companyId);
    const eventFor = (activityId: number) =>
      google.control
        .listEvents(email, calendarId)
        .find((e) => e.extendedProperties?.private?.pdActivityId === String(activityId));

    // Pipedrive → Google, announced by Pipedrive's webhook to the web service.
    const subject = 'Quarterly review with Initech';
    const announced = pipedrive.control.createActivity({
      userId: pipedriveUserId,
      subject,
      type: 'meeting',
      due_date: '2026-12-15',
      due_time: '09:00',
      duration: '00:30',
    }) as { id: number };
    // Google → Pipedrive, announced by Google's push notification to the web service.
    const event = google.control.upsertEvent(email, calendarId, {
      summary: 'Lunch with Globex',
      start: { dateTime: '2026-12-16T12:00:00Z' },
      end: { dateTime: '2026-12-16T13:00:00Z' },
    });
    await eventually(async () => eventFor(announced.id), 60_000, 'the announced activity in Google');
    await eventually(
      async () =>
        (pipedrive.control.listActivities() as unknown as PdActivity[]).find(
          (a) => a.owner_id === pipedriveUserId && a.subject === 'Lunch with Globex',
        ),
      60_000,
      'the Google event in Pipedrive',
    );
    // Pipedrive → Google with its webhook lost: only the safety net can find it.
    pipedrive.control.setFaults({ delivery: { dropRate: 1 } });
    const missed = pipedrive.control.createActivity({
      userId: pipedriveUserId,
      subject: 'Call nobody announced',
      type: 'call',
      due_date: '2026-12-17',
    }) as { id: number };
    await eventually(async () => eventFor(missed.id), 60_000, 'the safety net to sync the unannounced activity');
    await settled(sync, connectionId);

    const after = await scrape(workerUrl);
    webScrapes.push(await scrapeWeb());
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sumOf(after.samples, name, labels) - sumOf(before.samples, name, labels);

    // The Temporal SDK's own worker series, from the core's exporter, on the same endpoint.
    expect(after.text).toMatch(/^# TYPE temporal_\w+/m);
    expect(moved('temporal_activity_execution_latency_seconds_count')).toBeGreaterThan(0);
    expect(moved('temporal_workflow_task_execution_latency_seconds_count')).toBeGreaterThan(0);

    // The sync's series.
    expect(moved('calendar_sync_changes_total', { direction: 'pipedrive-to-google', result: 'created' })).toBe(2);
    expect(moved('calendar_sync_changes_total', { direction: 'google-to-pipedrive', result: 'created' })).toBe(1);
    for (const direction of ['pipedrive-to-google', 'google-to-pipedrive']) {
      const count = moved('calendar_sync_change_latency_seconds_count', { direction });
      expect(count, direction).toBeGreaterThanOrEqual(1);
      // From the source's modification time to the write: seconds here, never negative, never absurd.
      const sum = moved('calendar_sync_change_latency_seconds_sum', { direction });
      expect(sum / count, direction).toBeGreaterThanOrEqual(0);
      expect(sum / count, direction).toBeLessThan(60);
    }
    expect(
      moved('calendar_sync_api_requests_total', { service: 'google', operation: 'events.insert', status: '200' }),
    ).toBe(2);
    expect(moved('calendar_sync_api_requests_total', { service: 'google', operation: 'events.watch' })).toBe(1);
    expect(
      moved('calendar_sync_api_requests_total', { service: 'pipedrive', operation: 'POST /api/v2/activities' }),
    ).toBe(1);
    // Two changes synced one after the other: each by the single step, or by a batch when others waited with it.
    const executions = (activity: string) =>
      moved('calendar_sync_activity_executions_total', { activity, outcome: 'completed' });
    expect(executions('syncPipedriveActivity') + executions('syncPipedriveActivities')).toBeGreaterThanOrEqual(2);
    expect(moved('calendar_sync_safety_net_passes_total', { side: 'pipedrive' })).toBeGreaterThan(0);
    expect(moved('calendar_sync_safety_net_found_total', { side: 'pipedrive' })).toBeGreaterThanOrEqual(1);
    expect(sample(after.samples, 'calendar_sync_connections', { state: 'enabled' })).toBeGreaterThanOrEqual(1);
    expect(after.text).toMatch(/^# TYPE calendar_sync_rate_limit_wait_seconds histogram$/m);
    expect(after.text).toMatch(/^process_cpu_user_seconds_total /m);

    // Every series the Grafana dashboard queries is one this endpoint serves.
    const dashboard = await readFile(path.join(projectRoot, 'deploy', 'grafana', 'calendar-sync.json'), 'utf8');
    const queried = new Set(
      [...dashboard.matchAll(/\b((?:calendar_sync|temporal|process|nodejs)_[a-z0-9_]+)/g)].map((m) =>
        m[1]!.replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(after.text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));

    // No user data and no unbounded ids in any series.
    for (const secret of [subject, 'Lunch with Globex', email, connectionId, event.id]) {
      expect(after.text, secret).not.toContain(secret);
    }
  }, 180_000);
});

describe('the web service process', () => {
  it('serves /metrics with the deliveries it received from both services', () => {
    expect(webScrapes.map((s) => s.status)).toEqual([200, 200]);
    const [before, after] = webScrapes.map((s) => parsePrometheusText(s.text));
    for (const source of ['pipedrive', 'google']) {
      const moved =
        sumOf(after!, 'calendar_sync_deliveries_total', { source, result: 'accepted' }) -
        sumOf(before!, 'calendar_sync_deliveries_total', { source, result: 'accepted' });
      expect(moved, source).toBeGreaterThanOrEqual(1);
    }
  });
});

async function scrapeWeb(): Promise<{ status: number; text: string }> {
  const res = await fetch(`${web.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: res.status, text: await res.text() };
}
