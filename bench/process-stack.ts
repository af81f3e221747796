/**
 * The stack of a benchmark as it is deployed: this process (the driver) holds both API emulators and the load
 * generator; the production worker (`worker/main.ts`) and web service (`client/http/main.ts`) run as child
 * processes configured only through the environment, as a deployment configures them; Temporal's dev server
 * and a throwaway Postgres are provisioned as for the tests (`scripts/provision/*`). Nothing of the product
 * runs in the driver: what the driver knows about the product it reads from Temporal, Postgres and the two
 * services' `/metrics`, as an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { migrate } from '../adapters/store/migrate.js';
import { createPool } from '../adapters/store/pool.js';
import { SecretBox } from '../lib/secret-box.js';
import { SyncClient } from '../client/sync-client.js';
import { startGoogleEmulator, type GoogleEmulator } from '../emulators/google/index.js';
import { startPipedriveEmulator, type PipedriveEmulator } from '../emulators/pipedrive/index.js';
import { silentLogger } from '../lib/logger.js';
import { EncryptionCodec, encryptingDataConverter } from '../lib/payload-codec.js';
import { freePort } from '../scripts/provision/free-port.js';
import { projectRoot } from '../scripts/provision/paths.js';
import { ensurePostgres, postgresDataDir } from '../scripts/provision/postgres.js';
import { startDevServer } from '../scripts/provision/temporal-server.js';
import { bundleSyncWorkflows } from '../worker/create-worker.js';
import type { SyncStatus } from '../workflows/contract.js';
import { findProcess } from './proc-usage.js';
import { emulatorEnv } from '../testing/emulator-env.js';
import { registerAccounts } from '../testing/sync-harness.js';

export interface BenchProcess {
  name: string;
  pid: number;
}

/** What a benchmark needs from a stack, whether the product runs in the driver or beside it. */
export interface BenchStack {
  google: GoogleEmulator;
  pipedrive: PipedriveEmulator;
  sync: SyncClient;
  /** The driver's own connections (set-up, inbox times, workflow histories). */
  db: pg.Pool;
  client: Client;
  payloadCodec: EncryptionCodec;
  /** The credential keys the product reads, to store connections as it does. */
  secrets: SecretBox;
  /** API calls the product made so far, keyed `side operation status` (e.g. `google events.insert 200`). */
  apiCalls(): Promise<Record<string, number>>;
  /** The web service's `calendar_sync_deliveries_total` by `source result` (empty when not measurable). */
  deliveries(): Promise<Record<string, number>>;
  /**
   * The worker's Temporal SDK latency histograms (`temporal_*_latency_seconds`), as `name_sum` / `name_count`
   * summed over every series: what the worker itself saw of task dispatch and execution. Empty when the SDK's
   * exporter is off (`--processes=single`).
   */
  sdkLatencies(): Promise<Record<string, number>>;
  /** The processes whose CPU and memory the bench reports. */
  processes: BenchProcess[];
  /** The worker's whole `/metrics` (the sync's series and the SDK's), when it runs as a process of its own. */
  workerMetrics?: () => Promise<string>;
  close(): Promise<void>;
}

