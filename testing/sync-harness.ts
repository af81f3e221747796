/**
 * The real stack for scenario tests: the shared Temporal dev server and Postgres, both API emulators (real
 * HTTP servers, fresh per test file), a worker wired to them exactly as production wires it to Google and
 * Pipedrive, and helpers to connect users. Users connect with a Pipedrive API token and Google OAuth tokens
 * stored encrypted, as the product does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import type { Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/index.js';
import { upsertConnection, saveCredentials } from '../adapters/store/connections.js';
import { SecretBox } from '../lib/secret-box.js';
import { DEFAULT_FEEDS, type CrashPoint } from '../adapters/sync-deps.js';
import { startHttpServer, type RunningHttpServer } from '../client/http/server.js';
import { SyncClient, type SyncClientOptions } from '../client/sync-client.js';
import { freePort } from '../scripts/provision/free-port.js';
import { startGoogleEmulator, type GoogleEmulator } from '../emulators/google/index.js';
import { startPipedriveEmulator, type PipedriveEmulator } from '../emulators/pipedrive/index.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../sync-rules/settings.js';
import type { SyncStatus } from '../workflows/contract.js';
import { connectStack, eventually, type Stack, type StackAddresses } from './stack.js';
import { createLogger } from '../lib/logger.js';
import { lineSink } from './log-lines.js';

export interface HarnessOptions {
  googleQuotaPerMinute?: number;
  seed?: number;
  workflowInput?: SyncClientOptions['workflowInput'];
  /** Outside vitest (scripts, benchmarks): where Temporal and Postgres are. */
  addresses?: StackAddresses;
  /**
   * Run our HTTP server and register real change feeds (Pipedrive webhooks, Google push channels) pointing at
   * it. Off by default: scenario tests then deliver changes by signals they send themselves.
   */
  feeds?: boolean;
  /** Google channel lifetime and renewal margin (seconds) when `feeds` is on. */
  channelTtlSeconds?: number;
  channelRenewMarginSeconds?: number;
  /** How often the Pipedrive safety net sweeps for deleted linked activities (default an hour). */
  deletionSweepSeconds?: number;
  /** The longest the sweep backs off to while it finds nothing (default a day; never below the base). */
  deletionSweepBoundSeconds?: number;
  /** The admin API token of our HTTP server (with `feeds`); without it the admin API is disabled. */
  adminToken?: string;
  /** Serve OAuth and the settings page too (implies our HTTP server, and with it the change feeds). */
  web?: boolean;
  /** Events moved per relocation batch after a calendar switch. */
  relocateBatch?: number;
}

type ActivityFields = Omit<Parameters<PipedriveEmulator['control']['createActivity']>[0], 'userId'>;

export interface SyncUser {
  connectionId: string;
  pipedriveUserId: number;
  apiToken: string;
  email: string;
  calendarId: string;
  /** The official Google client, authenticated as this user against the emulator (to act as the user). */
  calendar: calendar_v3.Calendar;
}

