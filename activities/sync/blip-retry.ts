/**
 * A transient API failure inside a long activity, tried again on the spot. A Google pull carries many calls (each
 * page's `events.list`, every event's apply) and is retried by Temporal as a whole, so without this one blip of any
 * of them costs the attempt of all of them, and under a steady error rate a pull can run out of attempts. Only
 * classified retryable API failures with a short wait are tried again here; longer waits (a quota window, the
 * daily budget) stay Temporal's, and so does anything unclassified (e.g. Postgres).
 */
import { ApplicationFailure, msOptionalToNumber, type Duration } from '@temporalio/common';

/** Tries of one call on the spot before its transient failure fails the activity attempt. */
export const TRIES_ON_THE_SPOT = 3;
/** A failure that asks for a longer wait is left to Temporal's retry. */
export const LONGEST_WAIT_ON_THE_SPOT_MS = 2_000;

/**
 * How long to wait before trying again on the spot after `err` failed try number `tryNumber` (1-based), or null when
 * it must not be tried again here.
 *
 * - A Google rate limit (`403 rateLimitExceeded`/`userRateLimitExceeded`, `429`) without a `Retry-After`: the
 *   Calendar API's "Handle API errors" guide prescribes exponential backoff starting at about one second, so 1 s,
 *   2 s — counted per call here, not per activity attempt (the failure's own `nextRetryDelay` grows with the
 *   attempt and is meant for Temporal's next attempt). Google's daily quota (`dailyLimitExceeded`) is not a blip.
 * - Any other classified failure: the wait it asks for (Pipedrive's `Retry-After` of its 2 s burst window), else
 *   200 ms, 400 ms for a 5xx.
 */
export function waitBeforeRetryMs(err: unknown, tryNumber: number): number | null {
  if (!(err instanceof ApplicationFailure) || err.nonRetryable || tryNumber >= TRIES_ON_THE_SPOT) return null;
  const details = (err.details?.[0] ?? {}) as { daily?: boolean; retryAfterMs?: number | null };
  if (details.daily) return null;
  const wait =
    err.type === 'GoogleRateLimited'
      ? (details.retryAfterMs ?? 1000 * 2 ** (tryNumber - 1))
      : (askedMs(err.nextRetryDelay) ?? 200 * 2 ** (tryNumber - 1));
  return wait <= LONGEST_WAIT_ON_THE_SPOT_MS ? wait : null;
}

/** Runs `call`, trying it again on the spot after a transient failure (see `waitBeforeRetryMs`). */
export async function ridingOutBlips<T>(call: () => Promise<T>): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await call();
    } catch (err) {
      const wait = waitBeforeRetryMs(err, tryNumber);
      if (wait === null) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function askedMs(delay: Duration | null | undefined): number | undefined {
  if (delay === null || delay === undefined) return undefined;
  try {
    return msOptionalToNumber(delay);
  } catch {
    return undefined;
  }
}
