/**
 * The official Google Calendar client (`@googleapis/calendar`), set up for the sync: our OAuth app, the
 * user's stored tokens (refreshed tokens are handed back to be persisted), an overridable API root and token
 * endpoint (the emulators in tests and the sandbox), and the client's own retries turned off — they skip
 * POST/PATCH and 403 rate limits, so Temporal retries everything with our classification instead.
 */
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client, type Credentials } from 'google-auth-library';
import type { GoogleCredentials } from '../store/connections.js';
import { recordApiCall } from '../../lib/metrics.js';
import { googleErrorInfo, toGoogleFailure } from './errors.js';

export interface GoogleAppConfig {
  clientId: string;
  clientSecret: string;
  /** e.g. the emulator's origin + '/'; Google's default when undefined. */
  rootUrl?: string;
  /** OAuth token endpoint; Google's default when undefined. */
  tokenUrl?: string;
  /** OAuth consent screen; Google's default when undefined. */
  authUrl?: string;
  /** Where Google sends the user back after consent. */
  redirectUri?: string;
}

export type GoogleResult<T> = { ok: true; data: T } | { ok: false; status: number; reason?: string };

type ApiCall<T> = (cal: calendar_v3.Calendar) => Promise<{ data: T }>;

export interface GoogleCalendarApi {
  calendar: calendar_v3.Calendar;
  auth: OAuth2Client;
  /**
   * Runs one API call: refreshes the access token and retries once on 401 (a token revoked before its expiry);
   * answers with the statuses the caller handles itself (`accept`, e.g. 409 on an idempotent insert), and turns
   * any other failure into a classified ApplicationFailure.
   */
  request<T>(what: string, fn: ApiCall<T>, accept: number[]): Promise<GoogleResult<T>>;
  /** `request` with nothing accepted: the data, or a classified failure. */
  call<T>(what: string, fn: ApiCall<T>): Promise<T>;
}

export function createOAuthClient(app: GoogleAppConfig): OAuth2Client {
  return new OAuth2Client({
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: app.redirectUri,
    endpoints: {
      ...(app.tokenUrl ? { oauth2TokenUrl: app.tokenUrl } : {}),
      ...(app.authUrl ? { oauth2AuthBaseUrl: app.authUrl } : {}),
    },
  });
}

export function createGoogleCalendarApi(
  app: GoogleAppConfig,
  credentials: GoogleCredentials,
  onTokens: (c: GoogleCredentials) => Promise<void>,
  options: {
    /** The activity attempt, for rate-limit backoff when Google does not say how long to wait. */
    attempt?: number;
    /** Told about every API call and its status (0 when no answer), e.g. for benchmarks. */
    onCall?: (what: string, status: number) => void;
    /** Delay after 403 `dailyLimitExceeded` (default `DAILY_LIMIT_RETRY_MS`). */
    dailyLimitRetryMs?: number;
  } = {},
): GoogleCalendarApi {
  const { attempt = 1, onCall, dailyLimitRetryMs } = options;
  const auth = createOAuthClient(app);
  auth.setCredentials({
    refresh_token: credentials.refreshToken,
    access_token: credentials.accessToken,
    // Always set: without an expiry the library refreshes and silently retries on any 403, which would hide
    // (and double) rate-limit errors. An unknown expiry counts as expired, so the first call refreshes.
    expiry_date: credentials.accessToken ? (credentials.expiryDate ?? 1) : 1,
  });
  let pendingSave: Promise<void> = Promise.resolve();
  auth.on('tokens', (tokens: Credentials) => {
    pendingSave = onTokens({
      refreshToken: tokens.refresh_token ?? credentials.refreshToken,
      accessToken: tokens.access_token ?? undefined,
      expiryDate: tokens.expiry_date ?? undefined,
    });
  });
  const cal = calendar({ version: 'v3', auth, rootUrl: app.rootUrl, retry: false, retryConfig: { retry: 0 } });

  async function request<T>(what: string, fn: ApiCall<T>, accept: number[]): Promise<GoogleResult<T>> {
    const once = async () => {
      try {
        const res = await fn(cal);
        onCall?.(what, 200);
        recordApiCall({ service: 'google', operation: what, status: 200, data: res.data });
        return { ok: true as const, data: res.data };
      } catch (err) {
        onCall?.(what, googleErrorInfo(err).status ?? 0);
        recordApiCall({ service: 'google', operation: what, status: googleErrorInfo(err).status ?? 0 });
        throw err;
      }
    };
    try {
      try {
        return await once();
      } catch (err) {
        if (googleErrorInfo(err).status !== 401) throw err;
        auth.setCredentials({ ...auth.credentials, expiry_date: 1 });
        await auth.getAccessToken();
        await pendingSave;
        return await once();
      }
    } catch (err) {
      const info = googleErrorInfo(err);
      if (info.status !== undefined && accept.includes(info.status)) {
        return { ok: false, status: info.status, reason: info.reason };
      }
      throw toGoogleFailure(err, what, attempt, dailyLimitRetryMs);
    } finally {
      await pendingSave;
    }
  }

  return {
    calendar: cal,
    auth,
    request,
    async call(what, fn) {
      const result = await request(what, fn, []);
      if (!result.ok) throw new Error(`unreachable: ${what} answered ${result.status}`);
      return result.data;
    },
  };
}
