/** The pace of an upload's batches, kept under the user's Google quota. Pure but for the clock (`Date.now`). */
import type { BatchReport } from '../activities/index.js';

export interface PacerState {
  /** Google requests per minute aimed at now. */
  ratePerMinute: number;
  /** The pause after the latest rate-limit answer (0 while Google is happy). */
  backoffMs: number;
  /** When the next batch is due on the ideal timeline (epoch ms; null before the first batch). */
  nextAt?: number | null;
}

/**
 * Spaces the batches so Google sees at most `rate` requests per minute. Aims at 95% of the quota (the live sync
 * keeps ~5% for itself). Google's window is rolling, so a batch may add its whole size on top of the rate in any
 * 60 s: batches are kept to 2.5% of the quota, which keeps the peak under it. A rate-limit answer pauses
 * (2 s, doubling up to a minute) and lowers the rate by 30%; clean batches raise it back by 5% each.
 */
export class Pacer {
  readonly target: number;
  readonly batchSize: number;
  state: PacerState;

  constructor(
    readonly quotaPerMinute: number,
    carried?: PacerState,
  ) {
    this.target = quotaPerMinute * 0.95;
    this.batchSize = Math.max(1, Math.min(100, Math.floor(quotaPerMinute * 0.025)));
    this.state = carried ?? { ratePerMinute: this.target, backoffMs: 0 };
  }

  /**
   * How long to wait before the next batch, given the one that started at `startedAt`. Batches are due on an
   * ideal timeline rather than "a pause after each batch", so the time a batch and its timer take does not add
   * up into a slower pace; a batch that starts late catches up by at most half an interval, which keeps the peak
   * in any rolling minute under rate + 1.5 batches (≤ 98.75% of the quota; no burst after a stall).
   */
  after(report: BatchReport, startedAt: number): number {
    if (report.rateLimited > 0) {
      const backoffMs = Math.min(60_000, Math.max(2_000, this.state.backoffMs * 2));
      this.state = {
        ratePerMinute: Math.max(this.quotaPerMinute * 0.05, this.state.ratePerMinute * 0.7),
        backoffMs,
        nextAt: Date.now() + backoffMs,
      };
      return backoffMs;
    }
    const ratePerMinute = Math.min(this.target, this.state.ratePerMinute * 1.05);
    const interval = (report.googleRequests * 60_000) / ratePerMinute;
    const plannedStart = Math.max(this.state.nextAt ?? startedAt, startedAt - interval / 2);
    const nextAt = plannedStart + interval;
    this.state = { ratePerMinute, backoffMs: 0, nextAt };
    return Math.max(0, nextAt - Date.now());
  }
}
