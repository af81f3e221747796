/**
 * Everything one sync step needs for one connection: its settings, both API clients with the user's
 * credentials (refreshed tokens are persisted back, encrypted), and the store.
 */
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { SyncSettings } from '../../sync-rules/settings.js';
import {
  createGoogleCalendarApi,
  type GoogleAppConfig,
  type GoogleCalendarApi,
} from '../../adapters/google/calendar-api.js';
import { PipedriveApi, type PipedriveAuth } from '../../adapters/pipedrive/client.js';
import { getConnection, loadCredentials, saveCredentials, type Connection } from '../../adapters/store/connections.js';
import type { SecretBox } from '../../lib/secret-box.js';
import { writeAudit } from '../../adapters/store/audit-log.js';

export interface PipedriveAppConfig {
  clientId: string;
  clientSecret: string;
  /** OAuth token endpoint (https://oauth.pipedrive.com/oauth/token, or the emulator's). */
  tokenUrl: string;
  /** OAuth authorize endpoint. */
  authorizeUrl?: string;
}

/** API calls made, by side and route: benchmarks report calls per change from these. */
export type ApiCallObserver = (side: 'google' | 'pipedrive', route: string, status: number) => void;

/** How the outside world reaches our HTTP server, and the Google channel lifetimes (DESIGN.md §3). */
export interface FeedConfig {
  /**
   * Public origin of the HTTP server, e.g. https://sync.example.com (webhook and push addresses). Without one,
   * nothing can reach us: no webhooks or channels are registered and only the safety-net polling runs.
   */
  publicUrl?: string;
  /** Requested channel lifetime; Google's default and maximum for calendars is 7 days. */
  channelTtlSeconds: number;
  /** Renew this long before a channel expires. */
  channelRenewMarginSeconds: number;
  /** How often the Pipedrive safety net checks that every linked activity still exists (see feeds/reconcile.ts). */
  deletionSweepSeconds: number;
}

export const DEFAULT_FEEDS: Omit<FeedConfig, 'publicUrl'> = {
  channelTtlSeconds: 7 * 24 * 3600,
  channelRenewMarginSeconds: 12 * 3600,
  deletionSweepSeconds: 3600,
};

export interface SyncDeps {
  db: pg.Pool;
  feeds: FeedConfig;
  secrets: SecretBox;
  google: GoogleAppConfig;
  pipedrive: PipedriveAppConfig;
  onApiCall?: ApiCallObserver;
  /** Fault injection for the crash tests: called at named points between side effects. */
  crashPoint?: (name: CrashPoint) => void;
  /** Events moved per call after a calendar switch (default `RELOCATE_BATCH`; tests lower it). */
  relocateBatch?: number;
  /** How long to wait after Google's 403 `dailyLimitExceeded` (default `DAILY_LIMIT_RETRY_MS`; tests lower it). */
  googleDailyLimitRetryMs?: number;
}

export type CrashPoint = 'after-pipedrive-create' | 'after-google-insert' | 'after-google-move' | 'before-google-watch';

export interface SyncContext {
  deps: SyncDeps;
  db: pg.Pool;
  connection: Connection;
  settings: SyncSettings;
  /** The Pipedrive user whose activities sync. */
  ownerId: number;
  pipedrive: PipedriveApi;
  google: GoogleCalendarApi;
  /** Where links back to Pipedrive point, e.g. https://acme.pipedrive.com */
  pipedriveAppUrl: string | undefined;
}

export async function loadSyncContext(deps: SyncDeps, connectionId: string, attempt = 1): Promise<SyncContext> {
  const connection = await getConnection(deps.db, connectionId);
  if (!connection) {
    throw ApplicationFailure.nonRetryable(`connection ${connectionId} does not exist`, 'ConnectionNotFound');
  }
  const [googleCreds, pipedriveCreds] = await Promise.all([
    loadCredentials(deps.db, deps.secrets, connectionId, 'google'),
    loadCredentials(deps.db, deps.secrets, connectionId, 'pipedrive'),
  ]);
  if (!googleCreds || !pipedriveCreds || !connection.pipedriveApiDomain || connection.pipedriveUserId === null) {
    throw ApplicationFailure.nonRetryable(
      `connection ${connectionId} is not fully connected (Google and Pipedrive accounts are both needed)`,
      'ConnectionIncomplete',
    );
  }

  const auth: PipedriveAuth =
    pipedriveCreds.kind === 'api-token'
      ? { kind: 'api-token', token: pipedriveCreds.token }
      : {
          kind: 'oauth',
          accessToken: pipedriveCreds.accessToken,
          refreshToken: pipedriveCreds.refreshToken,
          clientId: deps.pipedrive.clientId,
          clientSecret: deps.pipedrive.clientSecret,
          tokenUrl: deps.pipedrive.tokenUrl,
        };
  const pipedrive = new PipedriveApi({
    apiDomain: connection.pipedriveApiDomain,
    auth,
    onTokens: (t) =>
      saveCredentials(deps.db, deps.secrets, connectionId, 'pipedrive', {
        kind: 'oauth',
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        expiresAt: t.expiresAt,
      }),
    onRequest: deps.onApiCall ? (i) => deps.onApiCall!('pipedrive', `${i.method} ${i.route}`, i.status) : undefined,
    // The daily budget is the company's: one spent budget pauses every connection of that company.
    budgetKey: `${connection.pipedriveApiDomain}#${connection.pipedriveCompanyId ?? connectionId}`,
    onBudgetSpent: (resumeAt) =>
      writeAudit(deps.db, {
        connectionId,
        direction: 'system',
        action: 'pipedrive-budget-spent',
        outcome: 'skipped',
        detail: { resumeAt, note: 'Pipedrive calls are paused until the daily API budget returns' },
        idempotencyKey: `${connectionId}/pipedrive-budget/${resumeAt.slice(0, 10)}`,
      }),
  });
  const google = createGoogleCalendarApi(
    deps.google,
    googleCreds,
    (c) => saveCredentials(deps.db, deps.secrets, connectionId, 'google', c),
    {
      attempt,
      onCall: deps.onApiCall ? (what, status) => deps.onApiCall!('google', what, status) : undefined,
      dailyLimitRetryMs: deps.googleDailyLimitRetryMs,
    },
  );
  return {
    deps,
    db: deps.db,
    connection,
    settings: connection.settings,
    ownerId: connection.pipedriveUserId,
    pipedrive,
    google,
    pipedriveAppUrl: connection.pipedriveApiDomain,
  };
}