export interface Harness {
  stack: Stack;
  google: GoogleEmulator;
  pipedrive: PipedriveEmulator;
  sync: SyncClient;
  deps: ActivityDeps;
  companyId: number;
  /** Our HTTP server (only with `feeds: true`). */
  http: RunningHttpServer | null;
  /** Log lines the HTTP server wrote. */
  logLines: string[];
  /** API calls made by the activities, by side and route. */
  apiCalls: Map<string, number>;
  /** Set to make the activities crash at a named point (once per call of the returned disarm). */
  crashAt(point: CrashPoint, times?: number): void;
  connectUser(settings?: Partial<SyncSettings>): Promise<SyncUser>;
  /**
   * The user's existing activities, created in Pipedrive while no sync listens (no webhook reaches us, none has an
   * event): what "Upload unsynced activities" is for. `fields(i)` overrides the defaults of the i-th one.
   */
  unsyncedActivities(user: SyncUser, n: number, fields?: (i: number) => Partial<ActivityFields>): number[];
  /** Waits until the workflow has nothing queued and is not busy, then returns its status. */
  settled(connectionId: string, timeoutMs?: number): Promise<SyncStatus>;
  restartWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A new Pipedrive user and Google account in the emulators, connected as the product stores them: a connection
 * row and both credentials encrypted with `secrets`. The sync itself is not configured yet.
 */
export async function registerAccounts(env: {
  db: Stack['db'];
  secrets: SecretBox;
  google: GoogleEmulator;
  pipedrive: PipedriveEmulator;
  companyId: number;
}) {
  const suffix = randomUUID().slice(0, 8);
  const email = `user-${suffix}@example.com`;
  const pd = env.pipedrive.control.createUser({ companyId: env.companyId, name: `User ${suffix}`, email });
  const g = env.google.control.createUser({ email });
  const connectionId = `conn-${suffix}`;
  await upsertConnection(env.db, {
    id: connectionId,
    displayName: email,
    pipedriveUserId: pd.userId,
    pipedriveCompanyId: env.companyId,
    pipedriveApiDomain: env.pipedrive.url,
    googleEmail: email,
  });
  await saveCredentials(env.db, env.secrets, connectionId, 'pipedrive', { kind: 'api-token', token: pd.apiToken });
  await saveCredentials(env.db, env.secrets, connectionId, 'google', {
    refreshToken: g.refreshToken,
    accessToken: g.accessToken,
  });
  return { connectionId, email, pd, g };
}

/** Turns a connection's sync on for `calendarId` (`settings` over the defaults) and waits until it settles. */
export async function enableSync(
  sync: SyncClient,
  connectionId: string,
  calendarId: string,
  settings: Partial<SyncSettings> = {},
): Promise<SyncStatus> {
  await sync.configure(connectionId, { ...DEFAULT_SETTINGS, enabled: true, calendarId, ...settings });
  return settled(sync, connectionId);
}

/** Waits until the user's workflow has nothing queued and is not busy, then returns its status. */
export function settled(sync: SyncClient, connectionId: string, timeoutMs = 20_000): Promise<SyncStatus> {
  return eventually(
    async () => {
      const s = await sync.status(connectionId);
      return s.queued === 0 && s.state !== 'syncing' ? s : undefined;
    },
    timeoutMs,
    `the sync of ${connectionId} to settle`,
  );
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const stack = await connectStack(opts.addresses);
  const google = await startGoogleEmulator({
    quotaPerMinute: opts.googleQuotaPerMinute ?? 600,
    seed: opts.seed ?? 1,
    pushRetryDelaysMs: [100, 200],
    allowInsecurePushAddresses: true,
  });
  const pipedrive = await startPipedriveEmulator({ seed: opts.seed ?? 1, webhookRetryDelaysMs: [100, 200, 300] });
  const { companyId } = pipedrive.control.createCompany({ name: `Company ${randomUUID().slice(0, 8)}` });
  const apiCalls = new Map<string, number>();
  const secrets = new SecretBox([{ id: 'test', key: randomBytes(32) }]);
  const sync = new SyncClient(stack.client, stack.taskQueue, { workflowInput: opts.workflowInput });
  const logLines: string[] = [];
  // Our HTTP server's address is fixed up front: webhook, push and OAuth redirect URLs all point at it.
  const httpPort = opts.feeds || opts.web ? await freePort() : null;
  const publicUrl = httpPort === null ? undefined : `http://127.0.0.1:${httpPort}`;
  const crashes = new Map<CrashPoint, number>();
  const deps: ActivityDeps = {
    db: stack.db,
    feeds: {
      publicUrl,
      channelTtlSeconds: opts.channelTtlSeconds ?? DEFAULT_FEEDS.channelTtlSeconds,
      channelRenewMarginSeconds: opts.channelRenewMarginSeconds ?? DEFAULT_FEEDS.channelRenewMarginSeconds,
      deletionSweepSeconds: opts.deletionSweepSeconds ?? DEFAULT_FEEDS.deletionSweepSeconds,
      deletionSweepBoundSeconds: opts.deletionSweepBoundSeconds ?? DEFAULT_FEEDS.deletionSweepBoundSeconds,
    },
    secrets,
    google: { ...google.oauthClient, rootUrl: `${google.url}/`, tokenUrl: google.tokenUrl, authUrl: google.authUrl },
    // The Pipedrive emulator gives every user an OAuth client of their own; a test that signs a user in through
    // OAuth sets that user's client here (see `useAsPipedriveApp`).
    pipedrive: {
      clientId: '',
      clientSecret: '',
      tokenUrl: `${pipedrive.oauthUrl}/oauth/token`,
      authorizeUrl: `${pipedrive.oauthUrl}/oauth/authorize`,
    },
    onApiCall: (side, route, status) => {
      const key = `${side} ${route} ${status}`;
      apiCalls.set(key, (apiCalls.get(key) ?? 0) + 1);
    },
    relocateBatch: opts.relocateBatch,
    crashPoint: (point) => {
      const left = crashes.get(point) ?? 0;
      if (left > 0) {
        crashes.set(point, left - 1);
        throw new Error(`simulated crash at ${point}`);
      }
    },
  };
  const http =
    httpPort === null
      ? null
      : await startHttpServer(
          {
            db: stack.db,
            sync,
            secrets,
            log: createLogger({ destination: lineSink(logLines) }),
            relayIntervalMs: 200,
            adminToken: opts.adminToken,
            web: opts.web
              ? {
                  deps,
                  publicUrl: publicUrl!,
                  sessionSecret: randomBytes(32),
                  allowedPipedriveApiOrigins: [pipedrive.url],
                }
              : undefined,
          },
          httpPort,
        );
  let running: { worker: Worker; done: Promise<void> } = await stack.startWorker(deps);

  const harness: Harness = {
    stack,
    google,
    pipedrive,
    sync,
    deps,
    companyId,
    http,
    logLines,
    apiCalls,
    crashAt(point, times = 1) {
      crashes.set(point, times);
    },
    unsyncedActivities(user, n, fields = () => ({})) {
      return Array.from({ length: n }, (_, i) => {
        const a = pipedrive.control.createActivity({
          userId: user.pipedriveUserId,
          subject: `Existing ${i}`,
          type: 'call',
          due_date: '2026-06-01',
          due_time: '10:00',
          duration: '00:30',
          ...fields(i),
        }) as { id: number };
        return a.id;
      });
    },
    async connectUser(settings = {}) {
      const { connectionId, email, pd, g } = await registerAccounts({
        db: stack.db,
        secrets: deps.secrets,
        google,
        pipedrive,
        companyId,
      });
      await enableSync(sync, connectionId, g.primaryCalendarId, settings);
      const auth = new OAuth2Client({ ...google.oauthClient, endpoints: { oauth2TokenUrl: google.tokenUrl } });
      auth.setCredentials({
        refresh_token: g.refreshToken,
        access_token: g.accessToken,
        expiry_date: Date.now() + 3_000_000,
      });
      return {
        connectionId,
        pipedriveUserId: pd.userId,
        apiToken: pd.apiToken,
        email,
        calendarId: g.primaryCalendarId,
        calendar: calendar({ version: 'v3', auth, rootUrl: `${google.url}/`, retry: false }),
      };
    },
    settled: (connectionId, timeoutMs) => settled(sync, connectionId, timeoutMs),
    async restartWorker() {
      running.worker.shutdown();
      await running.done;
      running = await stack.startWorker(deps);
    },
    async close() {
      running.worker.shutdown();
      await running.done;
      await http?.close();
      await Promise.all([google.close(), pipedrive.close()]);
      await stack.close();
    },
  };
  return harness;
}
