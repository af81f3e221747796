import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BatchReport } from '../../../activities/index.js';
import { Pacer } from '../../../workflows/pacer.js';

const T0 = Date.parse('2026-06-01T10:00:00Z');

function batch(googleRequests: number, rateLimited = 0): BatchReport {
  return {
    counts: { found: 0, pending: 0, done: 0, skipped: 0, excluded: 0, failed: 0 } as BatchReport['counts'],
    written: googleRequests,
    googleRequests,
    rateLimited,
    failures: [],
  };
}

describe('Pacer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('aims at 95% of the quota in batches of 2.5% of it (1 to 100)', () => {
    expect(new Pacer(600)).toMatchObject({ target: 570, batchSize: 15 });
    expect(new Pacer(10)).toMatchObject({ batchSize: 1 });
    expect(new Pacer(100_000)).toMatchObject({ batchSize: 100 });
  });

  it('spaces batches on an ideal timeline: the time a batch took is not added to the pause', () => {
    const pacer = new Pacer(600);
    // 57 requests at 570/minute: the next batch is due 6 s after this one started.
    vi.setSystemTime(T0 + 2_000);
    expect(pacer.after(batch(57), T0)).toBe(4_000);
    // The next batch started on time and took 1 s: due 6 s after its start again.
    vi.setSystemTime(T0 + 7_000);
    expect(pacer.after(batch(57), T0 + 6_000)).toBe(5_000);
  });

  it('lets a late batch catch up by at most half an interval (no burst after a stall)', () => {
    const pacer = new Pacer(600);
    expect(pacer.after(batch(57), T0)).toBe(6_000);
    // The next batch starts a minute late: it catches up half an interval, so the one after is due 3 s after it.
    const lateStart = T0 + 66_000;
    vi.setSystemTime(lateStart);
    expect(pacer.after(batch(57), lateStart)).toBe(3_000);
  });

  it('backs off after a rate limit (2 s, doubling to a minute) and lowers the rate by 30%', () => {
    const pacer = new Pacer(600);
    expect(pacer.after(batch(15, 1), T0)).toBe(2_000);
    expect(pacer.state.ratePerMinute).toBeCloseTo(570 * 0.7);
    expect(pacer.after(batch(15, 1), T0)).toBe(4_000);
    for (let i = 0; i < 10; i++) pacer.after(batch(15, 1), T0);
    expect(pacer.state.backoffMs).toBe(60_000);
    // Never below 5% of the quota.
    expect(pacer.state.ratePerMinute).toBe(30);
  });

  it('raises the rate by 5% per clean batch back up to the target', () => {
    const pacer = new Pacer(600, { ratePerMinute: 300, backoffMs: 8_000 });
    pacer.after(batch(15), T0);
    expect(pacer.state).toMatchObject({ ratePerMinute: 315, backoffMs: 0 });
    for (let i = 0; i < 50; i++) pacer.after(batch(15), T0);
    expect(pacer.state.ratePerMinute).toBe(570);
  });

  it('continues from the state it carried over continue-as-new', () => {
    const first = new Pacer(600);
    first.after(batch(57), T0);
    const next = new Pacer(600, first.state);
    vi.setSystemTime(T0 + 6_000);
    expect(next.after(batch(57), T0 + 6_000)).toBe(6_000);
  });
});
