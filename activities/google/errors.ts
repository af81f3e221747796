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

export function googleErrorInfo(err: unknown): GoogleErrorInfo {
  const e = err as {
    status?: number;
    code?: number | string;
    message?: string;
    response?: { status?: number; data?: unknown; headers?: Record<string, string> | Headers };
  };
  const status = e.response?.status ?? e.status ?? (typeof e.code === 'number' ? e.code : undefined);
  const body = e.response?.data as { error?: { message?: string; errors?: { reason?: string }[] } } | undefined;
  const reason = body?.error?.errors?.[0]?.reason;
  const headers = e.response?.headers;
  const retryAfter = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  const seconds = retryAfter !== undefined && retryAfter !== null ? Number(retryAfter) : NaN;
  return {
    status,
    reason,
    message: body?.error?.message ?? e.message ?? String(err),
    retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
  };
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
export function toGoogleFailure(err: unknown, what: string, attempt = 1): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const info = googleErrorInfo(err);
  const detail = `${what}: Google answered ${info.status ?? 'no response'}${info.reason ? ` ${info.reason}` : ''}: ${info.message}`;
  if (isRateLimit(info)) {
    return ApplicationFailure.create({
      type: 'GoogleRateLimited',
      message: detail,
      nextRetryDelay: info.retryAfterMs ?? rateLimitDelayMs(attempt),
      details: [{ status: info.status, reason: info.reason }],
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
