/**
 * Turns every way a Pipedrive call can fail into an `ApplicationFailure` that tells Temporal what to do next:
 *
 * | what happened                         | type                       | retry?                                      |
 * | ------------------------------------- | -------------------------- | ------------------------------------------- |
 * | 429 (burst window)                    | `PipedriveRateLimited`     | yes, after the burst window                  |
 * | 429 (daily budget spent)              | `PipedriveBudgetSpent`     | yes, at the budget's reset (the sync workflow
 * |                                       |                            | takes it at once to hold its queue and show it) |
 * | 5xx, network error, timeout           | `PipedriveUnavailable`     | yes, with the activity's own backoff         |
 * | 401 that a token refresh cannot cure  | `PipedriveAuthFailed`      | no: the user must reconnect                  |
 * | any other 4xx                         | `PipedriveRequestRejected` | no: the same request will be rejected again  |
 *
 * Messages and details never carry credentials: only the route template (no query string), the status and
 * Pipedrive's own error text, scrubbed of every secret the client knows (see `redact`).
 * https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting
 * https://pipedrive.readme.io/docs/core-api-concepts-http-status-codes
 */
import { ApplicationFailure } from '@temporalio/common';

export const PIPEDRIVE_FAILURE_TYPES = [
  'PipedriveRateLimited',
  'PipedriveBudgetSpent',
  'PipedriveUnavailable',
  'PipedriveAuthFailed',
  'PipedriveRequestRejected',
] as const;
export type PipedriveFailureType = (typeof PIPEDRIVE_FAILURE_TYPES)[number];

/** The delay used when a 429 comes without a usable reset header: one burst window. */
export const DEFAULT_RATE_LIMIT_DELAY_MS = 2000;

/** `details[0]` of every Pipedrive failure. */
export interface PipedriveFailureDetails {
  /** HTTP status; 0 when no answer arrived (network error, timeout). */
  status: number;
  /** Pipedrive's error text (or the transport's), scrubbed of secrets. */
  error: string;
  /** `METHOD /route/template`, never a concrete URL with a query string. */
  route: string;
}

export interface RateLimitDetails extends PipedriveFailureDetails {
  /** Which limit was hit: the rolling 2-second burst window per token or the company's daily token budget. */
  scope: 'burst' | 'daily';
  remaining: number | null;
  limit: number | null;
  /** `x-daily-requests-left`. */
  dailyRemaining: number | null;
  retryAfterMs: number;
  /** When the daily budget returns (ISO time; daily scope only). Until then no call is sent (budget-pause.ts). */
  resumeAt?: string;
}

/** What the transport saw; `headers` is a fetch `Headers`, so lookups are case-insensitive. */
export interface FailedResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body if it was JSON, the raw text otherwise. */
  body: unknown;
  route: string;
}

/** Replaces every known secret (tokens, client secret) in `text`; secrets shorter than 4 chars are ignored. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** Pipedrive's human error text: `error` in both API generations, OAuth's `error_description` as a fallback. */
export function pipedriveErrorText(body: unknown): string {
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    const parts = [o.error, o.error_description, o.message].filter(
      (v): v is string => typeof v === 'string' && v !== '',
    );
    if (parts.length > 0) return [...new Set(parts)].join(': ');
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 300);
  return 'no error message';
}

const num = (headers: Headers, name: string): number | null => {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
};

/** Milliseconds until the next midnight UTC, when Pipedrive's daily budget resets. */
export function msUntilUtcMidnight(now = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now;
}

/**
 * Reads the rate-limit headers Pipedrive documents (rate-limiting page): `x-ratelimit-limit`,
 * `x-ratelimit-remaining`, `x-ratelimit-reset` (the 2-second burst window, seconds) and `x-daily-requests-left`.
 * A 429 is the daily budget (not the burst window) when the burst window still had room, when
 * `x-daily-requests-left` is 0, or when Pipedrive says so in the error text. The budget resets at midnight UTC;
 * a `retry-after` (not documented for it) is taken when present, else the time to the next UTC midnight.
 */
export function rateLimitInfo(
  headers: Headers,
  errorText = '',
  now = Date.now(),
): Omit<RateLimitDetails, keyof PipedriveFailureDetails> {
  const remaining = num(headers, 'x-ratelimit-remaining');
  const limit = num(headers, 'x-ratelimit-limit');
  const dailyRemaining = num(headers, 'x-daily-requests-left');
  const daily = (remaining !== null && remaining > 0) || dailyRemaining === 0 || /daily/i.test(errorText);
  const retryAfter = num(headers, 'retry-after');
  if (daily) {
    const retryAfterMs = retryAfter !== null && retryAfter > 0 ? Math.ceil(retryAfter * 1000) : msUntilUtcMidnight(now);
    return {
      scope: 'daily',
      remaining,
      limit,
      dailyRemaining,
      retryAfterMs,
      resumeAt: new Date(now + retryAfterMs).toISOString(),
    };
  }
  const seconds = num(headers, 'x-ratelimit-reset') ?? retryAfter;
  const retryAfterMs = seconds !== null && seconds > 0 ? Math.ceil(seconds * 1000) : DEFAULT_RATE_LIMIT_DELAY_MS;
  return { scope: 'burst', remaining, limit, dailyRemaining, retryAfterMs };
}

