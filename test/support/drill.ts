/**
 * The stack of a resilience drill: the production worker and web service as child processes (configured
 * through the environment, as deployed), both emulators, and a Postgres and Temporal the drill names — so it
 * can stop one of them under traffic and check afterwards that nothing was lost or done twice.
 *
 * Traffic is of three kinds: Pipedrive webhooks (sent by the drill itself, with the connection's real
 * credentials, so it sees every answer; the emulator's own deliveries are banned so they don't blur the
 * count), Google push notifications (the emulator's own, for events the user creates in Google; it retries 5xx
 * like Google), and the syncs those start in the worker.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { inject } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { createPool } from '../../adapters/store/pool.js';
import { SecretBox } from '../../lib/secret-box.js';
import { SyncClient } from '../../client/sync-client.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/index.js';
import { startPipedriveEmulator, type PipedriveEmulator } from '../../emulators/pipedrive/index.js';
import { silentLogger } from '../../lib/logger.js';
import { EncryptionCodec, encryptingDataConverter } from '../../lib/payload-codec.js';
import { freePort } from '../../scripts/provision/free-port.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { DEFAULT_SETTINGS } from '../../sync-rules/settings.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually, testPayloadKeys } from '../../testing/stack.js';
import { registerAccounts, settled } from '../../testing/sync-harness.js';
import { startWebProcess, type WebProcess } from './web-process.js';
import { startWorkerProcess, type WorkerProcess } from '../../testing/worker-process.js';
import { emulatorEnv } from '../../testing/emulator-env.js';

export interface DrillUser {
  connectionId: string;
  pipedriveUserId: number;
  email: string;
  calendarId: string;
  basicAuth: string;
}

export interface SentDelivery {
  deliveryId: string;
  activityId: number;
  statuses: number[];
}

export interface Drill {
  db: pg.Pool;
  google: GoogleEmulator;
  pipedrive: PipedriveEmulator;
  sync: SyncClient;
  worker: WorkerProcess;
  web: WebProcess;
  user: DrillUser;
  /**
   * Creates an activity in Pipedrive and delivers its webhook to the web service, in `copies` concurrent copies
   * (a retry racing the original, as when Pipedrive times out); every answer lands in `statuses`.
   */
  newActivityWebhook(label: string, copies?: number): Promise<SentDelivery>;
  /** Delivers the same webhook again (what Pipedrive does after a non-2xx). */
  redeliver(d: SentDelivery): Promise<number>;
  /** The user creates an event in Google; the emulator pushes the change to the web service. */
  newGoogleEvent(label: string): string;
  /** Google events written by the sync for `activityId`. */
  eventsForActivity(activityId: number): number;
  /** Pipedrive activities whose subject is `summary`. */
  activitiesNamed(summary: string): number;
  /** The `pipedriveChanged` signals the user's workflow received (all runs). */
  pipedriveSignals(): Promise<number>;
  /** Whether both child processes are still running. */
  processesAlive(): { worker: boolean; web: boolean };
  close(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startDrill(opts: { databaseUrl: string; temporalAddress: string }): Promise<Drill> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'drill-'));
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  await writeFile(bundlePath, inject('workflowBundleCode'));
  const key = randomBytes(32);
  const secrets = new SecretBox([{ id: 'drill', key }]);
  const google = await startGoogleEmulator({
    seed: 7,
    pushRetryDelaysMs: [500, 1000, 2000, 4000, 8000, 16000, 32000],
    // The web service listens on plain loopback HTTP here; Google itself requires HTTPS.
    allowInsecurePushAddresses: true,
  });
  const pipedrive = await startPipedriveEmulator({ seed: 7 });
  const { companyId } = pipedrive.control.createCompany({ name: `Drill ${randomUUID().slice(0, 6)}` });
  const taskQueue = `drill-${randomUUID()}`;
  const webPort = await freePort();
  const publicUrl = `http://127.0.0.1:${webPort}`;
  const payloadKeys = testPayloadKeys();
  const env: Record<string, string> = {
    DATABASE_URL: opts.databaseUrl,
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    PUBLIC_URL: publicUrl,
    CALENDAR_SYNC_ENCRYPTION_KEYS: `drill:${key.toString('base64')}`,
    CALENDAR_SYNC_PAYLOAD_KEYS: payloadKeys,
    ...emulatorEnv(google, pipedrive),
  };
  // The drill's own view of the database; its connections die in the outage too, which is nobody's news.
  const db = createPool(opts.databaseUrl, { log: silentLogger });
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({
    connection,
    namespace: 'default',
    dataConverter: encryptingDataConverter(EncryptionCodec.fromConfig(payloadKeys)),
  });
  const sync = new SyncClient(client, taskQueue);
  const worker = await startWorkerProcess(env);
  const web = await startWebProcess(env, webPort);

  const { connectionId, email, pd, g } = await registerAccounts({ db, secrets, google, pipedrive, companyId });
  await sync.configure(connectionId, {
    ...DEFAULT_SETTINGS,
    enabled: true,
    mode: 'two-way',
    calendarId: g.primaryCalendarId,
  });
  await settled(sync, connectionId, 60_000);
  const creds = await eventually(
    () => loadCredentials(db, secrets, connectionId, 'webhook').then((c) => c ?? undefined),
    30_000,
    'the webhook registration',
  );
  // The drill delivers webhooks itself, so it knows every answer; Pipedrive's own copies would be extra signals.
  pipedrive.control.banWebhooks(companyId, 3_600_000);
  const user: DrillUser = {
    connectionId,
    pipedriveUserId: pd.userId,
    email,
    calendarId: g.primaryCalendarId,
    basicAuth: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`,
  };

  const post = async (d: SentDelivery): Promise<number> => {
    const body = {
      meta: {
        action: 'create',
        entity: 'activity',
        entity_id: String(d.activityId),
        id: d.deliveryId,
        change_source: 'app',
      },
      data: { id: d.activityId, owner_id: user.pipedriveUserId },
      previous: null,
    };
    const status = await fetch(`${web.url}/webhooks/pipedrive/${connectionId}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: user.basicAuth, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(15_000),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      })
      .catch(() => 0); // no answer at all: Pipedrive counts it as failed and retries
    d.statuses.push(status);
    return status;
  };

  return {
    db,
    google,
    pipedrive,
    sync,
    worker,
    web,
    user,
    async newActivityWebhook(label, copies = 1) {
      const a = pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: label,
        type: 'task',
        due_date: '2026-12-20',
        due_time: '09:00',
        duration: '00:30',
      }) as { id: number };
      const d: SentDelivery = { deliveryId: `drill-${randomUUID()}`, activityId: a.id, statuses: [] };
      await Promise.all(Array.from({ length: copies }, () => post(d)));
      return d;
    },
    redeliver: post,
    newGoogleEvent(label) {
      google.control.upsertEvent(email, user.calendarId, {
        summary: label,
        start: { dateTime: '2026-12-21T10:00:00Z' },
        end: { dateTime: '2026-12-21T11:00:00Z' },
      });
      return label;
    },
    eventsForActivity(activityId) {
      return google.control
        .listEvents(email, user.calendarId)
        .filter((e) => readEventLinkProperties(e)?.activityId === activityId).length;
    },
    activitiesNamed(summary) {
      return pipedrive.control
        .listActivities({ companyId })
        .filter((a) => a.subject === summary && a.owner_id === user.pipedriveUserId).length;
    },
    async pipedriveSignals() {
      // The drill is far too short for a continue-as-new: the one run's history has every signal.
      const history = await client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
      return (history.events ?? []).filter(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'pipedriveChanged',
      ).length;
    },
    processesAlive: () => ({ worker: pidAlive(worker.pid), web: web.alive() }),
    async close() {
      await web.stop();
      await worker.stop();
      await Promise.all([google.close(), pipedrive.close()]);
      await connection.close();
      await db.end();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