const tsxLoader = pathToFileURL(path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

interface Service {
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A production entry point as a child process: node with tsx as a loader (not tsx's CLI, so the pid measured is
 * the service itself and not a wrapper), in a process group of its own, ready when `ready()` says so.
 */
async function startService(
  name: string,
  entry: string,
  env: Record<string, string>,
  ready: (output: string) => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<Service> {
  const child: ChildProcess = spawn(process.execPath, ['--import', tsxLoader, path.join(projectRoot, entry)], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const onData = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-50_000));
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!alive()) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 45_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before ready:\n${out}`);
    if (await ready(out).catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} not ready after ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { pid: child.pid!, output: () => out, stop };
}

/** Prometheus text → `{ "name{labels}": value }` for the series of `name`, keyed by the labels `keys`. */
export function countersOf(text: string, name: string, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{(.*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const key = keys.map((k) => labels[k] ?? '').join(' ');
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

/** The SDK's view of each task: waiting to be picked up (schedule → start) and running in the worker. */
export const SDK_LATENCIES = [
  'temporal_workflow_task_schedule_to_start_latency_seconds',
  'temporal_workflow_task_execution_latency_seconds',
  'temporal_activity_schedule_to_start_latency_seconds',
  'temporal_activity_execution_latency_seconds',
] as const;

export interface ProcessStackOptions {
  name: string;
  /** Register Pipedrive webhooks and Google push channels against the web service (the webhook path). */
  feeds: boolean;
  googleQuotaPerMinute: number;
  /** The Temporal server's eager activity dispatch (`--eager-activities=off` measures without it). */
  eagerActivities: boolean;
  log: (msg: string) => void;
}

export async function startProcessStack(opts: ProcessStackOptions): Promise<BenchStack> {
  const { log } = opts;
  const tmp = await mkdtemp(path.join(os.tmpdir(), `${opts.name}-`));
  const stops: Array<() => Promise<unknown>> = [() => rm(tmp, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => console.error(err));
  };
  try {
    const temporal = await startDevServer({ log, eagerActivities: opts.eagerActivities });
    stops.push(() => temporal.stop());
    const temporalPort = temporal.address.split(':').at(-1)!;
    const pgDir = path.join(tmp, 'pg');
    const postgres = await ensurePostgres({
      dataDir: pgDir,
      port: await freePort(),
      database: opts.name.replace(/[^a-z0-9_]/gi, '_'),
      ephemeral: true,
    });
    stops.push(() => postgres.stop());
    await migrate(postgres.url);

    // As `npm run build` does for a deployment: the worker loads a prebuilt bundle instead of running webpack.
    const bundlePath = path.join(tmp, 'workflow-bundle.js');
    await writeFile(bundlePath, (await bundleSyncWorkflows()).code);

    const google = await startGoogleEmulator({
      quotaPerMinute: opts.googleQuotaPerMinute,
      seed: 1,
      pushRetryDelaysMs: [100, 200],
      allowInsecurePushAddresses: true,
    });
    const pipedrive = await startPipedriveEmulator({ seed: 1, webhookRetryDelaysMs: [100, 200, 300] });
    stops.push(() => Promise.all([google.close(), pipedrive.close()]));

    const credentialKey = randomBytes(32);
    const payloadKeys = `bench:${randomBytes(32).toString('base64')}`;
    const adminToken = randomBytes(24).toString('base64url');
    const webPort = await freePort();
    const workerPort = await freePort();
    const sdkMetricsPort = await freePort();
    const publicUrl = `http://127.0.0.1:${webPort}`;
    const taskQueue = `bench-${randomUUID()}`;
    const env: Record<string, string> = {
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE_PATH: bundlePath,
      PUBLIC_URL: publicUrl,
      CALENDAR_SYNC_ENCRYPTION_KEYS: `bench:${credentialKey.toString('base64')}`,
      CALENDAR_SYNC_PAYLOAD_KEYS: payloadKeys,
      CALENDAR_SYNC_ADMIN_TOKEN: adminToken,
      ...emulatorEnv(google, pipedrive),
      LOG_LEVEL: 'warn',
    };
    // Without feeds the worker registers no webhook or channel: PUBLIC_URL then points nowhere anyone listens.
    const workerEnv = { ...env, ...(opts.feeds ? {} : { PUBLIC_URL: '' }) };
    const worker = await startService(
      'worker',
      'worker/main.ts',
      {
        ...workerEnv,
        WORKER_HTTP_PORT: String(workerPort),
        WORKER_HTTP_HOST: '127.0.0.1',
        WORKER_SDK_METRICS_ADDRESS: `127.0.0.1:${sdkMetricsPort}`,
      },
      async () => (await fetch(`http://127.0.0.1:${workerPort}/readyz`)).ok,
    );
    stops.push(() => worker.stop());
    const web = await startService(
      'web',
      'client/http/main.ts',
      { ...env, PORT: String(webPort), HOST: '127.0.0.1' },
      async () => (await fetch(`${publicUrl}/healthz`)).ok,
    );
    stops.push(() => web.stop());
    log(`worker pid ${worker.pid} (metrics :${workerPort}), web pid ${web.pid} (${publicUrl})`);

    const db = createPool(postgres.url, { log: silentLogger });
    stops.push(() => db.end());
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const payloadCodec = EncryptionCodec.fromConfig(payloadKeys);
    const client = new Client({
      connection,
      namespace: 'default',
      dataConverter: encryptingDataConverter(payloadCodec),
    });
    const sync = new SyncClient(client, taskQueue);

    const scrape = async (url: string, headers: Record<string, string> = {}) => {
      const res = await fetch(url, { headers });
      if (!res.ok) throw new Error(`${url}: ${res.status}`);
      return res.text();
    };
    const processes: BenchProcess[] = [
      { name: 'driver (emulators + load)', pid: process.pid },
      { name: 'worker', pid: worker.pid },
      { name: 'web service', pid: web.pid },
    ];
    const temporalPid = findProcess((argv) => argv.includes('start-dev') && argv.includes(temporalPort));
    if (temporalPid) processes.push({ name: 'Temporal dev server', pid: temporalPid });
    else log('Temporal dev server process not found: its CPU is not reported');
    if (postgres.started) {
      const pidFile = await readFile(path.join(postgresDataDir(pgDir), 'postmaster.pid'), 'utf8');
      processes.push({ name: 'Postgres (all backends)', pid: Number(pidFile.split('\n')[0]) });
    } else log('DATABASE_URL is set: that Postgres is not ours to measure');

    return {
      google,
      pipedrive,
      sync,
      db,
      client,
      payloadCodec,
      secrets: SecretBox.fromConfig(env.CALENDAR_SYNC_ENCRYPTION_KEYS!),
      apiCalls: async () =>
        countersOf(await scrape(`http://127.0.0.1:${workerPort}/metrics`), 'calendar_sync_api_requests_total', [
          'service',
          'operation',
          'status',
        ]),
      sdkLatencies: async () => {
        const text = await scrape(`http://127.0.0.1:${workerPort}/metrics`);
        const out: Record<string, number> = {};
        for (const name of SDK_LATENCIES)
          for (const part of ['sum', 'count'])
            out[`${name}_${part}`] = countersOf(text, `${name}_${part}`, [])[''] ?? 0;
        return out;
      },
      deliveries: async () =>
        countersOf(
          await scrape(`${publicUrl}/metrics`, { authorization: `Bearer ${adminToken}` }),
          'calendar_sync_deliveries_total',
          ['source', 'result'],
        ),
      processes,
      workerMetrics: () => scrape(`http://127.0.0.1:${workerPort}/metrics`),
      close: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export type { SyncStatus };

/** A user of both emulators, connected as the product stores them (sync not yet configured). */
export interface StoredBenchUser {
  connectionId: string;
  pipedriveUserId: number;
  apiToken: string;
  companyId: number;
  email: string;
  calendarId: string;
}

/**
 * A new user in both emulators and a connection row with their credentials encrypted with the product's keys, as
 * the OAuth routes would leave it — without the round trips. In a company of their own unless `sharedCompanyId`.
 */
export async function storeBenchUser(h: BenchStack, sharedCompanyId?: number): Promise<StoredBenchUser> {
  const companyId =
    sharedCompanyId ??
    h.pipedrive.control.createCompany({ name: `Bench company ${randomUUID().slice(0, 8)}` }).companyId;
  const { connectionId, email, pd, g } = await registerAccounts({ ...h, companyId });
  return {
    connectionId,
    pipedriveUserId: pd.userId,
    apiToken: pd.apiToken,
    companyId,
    email,
    calendarId: g.primaryCalendarId,
  };
}
