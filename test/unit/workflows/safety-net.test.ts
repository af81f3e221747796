import { describe, expect, it } from 'vitest';
import { nextSlot, phaseOf, SafetyNetSchedule } from '../../../workflows/safety-net.js';

const BASE = 300;
const BOUND = 1800;
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

/** Runs one pass at `now`: both steps complete with the given findings. */
function pass(s: SafetyNetSchedule, now: number, found: { google?: boolean; pipedrive?: number[] } = {}) {
  const plan = s.fire(now);
  s.googlePulled(found.google ?? false);
  const completed = s.reconciled(found.pipedrive ?? []);
  return { plan, completed };
}

describe('SafetyNetSchedule', () => {
  it('starts at the bound and keeps it while passes find nothing missed', () => {
    const s = new SafetyNetSchedule('conn-a', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    expect(s.intervalSeconds()).toBe(BOUND);
    for (let i = 0; i < 5; i++) expect(pass(s, T0 + i * BOUND * 1000).completed).toBe(true);
    expect(s.intervalSeconds()).toBe(BOUND);
  });

  it('returns to the base after a miss and backs off by doubling up to the bound, never past it', () => {
    const s = new SafetyNetSchedule('conn-b', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    pass(s, T0, { pipedrive: [42] });
    expect(s.intervalSeconds()).toBe(BASE);
    const seen: number[] = [];
    for (let i = 1; i <= 8; i++) {
      pass(s, T0 + i * 60_000);
      seen.push(s.intervalSeconds());
    }
    expect(seen).toEqual([600, 1200, 1800, 1800, 1800, 1800, 1800, 1800]);
  });

  it('counts a Google pull that wrote something without any push as a miss, and one after a push as delivered', () => {
    const s = new SafetyNetSchedule('conn-c', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    s.googleDelivered();
    pass(s, T0, { google: true });
    expect(s.intervalSeconds()).toBe(BOUND);
    pass(s, T0 + 1000, { google: true });
    expect(s.intervalSeconds()).toBe(BASE);
  });

  it('does not count activities a webhook delivered since the previous reconciliation as missed', () => {
    const s = new SafetyNetSchedule('conn-d', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    s.pipedriveDelivered(7, T0);
    s.pipedriveDelivered(8, T0);
    pass(s, T0 + 1000, { pipedrive: [7, 8] });
    expect(s.intervalSeconds()).toBe(BOUND);
    // The deliveries were consumed by that reconciliation: the same ids found again without a webhook are missed.
    pass(s, T0 + 2000, { pipedrive: [7] });
    expect(s.intervalSeconds()).toBe(BASE);
  });

  it('counts a later change of a delivered activity as missed when no webhook announced it', () => {
    const s = new SafetyNetSchedule('conn-d2', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    s.pipedriveDelivered(7, T0 + 1000);
    s.fire(T0 + 60_000);
    s.googlePulled(false);
    // Changed again 30 s after its webhook; only the reconciliation saw that.
    s.reconciled([7], { 7: new Date(T0 + 31_000).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    expect(s.intervalSeconds()).toBe(BASE);
    // The change the webhook delivered (same second, Pipedrive's whole-second time) is not a miss.
    s.pipedriveDelivered(8, T0 + 100_500);
    s.fire(T0 + 120_000);
    s.googlePulled(false);
    s.reconciled([8], { 8: '2026-12-01 12:01:40' });
    expect(s.intervalSeconds()).toBe(600);
  });

  it('returns to the base when a step of the pass fails for good', () => {
    const s = new SafetyNetSchedule('conn-e', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    s.fire(T0);
    s.googlePulled(false);
    expect(s.stepFailed('reconcile')).toBe(true);
    expect(s.intervalSeconds()).toBe(BASE);
    expect(s.view().lastPassUnhealthy).toBe(true);
  });

  it('completes a pass only when both of its steps ran', () => {
    const s = new SafetyNetSchedule('conn-f', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    s.fire(T0);
    expect(s.reconciled([])).toBe(false);
    expect(s.view().passInProgress).toBe(true);
    expect(s.googlePulled(false)).toBe(true);
    expect(s.view().passInProgress).toBe(false);
  });

  it('checks the webhooks after a miss, and otherwise only when neither a delivery nor a check happened for a day', () => {
    const s = new SafetyNetSchedule('conn-g', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    expect(pass(s, T0 + 1000).plan.checkFeeds).toBe(false);
    expect(pass(s, T0 + 2000, { pipedrive: [1] }).plan.checkFeeds).toBe(false);
    expect(pass(s, T0 + 3000).plan.checkFeeds).toBe(true);
    expect(pass(s, T0 + 4000).plan.checkFeeds).toBe(false);
    const day = 24 * 3600 * 1000;
    s.pipedriveDelivered(null, T0 + day / 2);
    expect(pass(s, T0 + day).plan.checkFeeds).toBe(false);
    expect(pass(s, T0 + day / 2 + day).plan.checkFeeds).toBe(true);
  });

  it('keeps the bound at least the base (a user interval above 30 minutes is its own bound)', () => {
    const s = new SafetyNetSchedule('conn-h', { baseSeconds: 3600, boundSeconds: BOUND }, null, T0);
    expect(s.intervalSeconds()).toBe(3600);
    pass(s, T0, { pipedrive: [3] });
    expect(s.intervalSeconds()).toBe(3600);
  });

  it('survives continue-as-new: the next run goes on from the carried state', () => {
    const a = new SafetyNetSchedule('conn-i', { baseSeconds: BASE, boundSeconds: BOUND }, null, T0);
    pass(a, T0, { pipedrive: [3] });
    pass(a, T0 + 1000);
    a.pipedriveDelivered(9, T0 + 2000);
    const b = new SafetyNetSchedule('conn-i', { baseSeconds: BASE, boundSeconds: BOUND }, a.state(), T0 + 3000);
    expect(b.intervalSeconds()).toBe(600);
    pass(b, T0 + 4000, { pipedrive: [9] });
    expect(b.intervalSeconds()).toBe(1200);
  });
});

describe('pass slots', () => {
  it('puts the next pass at most one interval ahead, on the connection’s own phase', () => {
    const interval = BOUND * 1000;
    for (const id of ['conn-1', 'conn-2', 'conn-3']) {
      const phase = phaseOf(id);
      for (const now of [T0, T0 + 1, T0 + 777_777, T0 + interval * 3.5]) {
        const next = nextSlot(now, interval, phase);
        expect(next).toBeGreaterThan(now);
        expect(next - now).toBeLessThanOrEqual(interval);
        expect((((next - phase * interval) % interval) + interval) % interval).toBeCloseTo(0, 3);
      }
    }
  });

  it('fires again exactly one interval after a pass that ran on its slot', () => {
    const interval = BASE * 1000;
    const slot = nextSlot(T0, interval, phaseOf('conn-x'));
    expect(nextSlot(slot, interval, phaseOf('conn-x'))).toBe(slot + interval);
  });

  it('spreads 10,000 connections evenly over the interval (deterministic hash of the id)', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(phaseOf(`conn-${i.toString(16).padStart(8, '0')}`) * 10)]++;
    expect(phaseOf('conn-42')).toBe(phaseOf('conn-42'));
    for (const n of buckets) {
      expect(n).toBeGreaterThan(880);
      expect(n).toBeLessThan(1120);
    }
  });
});
