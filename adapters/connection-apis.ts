/**
 * The API clients of one connection, built the same way in both processes: the worker's sync steps and the web
 * service's settings page. Tokens either side refreshes are saved back (encrypted), so whichever process
 * refreshed an OAuth token, the next call anywhere uses the new one instead of a revoked refresh token.
 */
import { createGoogleCalendarApi, type GoogleCalendarApi } from './google/calendar-api.js';
import { PipedriveApi, type PipedriveAuth } from './pipedrive/client.js';
import { writeAudit } from './store/audit-log.js';
import {
  saveCredentials,
  type Connection,
  type GoogleCredentials,
  type PipedriveCredentials,
} from './store/connections.js';
import type { SyncDeps } from './sync-deps.js';

export interface PipedriveApiOptions {
  /** Count calls for benchmarks and metrics (the sync's `onApiCall`). */
  onApiCall?: SyncDeps['onApiCall'];
}

/** The Pipedrive client of `connection` (whose API domain is known), saving refreshed OAuth tokens. */
export function pipedriveApiFor(
  deps: SyncDeps,
  connection: Connection & { pipedriveApiDomain: string },
  credentials: PipedriveCredentials,
): PipedriveApi {
  const connectionId = connection.id;
  const auth: PipedriveAuth =
    credentials.kind === 'api-token'
      ? { kind: 'api-token', token: credentials.token }
      : {
          kind: 'oauth',
          accessToken: credentials.accessToken,
          refreshToken: credentials.refreshToken,
          clientId: deps.pipedrive.clientId,
          clientSecret: deps.pipedrive.clientSecret,
          tokenUrl: deps.pipedrive.tokenUrl,
        };
  return new PipedriveApi({
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
}

export interface GoogleApiOptions {
  /** The activity attempt (first attempts retry a rate limit in place; later ones hand it to Temporal). */
  attempt?: number;
}

/** The Google Calendar client of `connectionId`, saving refreshed tokens. */
export function googleCalendarApiFor(
  deps: SyncDeps,
  connectionId: string,
  credentials: GoogleCredentials,
  options: GoogleApiOptions = {},
): GoogleCalendarApi {
  return createGoogleCalendarApi(
    deps.google,
    credentials,
    (c) => saveCredentials(deps.db, deps.secrets, connectionId, 'google', c),
    {
      attempt: options.attempt ?? 1,
      onCall: deps.onApiCall ? (what, status) => deps.onApiCall!('google', what, status) : undefined,
      dailyLimitRetryMs: deps.googleDailyLimitRetryMs,
    },
  );
}
