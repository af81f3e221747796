/**
 * Google Calendar API failures, classified for Temporal. Google's error body is
 * `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`; the reason, not just the status,
 * tells a rate limit (403 rateLimitExceeded / userRateLimitExceeded, or 429) from a permission problem (403).
 */
import { ApplicationFailure } from '@temporalio/common';

export interface GoogleErrorInfo {
  status: number | undefined;
  reason: string | undefined;
  message: string;
  retryAfterMs: number | undefined;
}

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);
/**
 * A daily quota (403 `dailyLimitExceeded`, "Handle API errors"): waiting seconds does not help, and it is no
 * permanent refusal either. Google resets daily quotas at midnight Pacific time; we look again at most an hour
 * later (the quota may be the project's and be raised meanwhile).
 */
const DAILY_LIMIT_REASONS = new Set(['dailyLimitExceeded']);
export const DAILY_LIMIT_RETRY_MS = 3_600_000;

export function googleErrorInfo(err: unknown): GoogleErrorInfo {
  const e = err as {
    status?: number;
    code?: number | string;
    message?: string;
    response?: { status?: number; data?: unknown; headers?: Record<string, string> | Headers };
  };
  const status = e.response?.status ?? e.status ?? (typeof e.code === 'number' ? e.code : undefined);
  const data = e.response?.data as
    { error?: { message?: string; errors?: { reason?: string }[] } | string; error_description?: string } | undefined;
  // The OAuth token endpoint answers `{error: 'invalid_grant', error_description}`; the API `{error: {…}}`.
  const oauthError = typeof data?.error === 'string' ? data.error : undefined;
  const body =
    typeof data?.error === 'object'
      ? (data as { error: { message?: string; errors?: { reason?: string }[] } })
      : undefined;
  const reason = oauthError ?? body?.error?.errors?.[0]?.reason;
  const headers = e.response?.headers;
  const retryAfter = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  const seconds = retryAfter !== undefined && retryAfter !== null ? Number(retryAfter) : NaN;
  return {
    status,
    reason,
    message: body?.error?.message ?? data?.error_description ?? e.message ?? String(err),
    retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
  };
}

export function isDailyLimit(info: GoogleErrorInfo): boolean {
  return info.status === 403 && DAILY_LIMIT_REASONS.has(info.reason ?? '');
}

/** The refresh token was revoked or expired (`invalid_grant` at the token endpoint): only reconnecting helps. */
export function needsReconnect(info: GoogleErrorInfo): boolean {
  return info.reason === 'invalid_grant';
}

export function isRateLimit(info: GoogleErrorInfo): boolean {
  return info.status === 429 || (info.status === 403 && RATE_LIMIT_REASONS.has(info.reason ?? ''));
}

/** Backoff for rate limits when Google does not say how long to wait: 1 s, 2 s, 4 s … capped at 60 s. */
export function rateLimitDelayMs(attempt: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export const GOOGLE_FAILURE_TYPES = [
  'GoogleRateLimited',
  'GoogleUnavailable',
  'GoogleAuthFailed',
  'GoogleRequestRejected',
] as const;

/** Turns any Google failure into an ApplicationFailure the activity retry policy understands. */
export function toGoogleFailure(
  err: unknown,
  what: string,
  attempt = 1,
  dailyLimitRetryMs = DAILY_LIMIT_RETRY_MS,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const info = googleErrorInfo(err);
  const detail = `${what}: Google answered ${info.status ?? 'no response'}${info.reason ? ` ${info.reason}` : ''}: ${info.message}`;
  if (needsReconnect(info)) {
    return ApplicationFailure.nonRetryable(
      `Google refused the stored authorization (invalid_grant): the connection needs reconnecting — ${detail}`,
      'GoogleAuthFailed',
      { status: info.status, reason: info.reason, needsReconnect: true },
    );
  }
  if (isDailyLimit(info)) {
    return ApplicationFailure.create({
      type: 'GoogleRateLimited',
      message: `${detail} (daily quota: retrying in ${Math.round(dailyLimitRetryMs / 1000)} s)`,
      nextRetryDelay: dailyLimitRetryMs,
      details: [{ status: info.status, reason: info.reason, daily: true }],
    });
  }
  if (isRateLimit(info)) {
    return ApplicationFailure.create({
      type: 'GoogleRateLimited',
      message: detail,
      nextRetryDelay: info.retryAfterMs ?? rateLimitDelayMs(attempt),
      // Whether Google said how long to wait, apart from the backoff guessed for the next attempt: a retry on the
      // spot (activities/sync/blip-retry.ts) backs off per call instead.
      details: [{ status: info.status, reason: info.reason, retryAfterMs: info.retryAfterMs ?? null }],
    });
  }
  if (info.status === undefined || info.status >= 500) {
    return ApplicationFailure.retryable(detail, 'GoogleUnavailable', { status: info.status });
  }
  if (info.status === 401) {
    return ApplicationFailure.nonRetryable(detail, 'GoogleAuthFailed', { status: info.status });
  }
  return ApplicationFailure.nonRetryable(detail, 'GoogleRequestRejected', { status: info.status, reason: info.reason });
}
