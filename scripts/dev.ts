/**
 * `npm run dev` — the sandbox: the whole stack on this machine, with no account and no configuration.
 * Temporal dev server with its Web UI (state in .data/temporal.db, so a restart keeps workflows), a local
 * Postgres, the worker and the HTTP server. Ctrl-C stops everything.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { deleteConnection, saveCredentials, upsertConnection } from '../adapters/store/connections.js';
import { migrate } from '../adapters/store/migrate.js';
import { createPool } from '../adapters/store/pool.js';
import { SecretBox } from '../lib/secret-box.js';
import { DEFAULT_FEEDS, type SyncDeps } from '../adapters/sync-deps.js';
import { DEFAULT_SETTINGS } from '../sync-rules/settings.js';
import { connectClient, SyncClient } from '../client/sync-client.js';
import { startHttpServer } from '../client/http/server.js';
import { codecEndpointFromEnv } from '../client/http/codec-endpoint.js';
import { EncryptionCodec, PAYLOAD_KEYS_VARIABLE } from '../lib/payload-codec.js';
import { createLogger } from '../lib/logger.js';
import { bundleSyncWorkflows, createSyncWorker } from '../worker/create-worker.js';
import { installRuntime } from '../worker/telemetry.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/names.js';
import { seedDemo } from '../emulators/demo-data.js';
import { startGoogleEmulator } from '../emulators/google/index.js';
import { startPipedriveEmulator } from '../emulators/pipedrive/index.js';
import { projectRoot } from './provision/paths.js';
import { ensurePostgres } from './provision/postgres.js';
import { startDevServer } from './provision/temporal-server.js';

const log = (msg: string) => console.log(`[sandbox] ${msg}`);

const DEMO_CONNECTION_ID = 'demo';

/** The sandbox's credential encryption key: from the environment, or generated once into the data dir. */
async function sandboxSecretBox(dataDir: string): Promise<SecretBox> {
  if (process.env.CALENDAR_SYNC_ENCRYPTION_KEYS) return SecretBox.fromConfig(process.env.CALENDAR_SYNC_ENCRYPTION_KEYS);
  const file = path.join(dataDir, 'encryption-keys');
  if (!existsSync(file)) await writeFile(file, `sandbox:${SecretBox.generateKey()}`, { mode: 0o600 });
  return SecretBox.fromConfig((await readFile(file, 'utf8')).trim());
}

/**
 * The sandbox's Temporal payload keys (a separate key from the credentials'): from the environment, or
 * generated once into the data dir, so workflows kept in .data/temporal.db stay readable across restarts.
 */
async function sandboxPayloadCodec(dataDir: string): Promise<EncryptionCodec> {
  if (process.env[PAYLOAD_KEYS_VARIABLE]) return EncryptionCodec.fromConfig(process.env[PAYLOAD_KEYS_VARIABLE]);
  const file = path.join(dataDir, 'payload-keys');
  if (!existsSync(file)) await writeFile(file, `sandbox:${SecretBox.generateKey()}`, { mode: 0o600 });
  return EncryptionCodec.fromConfig((await readFile(file, 'utf8')).trim());
}

