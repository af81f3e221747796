/**
 * When the safety net runs: the schedule of a user's safety-net passes (a Google pull and a Pipedrive
 * `updated_since` reconciliation), adapted to how well the change feeds work. Pure: every time is passed in
 * (the workflow passes its deterministic `Date.now()`), so it is unit-tested without Temporal.
 *
 * - **The bound.** Passes are never further apart than `boundSeconds` (default 30 minutes): a change both feeds
 *   missed waits at most that long (plus the pass's own time in the user's queue). Everything below only decides
 *   how much more often than that a pass runs.
 * - **Backoff while the feeds are healthy.** A pass that found nothing the feeds had not delivered doubles the
 *   interval, from `baseSeconds` (the user's `safetyIntervalSeconds`, default 5 minutes) up to the bound. A pass
 *   that found a change no delivery announced (the feeds lose changes), or whose step failed for good, returns the
 *   interval to the base. The verdict never weakens the bound: a wrong guess only costs a pass too many or too few
 *   below it.
 * - **Deliveries are the evidence.** The workflow reports every Pipedrive webhook and Google push it receives
 *   (they arrive as signals). An activity the reconciliation finds that a webhook delivered since the previous
 *   reconciliation is in flight, not missed; changes a Google pull finds after a push are the push's.
 * - **Spread.** Each connection's passes fall on slots `(k + phase) × interval` of the epoch, with a phase in
 *   [0, 1) hashed from the connection id (FNV-1a with Murmur's finalizer, not `Math.random`: stable across runs and continue-as-new). Ten
 *   thousand users started at once therefore spread their passes evenly over every interval instead of running
 *   them together.
 * - **The webhook check** (`verify-feeds`, Pipedrive's webhook list: 20 tokens) runs on a pass only after a pass
 *   that found a miss (lost webhooks are the likely cause) or when neither a webhook delivery nor a check happened
 *   for `feedCheckSeconds` (a day). Missing webhooks only cost latency; the reconciliation is what catches up.
 *
 * A new schedule starts at the bound: the workflow has just taken a fresh baseline and set up its feeds, and the
 * first pass (within the bound) tells whether they work.
 */
import { defineQuery } from '@temporalio/workflow';

export const DEFAULT_SAFETY_NET_BOUND_SECONDS = 30 * 60;
export const DEFAULT_FEED_CHECK_SECONDS = 24 * 3600;
/** Delivered activity ids remembered between two reconciliations (more: the rest count as possibly missed). */
const DELIVERED_KEPT = 2000;
/** A level this high means "at the bound" for any base (2^20 × 60 s is years). */
const TOP_LEVEL = 20;

export interface SafetyNetConfig {
  /** The shortest interval, after a miss or a failure. */
  baseSeconds: number;
  /** The longest interval: the catch-up guarantee. */
  boundSeconds: number;
  feedCheckSeconds?: number;
}

/** The pass in progress: which of its steps are still to run, and whether one found a miss or failed. */
export interface PassInProgress {
  firedAt: number;
  google: boolean;
  reconcile: boolean;
  healthy: boolean;
}

/** What one run hands the next over continue-as-new. */
export interface SafetyNetState {
  /** interval = min(bound, base × 2^level) */
  level: number;
  pass: PassInProgress | null;
  /** The latest pass found a miss or failed: the next one also checks the webhooks. */
  lastPassUnhealthy: boolean;
  /** Activity ids Pipedrive webhooks delivered since the latest reconciliation, with the latest delivery's time. */
  delivered: [id: number, at: number][];
  deliveredOverflow: boolean;
  /** Google pushes since the latest pull. */
  pushesSincePull: number;
  lastWebhookAt: number | null;
  lastFeedCheckAt: number | null;
  passes: number;
}

/** What the `safetyNet` query shows (tests, operators). */
export interface SafetyNetView {
  intervalSeconds: number;
  baseSeconds: number;
  boundSeconds: number;
  level: number;
  passes: number;
  lastPassUnhealthy: boolean;
  passInProgress: boolean;
}

export const safetyNetQuery = defineQuery<SafetyNetView | null>('safetyNet');

/** What a firing pass queues besides the Google pull and the reconciliation. */
export interface PassPlan {
  checkFeeds: boolean;
}

/** A new schedule at `now`: the workflow has just set up (or, after continue-as-new, checked) its feeds. */
export function initialSafetyNetState(now: number): SafetyNetState {
  return {
    level: TOP_LEVEL,
    pass: null,
    lastPassUnhealthy: false,
    delivered: [],
    deliveredOverflow: false,
    pushesSincePull: 0,
    lastWebhookAt: null,
    lastFeedCheckAt: now,
    passes: 0,
  };
}