/** The failure of a call not sent because the daily budget is spent until `resumeAt`. */
export function budgetPaused(route: string, resumeAt: number, now = Date.now()): ApplicationFailure {
  const retryAfterMs = Math.max(1000, resumeAt - now);
  const details: RateLimitDetails = {
    status: 429,
    error: 'daily budget spent (not sent)',
    route,
    scope: 'daily',
    remaining: null,
    limit: null,
    dailyRemaining: 0,
    retryAfterMs,
    resumeAt: new Date(resumeAt).toISOString(),
  };
  return ApplicationFailure.create({
    type: 'PipedriveBudgetSpent',
    message: `Pipedrive daily API budget spent: calls paused until ${details.resumeAt}; ${route} not sent`,
    nonRetryable: false,
    nextRetryDelay: retryAfterMs,
    details: [details],
  });
}

const show = (n: number | null) => (n === null ? '?' : String(n));

/** Classifies an HTTP answer that was not a success. 401 arrives here only once no refresh can help. */
export function failureFromResponse(res: FailedResponse, secrets: readonly (string | undefined)[]): ApplicationFailure {
  const error = redact(pipedriveErrorText(res.body), secrets);
  const base: PipedriveFailureDetails = { status: res.status, error, route: res.route };

  if (res.status === 429) {
    const info = rateLimitInfo(res.headers, error);
    const budget =
      info.scope === 'burst'
        ? `${show(info.remaining)}/${show(info.limit)} requests left in the 2 s window`
        : `daily API budget spent (${show(info.dailyRemaining)} requests left), calls paused until ${info.resumeAt}`;
    const details: RateLimitDetails = { ...base, ...info };
    return ApplicationFailure.create({
      type: info.scope === 'daily' ? 'PipedriveBudgetSpent' : 'PipedriveRateLimited',
      message: `Pipedrive rate limit (${info.scope}) on ${res.route}: ${budget}; retry in ${info.retryAfterMs} ms (429 ${error})`,
      nonRetryable: false,
      nextRetryDelay: info.retryAfterMs,
      details: [details],
    });
  }
  if (res.status >= 500) {
    return ApplicationFailure.create({
      type: 'PipedriveUnavailable',
      message: `Pipedrive answered ${res.status} on ${res.route}: ${error}`,
      nonRetryable: false,
      details: [base],
    });
  }
  if (res.status === 401) return authFailed(`Pipedrive rejected the credentials on ${res.route} (401 ${error})`, base);
  return ApplicationFailure.create({
    type: 'PipedriveRequestRejected',
    message: `Pipedrive rejected ${res.route} with ${res.status}: ${error}`,
    nonRetryable: true,
    details: [base],
  });
}

export function authFailed(message: string, details: PipedriveFailureDetails): ApplicationFailure {
  return ApplicationFailure.create({ type: 'PipedriveAuthFailed', message, nonRetryable: true, details: [details] });
}

/** No answer at all: connection refused/reset, DNS, TLS, or our own per-request timeout. */
export function failureFromNetworkError(
  err: unknown,
  route: string,
  timeoutMs: number,
  secrets: readonly (string | undefined)[],
): ApplicationFailure {
  const name = err instanceof Error ? err.name : '';
  const timedOut = name === 'TimeoutError';
  // undici's "fetch failed" hides the useful part (ECONNREFUSED, ECONNRESET…) in `cause`.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const raw = timedOut
    ? `no answer within ${timeoutMs} ms`
    : [err instanceof Error ? err.message : String(err), cause?.message].filter(Boolean).join(': ');
  const error = redact(raw, secrets);
  const details: PipedriveFailureDetails = { status: 0, error, route };
  return ApplicationFailure.create({
    type: 'PipedriveUnavailable',
    message: `Pipedrive unreachable on ${route}: ${error}`,
    nonRetryable: false,
    details: [details],
  });
}

/** Narrowing helper for callers and tests. */
export function isPipedriveFailure(err: unknown, type?: PipedriveFailureType): err is ApplicationFailure {
  return (
    err instanceof ApplicationFailure &&
    (PIPEDRIVE_FAILURE_TYPES as readonly string[]).includes(err.type ?? '') &&
    (type === undefined || err.type === type)
  );
}
