/**
 * Pipedrive's two limits (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting):
 * - a daily token budget per company: every request spends its endpoint's token cost; the budget resets at
 *   UTC midnight;
 * - a burst limit per rolling 2-second window per token (api_token or OAuth access_token).
 * Either one exceeded → 429. Every API response carries the documented headers: `x-ratelimit-limit`,
 * `x-ratelimit-remaining`, `x-ratelimit-reset` (the 2-second burst window) and `x-daily-requests-left`.
 * Reading: `x-daily-requests-left` is documented for the older daily request limit; the emulator reports the
 * company's remaining daily token budget in it (the token-based page names no header of its own).
 * Once the budget is spent, every request is refused until it resets ("further requests will be temporarily
 * blocked until the budget resets at the start of the next day").
 *
 * Search endpoints have a burst limit of their own, 10 requests per 2 seconds per token ("Announcing Search API
 * rate limit", Pipedrive changelog, effective 16 August 2022). Reading: the token-based page does not repeat it;
 * the stricter reading keeps it on top of the general burst limit (a search request counts against both).
 */

/** Token cost per route, mirroring the published cost table for the endpoints served here. */
export const TOKEN_COSTS: Record<string, number> = {
  'GET /api/v2/activities': 10,
  'GET /api/v2/activities/:id': 1,
  'POST /api/v2/activities': 5,
  'PATCH /api/v2/activities/:id': 5,
  'DELETE /api/v2/activities/:id': 5,
  'GET /api/v2/deals': 10,
  'GET /api/v2/deals/:id': 1,
  'POST /api/v2/deals': 5,
  'PATCH /api/v2/deals/:id': 5,
  'DELETE /api/v2/deals/:id': 5,
  'GET /api/v2/persons': 10,
  'GET /api/v2/persons/:id': 1,
  // `x-token-cost` of `searchPersons` in Pipedrive's v2 OpenAPI file (a wrapper of v1 itemSearch, also 20).
  'GET /api/v2/persons/search': 20,
  'POST /api/v2/persons': 5,
  'PATCH /api/v2/persons/:id': 5,
  'DELETE /api/v2/persons/:id': 5,
  'GET /api/v2/organizations': 10,
  'GET /api/v2/organizations/:id': 1,
  'POST /api/v2/organizations': 5,
  'PATCH /api/v2/organizations/:id': 5,
  'DELETE /api/v2/organizations/:id': 5,
  'GET /v1/users/me': 2,
  'GET /v1/activityTypes': 20,
  'GET /v1/webhooks': 20,
  'POST /v1/webhooks': 10,
  'DELETE /v1/webhooks/:id': 6,
};

export const costOf = (route: string): number => TOKEN_COSTS[route] ?? 1;

/** Routes under the separate Search API burst limit. */
export const isSearchRoute = (route: string): boolean => /^GET \/api\/v2\/[a-z]+\/search$/.test(route);

export interface RateLimitSettings {
  dailyTokenBudget: number;
  burstLimitPer2s: number;
  /** Search API requests per rolling 2 s window per token (on top of `burstLimitPer2s`). */
  searchBurstLimitPer2s: number;
  /**
   * Length of a budget "day" (default 24 h, aligned to UTC midnight). Tests shorten it to see a spent budget
   * return without waiting until midnight; periods are aligned to multiples of it since the epoch.
   */
  budgetPeriodMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  dailyTokenBudget: 1_000_000,
  burstLimitPer2s: 80,
  searchBurstLimitPer2s: 10,
  budgetPeriodMs: 86_400_000,
};

const WINDOW_MS = 2000;

export type RateDecision =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; reason: 'burst' | 'daily'; headers: Record<string, string> };

export class RateLimiter {
  private settings: RateLimitSettings;
  /** Request timestamps in the current rolling window, per credential. */
  private windows = new Map<string, number[]>();
  /** Tokens spent today per company; `day` is the UTC date the counters belong to. */
  private spent = new Map<number, number>();
  private day = -1;

  constructor(settings: Partial<RateLimitSettings> = {}) {
    this.settings = { ...DEFAULT_RATE_LIMITS, ...settings };
  }

  configure(settings: Partial<RateLimitSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  get current(): RateLimitSettings {
    return { ...this.settings };
  }

  reset(): void {
    this.windows.clear();
    this.spent.clear();
  }

  /** Checks both limits and, when allowed, records the request and spends its cost. */
  take(credential: string, companyId: number, cost: number, now = Date.now(), search = false): RateDecision {
    const period = this.settings.budgetPeriodMs;
    const today = Math.floor(now / period);
    if (today !== this.day) {
      this.day = today;
      this.spent.clear();
    }
    const window = (this.windows.get(credential) ?? []).filter((t) => t > now - WINDOW_MS);
    this.windows.set(credential, window);
    const limit = this.settings.burstLimitPer2s;
    const spent = this.spent.get(companyId) ?? 0;
    const budget = this.settings.dailyTokenBudget;
    const secondsToMidnight = Math.max(1, Math.ceil(((today + 1) * period - now) / 1000));
    const burstReset = window.length > 0 ? Math.max(1, Math.ceil((window[0]! + WINDOW_MS - now) / 1000)) : 2;

    const headers = (remaining: number, reset: number, dailyLeft: number): Record<string, string> => ({
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, remaining)),
      'x-ratelimit-reset': String(reset),
      'x-daily-requests-left': String(Math.max(0, dailyLeft)),
    });

    if (window.length >= limit) {
      return {
        ok: false,
        reason: 'burst',
        headers: { ...headers(0, burstReset, budget - spent), 'retry-after': String(burstReset) },
      };
    }
    const searchKey = `${credential}\u0000search`;
    const searchWindow = search ? (this.windows.get(searchKey) ?? []).filter((t) => t > now - WINDOW_MS) : [];
    if (search) this.windows.set(searchKey, searchWindow);
    if (search && searchWindow.length >= this.settings.searchBurstLimitPer2s) {
      const reset = Math.max(1, Math.ceil((searchWindow[0]! + WINDOW_MS - now) / 1000));
      return {
        ok: false,
        reason: 'burst',
        headers: { ...headers(0, reset, budget - spent), 'retry-after': String(reset) },
      };
    }
    // A request is admitted while budget is left and spends its whole cost (the last one may overdraw it); from
    // then on everything is refused until midnight UTC.
    if (spent >= budget) {
      return {
        ok: false,
        reason: 'daily',
        headers: {
          ...headers(limit - window.length, burstReset, 0),
          'retry-after': String(secondsToMidnight),
        },
      };
    }
    window.push(now);
    if (search) searchWindow.push(now);
    this.spent.set(companyId, spent + cost);
    return { ok: true, headers: headers(limit - window.length, burstReset, budget - spent - cost) };
  }
}