/** 32-bit FNV-1a of the string, as a fraction in [0, 1). */
export function phaseOf(connectionId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i++) {
    h ^= connectionId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // MurmurHash3's finalizer: ids that differ only in their last characters land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** The first slot `(k + phase) × interval` strictly after `now` (epoch ms): at most one interval away. */
export function nextSlot(now: number, intervalMs: number, phase: number): number {
  const offset = phase * intervalMs;
  const k = Math.floor((now - offset) / intervalMs) + 1;
  return k * intervalMs + offset;
}

export class SafetyNetSchedule {
  private s: SafetyNetState;
  private readonly phase: number;

  constructor(
    connectionId: string,
    private config: SafetyNetConfig,
    carried: SafetyNetState | null | undefined,
    now: number,
  ) {
    this.s = carried
      ? { ...carried, delivered: carried.delivered.map(([id, at]) => [id, at]) }
      : initialSafetyNetState(now);
    this.phase = phaseOf(connectionId);
  }

  /** The base follows the user's setting; the bound is never below it. */
  reconfigure(config: SafetyNetConfig): void {
    this.config = config;
  }

  get bound(): number {
    return Math.max(this.config.baseSeconds, this.config.boundSeconds);
  }

  intervalSeconds(): number {
    return Math.min(this.bound, this.config.baseSeconds * 2 ** Math.min(this.s.level, TOP_LEVEL));
  }

  /** When the next pass is due, seen from `now`. */
  nextAt(now: number): number {
    return nextSlot(now, this.intervalSeconds() * 1000, this.phase);
  }

  /** A pass fires: what it runs besides the pull and the reconciliation. */
  fire(now: number): PassPlan {
    const feedCheckMs = (this.config.feedCheckSeconds ?? DEFAULT_FEED_CHECK_SECONDS) * 1000;
    const lastSign = Math.max(this.s.lastWebhookAt ?? -Infinity, this.s.lastFeedCheckAt ?? -Infinity);
    const checkFeeds = this.s.lastPassUnhealthy || now - lastSign >= feedCheckMs;
    if (checkFeeds) this.s.lastFeedCheckAt = now;
    // A pass still running (longer than an interval) absorbs this one: its verdict covers both.
    this.s.pass ??= { firedAt: now, google: true, reconcile: true, healthy: true };
    this.s.passes++;
    return { checkFeeds };
  }

  pipedriveDelivered(activityId: number | null, now: number): void {
    this.s.lastWebhookAt = now;
    if (activityId === null) return;
    const known = this.s.delivered.find(([id]) => id === activityId);
    if (known) known[1] = now;
    else if (this.s.delivered.length >= DELIVERED_KEPT) this.s.deliveredOverflow = true;
    else this.s.delivered.push([activityId, now]);
  }

  googleDelivered(): void {
    this.s.pushesSincePull++;
  }

  /**
   * A Google pull ran (any pull: each covers every change until it ran). When it is the pass's, it was a miss if
   * it wrote something that no push since the previous pull announced. Returns true when the pass completed.
   */
  googlePulled(wrote: boolean): boolean {
    const announced = this.s.pushesSincePull > 0;
    this.s.pushesSincePull = 0;
    if (!this.s.pass?.google) return false;
    this.s.pass.google = false;
    if (wrote && !announced) this.s.pass.healthy = false;
    return this.settle();
  }

  /**
   * The pass's reconciliation ran and found these activities (with Pipedrive's `update_time` where known): a miss
   * unless a webhook delivered each of them at or after its change.
   */
  reconciled(found: number[], updatedAt: Record<string, string> = {}): boolean {
    const delivered = new Map(this.s.delivered);
    // Past the ids kept, a delivery is not remembered: such an id counts as missed (a base-interval pass too many).
    const missed = found.some((id) => {
      const at = delivered.get(id);
      if (at === undefined) return true;
      const changed = parsePipedriveTime(updatedAt[id]);
      // `update_time` has whole seconds, so a change is never seen later than it happened.
      return changed !== undefined && changed > at;
    });
    this.s.delivered = [];
    this.s.deliveredOverflow = false;
    if (!this.s.pass?.reconcile) return false;
    this.s.pass.reconcile = false;
    if (missed) this.s.pass.healthy = false;
    return this.settle();
  }

  /** A step of the pass failed for good (retries exhausted): the feeds' state is unknown, back to the base. */
  stepFailed(step: 'google' | 'reconcile'): boolean {
    if (!this.s.pass?.[step]) return false;
    this.s.pass[step] = false;
    this.s.pass.healthy = false;
    return this.settle();
  }

  private settle(): boolean {
    const pass = this.s.pass!;
    if (pass.google || pass.reconcile) return false;
    this.s.level = pass.healthy ? Math.min(TOP_LEVEL, this.s.level + 1) : 0;
    this.s.lastPassUnhealthy = !pass.healthy;
    this.s.pass = null;
    return true;
  }

  state(): SafetyNetState {
    return { ...this.s, delivered: this.s.delivered.map(([id, at]) => [id, at]) };
  }

  view(): SafetyNetView {
    return {
      intervalSeconds: this.intervalSeconds(),
      baseSeconds: this.config.baseSeconds,
      boundSeconds: this.bound,
      level: this.s.level,
      passes: this.s.passes,
      lastPassUnhealthy: this.s.lastPassUnhealthy,
      passInProgress: this.s.pass !== null,
    };
  }
}

/** Pipedrive's times: RFC 3339 (API v2) or v1's `YYYY-MM-DD HH:MM:SS` (UTC); undefined when absent or unreadable. */
function parsePipedriveTime(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const ms = Date.parse(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v) ? `${v.replace(' ', 'T')}Z` : v);
  return Number.isFinite(ms) ? ms : undefined;
}
