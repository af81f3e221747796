/**
 * Per-user request quota ("queries per minute per user", 600 by default like the Calendar API's default).
 * Rolling window: a request is admitted when the user made fewer than `perMinute` admitted requests in the
 * 60 s before it. Rejected requests do not consume quota. Which of the documented over-quota answers is sent
 * (403 rateLimitExceeded, 403 userRateLimitExceeded, 429 rateLimitExceeded) is drawn from a PRNG seeded by the
 * emulator seed, so a run is reproducible. No `Retry-After` header: the Calendar docs prescribe exponential
 * backoff and document none.
 */
import { seededRandom } from '../shared/random.js';

export type RateLimitKind = '403-rate' | '403-user' | '429';
const WINDOW_MS = 60_000;

export class Quota {
  private readonly log = new Map<string, number[]>();
  private random: () => number;

  constructor(
    public perMinute: number,
    private readonly seed: number,
  ) {
    this.random = seededRandom(seed ^ 0x9e3779b9);
  }

  /**
   * Admits the request (recording `cost` quota units) or answers which rate-limit error to send. A patch costs 3
   * units (performance guide: "each patch request consumes three quota units").
   */
  check(user: string, now = Date.now(), cost = 1): RateLimitKind | undefined {
    const times = (this.log.get(user) ?? []).filter((t) => t > now - WINDOW_MS);
    this.log.set(user, times);
    if (times.length + cost > this.perMinute) {
      const r = this.random();
      return r < 0.4 ? '403-rate' : r < 0.8 ? '403-user' : '429';
    }
    for (let i = 0; i < cost; i++) times.push(now);
    return undefined;
  }

  set(perMinute: number): void {
    this.perMinute = perMinute;
    this.log.clear();
  }

  reset(perMinute: number): void {
    this.set(perMinute);
    this.random = seededRandom(this.seed ^ 0x9e3779b9);
  }
}
