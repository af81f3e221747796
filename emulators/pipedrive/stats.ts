/** Counters a test or benchmark reads to see what the emulator did (API calls, tokens, 429s, deliveries). */
export interface PipedriveStats {
  /** API calls by `METHOD /route/pattern`, including rejected ones. */
  apiCalls: Record<string, number>;
  /** Rate-limit tokens spent per company id. */
  tokensSpent: Record<string, number>;
  /** 429 responses sent (burst, daily budget or injected). */
  rateLimited: number;
  webhooks: {
    /** HTTP POSTs made (first attempts, retries and duplicates). */
    sent: number;
    /** Attempts answered with 2xx. */
    delivered: number;
    /** Attempts that failed (non-2xx, timeout, connection error). */
    failed: number;
    /** Retry attempts among `sent`. */
    retried: number;
    /** Events dropped by fault injection (never sent). */
    dropped: number;
    /** Extra copies sent by fault injection. */
    duplicated: number;
    /** Events (or pending retries) discarded because the webhook was banned. */
    lostToBan: number;
    /** Events that failed every attempt, retries included. */
    exhausted: number;
    /** Times a webhook got banned by the ban counter. */
    bans: number;
  };
}

export function emptyStats(): PipedriveStats {
  return {
    apiCalls: {},
    tokensSpent: {},
    rateLimited: 0,
    webhooks: {
      sent: 0,
      delivered: 0,
      failed: 0,
      retried: 0,
      dropped: 0,
      duplicated: 0,
      lostToBan: 0,
      exhausted: 0,
      bans: 0,
    },
  };
}
