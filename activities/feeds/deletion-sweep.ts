/**
 * When the deletion sweep runs (activities/feeds/reconcile.ts). Pipedrive never lists deleted activities in
 * `updated_since`, so a deletion whose webhook was lost is only found by asking for every linked activity by id:
 * 10 tokens per 100 links. The sweep adapts as the safety net does:
 *
 * - a sweep that found nothing doubles the interval, from the base (`PIPEDRIVE_DELETION_SWEEP_SECONDS`, default an
 *   hour) up to the bound (`PIPEDRIVE_DELETION_SWEEP_BOUND_SECONDS`, default a day);
 * - a sweep that found a deletion no webhook removed (the feed loses deletions) returns it to the base.
 *
 * The bound is the guarantee: a deletion whose webhook was lost waits at most the bound plus one safety-net
 * interval (the sweep runs inside a pass) before its event goes. Pure, so it is unit-tested without a clock.
 */

/** A level this high means "at the bound" for any base (2^20 hours is a century). */
const TOP_LEVEL = 20;

export interface DeletionSweepConfig {
  baseSeconds: number;
  boundSeconds: number;
}

/** The interval a sweep at `level` waits for: base × 2^level, never beyond the bound (nor below the base). */
export function sweepIntervalSeconds(level: number, cfg: DeletionSweepConfig): number {
  const bound = Math.max(cfg.baseSeconds, cfg.boundSeconds);
  return Math.min(bound, cfg.baseSeconds * 2 ** Math.min(Math.max(0, level), TOP_LEVEL));
}

/** Whether a pass at `nowMs` sweeps: always without a previous sweep, else once the interval has passed. */
export function sweepDue(lastSweepAt: string | null, level: number, nowMs: number, cfg: DeletionSweepConfig): boolean {
  if (!lastSweepAt) return true;
  return nowMs - Date.parse(lastSweepAt) >= sweepIntervalSeconds(level, cfg) * 1000;
}

/** The level after a sweep: back to the base after a find, one doubling further after a sweep that found nothing. */
export function levelAfterSweep(level: number, foundDeletions: number): number {
  return foundDeletions > 0 ? 0 : Math.min(TOP_LEVEL, Math.max(0, level) + 1);
}