/** The admin API token (for the `calendar-sync` CLI): from the environment, or generated once into the data dir. */
async function sandboxAdminToken(dataDir: string): Promise<string> {
  if (process.env.CALENDAR_SYNC_ADMIN_TOKEN) return process.env.CALENDAR_SYNC_ADMIN_TOKEN;
  const file = path.join(dataDir, 'admin-token');
  if (!existsSync(file)) await writeFile(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return (await readFile(file, 'utf8')).trim();
}

async function main(): Promise<void> {
  const started = Date.now();
  const httpPort = Number(process.env.PORT ?? 3000);
  const dataDir = process.env.SANDBOX_DATA_DIR ?? path.join(projectRoot, '.data');
  await mkdir(dataDir, { recursive: true });
  const stops: Array<() => Promise<unknown>> = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping …');
    for (const stop of stops.reverse()) await stop().catch((err) => console.error(err));
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  // Worker internals log at WARN so the sandbox's own lines stay readable; details are in the Temporal UI.
  // Installed first: the dev server's test environment would otherwise create the runtime with defaults.
  // Readable lines in the sandbox: every logger the stack creates from here on (lib/logger.ts) is pretty.
  process.env.LOG_FORMAT ??= 'pretty';
  installRuntime({ logger: createLogger({ name: 'worker', level: 'warn' }), shutdownSignals: [] });

  try {
    log('starting the Temporal dev server …');
    const payloadCodec = await sandboxPayloadCodec(dataDir);
    const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
    const temporal = await startDevServer({
      port: Number(process.env.TEMPORAL_PORT ?? 7233),
      uiPort,
      dbFilename: path.join(dataDir, 'temporal.db'),
      // Payloads are encrypted; the UI decrypts them through our HTTP server's codec endpoint.
      // localhost like the UI, so the codec cookie (SameSite=Strict) goes along with the UI's requests.
      extraArgs: ['--ui-codec-endpoint', `http://localhost:${httpPort}/codec`],
      log,
    });
    stops.push(() => temporal.stop());
    log(
      `Temporal ${temporal.address} (CLI from ${temporal.cli.kind === 'path' ? temporal.cli.source : 'SDK download'})`,
    );

    // Stand-ins for Google and Pipedrive, so the sandbox needs no accounts (docs/emulators.md).
    const google = await startGoogleEmulator({
      port: Number(process.env.GOOGLE_EMULATOR_PORT ?? 4010),
      // The sandbox's receiver is plain loopback HTTP; real Google requires HTTPS push addresses.
      allowInsecurePushAddresses: true,
    });
    stops.push(() => google.close());
    const pipedrive = await startPipedriveEmulator({ port: Number(process.env.PIPEDRIVE_EMULATOR_PORT ?? 4020) });
    stops.push(() => pipedrive.close());
    const demo = seedDemo(google, pipedrive);

    const postgres = await ensurePostgres({
      dataDir: path.join(dataDir, 'postgres'),
      port: Number(process.env.PGPORT_SANDBOX ?? 54329),
      database: 'calendar_sync',
      log,
    });
    stops.push(() => postgres.stop());
    await migrate(postgres.url, log);
    const db = createPool(postgres.url);
    stops.push(() => db.end());

    const deps: SyncDeps = {
      db,
      secrets: await sandboxSecretBox(dataDir),
      feeds: { ...DEFAULT_FEEDS, publicUrl: `http://127.0.0.1:${httpPort}` },
      google: { ...google.oauthClient, rootUrl: `${google.url}/`, tokenUrl: google.tokenUrl, authUrl: google.authUrl },
      // Our "OAuth app" in the Pipedrive emulator is the demo user's client (the emulator gives each user one).
      pipedrive: {
        clientId: demo.pipedrive.oauth.clientId,
        clientSecret: demo.pipedrive.oauth.clientSecret,
        tokenUrl: `${pipedrive.oauthUrl}/oauth/token`,
        authorizeUrl: `${pipedrive.oauthUrl}/oauth/authorize`,
      },
    };
    const workflowBundle = await bundleSyncWorkflows();
    const connection = await NativeConnection.connect({ address: temporal.address });
    const worker = await createSyncWorker({
      connection,
      namespace: 'default',
      taskQueue: DEFAULT_TASK_QUEUE,
      deps,
      payloadCodec,
      workflowBundle,
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
      await connection.close();
    });

    const client = await connectClient(
      { connectionOptions: { address: temporal.address }, namespace: 'default', taskQueue: DEFAULT_TASK_QUEUE },
      payloadCodec,
    );
    stops.push(() => client.connection.close());
    const sync = new SyncClient(client, DEFAULT_TASK_QUEUE);
    // The UI reaches the codec endpoint cross-origin; it decodes once the operator signed in at /codec/sign-in
    // with the admin token and turned on "Include cross-origin credentials" in the UI's codec settings.
    const codec = codecEndpointFromEnv(payloadCodec, 'default', {
      CODEC_CORS_ORIGINS: `http://localhost:${uiPort}`,
      ...process.env,
    });
    const adminToken = await sandboxAdminToken(dataDir);
    const http = await startHttpServer(
      {
        db,
        sync,
        secrets: deps.secrets,
        temporalUiUrl: temporal.uiUrl,
        codec: { ...codec, adminToken },
        adminToken,
        // The settings page, with OAuth against the emulators' consent endpoints (they approve at once).
        web: {
          deps,
          publicUrl: `http://localhost:${httpPort}`,
          sessionSecret: createHash('sha256').update(`session:${adminToken}`).digest(),
          googleLoginHint: demo.google.email,
          // The emulator stands in for https://<company>.pipedrive.com; production lists nothing here.
          allowedPipedriveApiOrigins: [pipedrive.url],
        },
      },
      httpPort,
    );
    stops.push(() => http.close());

    // The demo user, connected to both emulators: the emulators start empty-handed each time, so the
    // connection is recreated from scratch (its links would point at events that no longer exist).
    await deleteConnection(db, DEMO_CONNECTION_ID);
    await upsertConnection(db, {
      id: DEMO_CONNECTION_ID,
      displayName: demo.google.email,
      pipedriveUserId: demo.pipedrive.userId,
      pipedriveCompanyId: demo.pipedrive.companyId,
      pipedriveApiDomain: pipedrive.url,
      googleEmail: demo.google.email,
    });
    await saveCredentials(db, deps.secrets, DEMO_CONNECTION_ID, 'pipedrive', {
      kind: 'api-token',
      token: demo.pipedrive.apiToken,
    });
    await saveCredentials(db, deps.secrets, DEMO_CONNECTION_ID, 'google', {
      refreshToken: demo.google.refreshToken,
      accessToken: demo.google.accessToken,
    });
    // Sent on every start, also when the demo workflow kept the same settings in .data/temporal.db: settings sent
    // again re-establish the live feeds (the emulators forgot the previous run's webhooks and channel), so live
    // sync is back within seconds of a restart.
    await sync.configure(DEMO_CONNECTION_ID, {
      ...DEFAULT_SETTINGS,
      enabled: true,
      calendarId: demo.google.primaryCalendarId,
    });

    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    log(`Temporal Web UI   ${temporal.uiUrl}/namespaces/default/workflows`);
    log(`Temporal gRPC     ${temporal.address}`);
    log(`Postgres          ${postgres.url}`);
    log(`Settings page     http://localhost:${httpPort}/settings (connect the demo accounts there)`);
    log(`Sync web server   ${http.url}`);
    log(`Google emulator   ${google.url} (demo user ${demo.google.email})`);
    log(
      `Pipedrive emul.   ${pipedrive.url} (demo user ${demo.pipedrive.userId}, API token ${demo.pipedrive.apiToken})`,
    );
    log(
      `Codec sign-in     http://localhost:${httpPort}/codec/sign-in (admin token below; lets the UI decode payloads)`,
    );
    log(`Admin CLI         CALENDAR_SYNC_URL=${http.url} CALENDAR_SYNC_ADMIN_TOKEN=${adminToken} npm run cli -- help`);
    log('Ctrl-C stops everything.');
  } catch (err) {
    console.error('[sandbox] failed to start:', err);
    await stopAll(1);
  }
}

void main();
