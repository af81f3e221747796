import { describe, expect, it } from 'vitest';
import { levelAfterSweep, sweepDue, sweepIntervalSeconds } from '../../../activities/feeds/deletion-sweep.js';

const cfg = { baseSeconds: 3600, boundSeconds: 24 * 3600 };
const at = (isoBase: string, plusSeconds: number) => Date.parse(isoBase) + plusSeconds * 1000;
const last = '2026-12-01T00:00:00.000Z';

describe('deletion sweep schedule', () => {
  it('doubles from the base up to the bound while sweeps find nothing', () => {
    const intervals: number[] = [];
    let level = 0;
    for (let i = 0; i < 8; i++) {
      intervals.push(sweepIntervalSeconds(level, cfg));
      level = levelAfterSweep(level, 0);
    }
    expect(intervals).toEqual([3600, 7200, 14_400, 28_800, 57_600, 86_400, 86_400, 86_400]);
  });

  it('returns to the base after a sweep that found a deletion', () => {
    expect(levelAfterSweep(5, 1)).toBe(0);
    expect(sweepIntervalSeconds(levelAfterSweep(5, 3), cfg)).toBe(3600);
  });

  it('is due once its interval has passed, and always without a previous sweep', () => {
    expect(sweepDue(null, 7, at(last, 0), cfg)).toBe(true);
    expect(sweepDue(last, 1, at(last, 7199), cfg)).toBe(false);
    expect(sweepDue(last, 1, at(last, 7200), cfg)).toBe(true);
  });

  it('never waits longer than the bound, however high the level', () => {
    expect(sweepDue(last, 1000, at(last, 24 * 3600 - 1), cfg)).toBe(false);
    expect(sweepDue(last, 1000, at(last, 24 * 3600), cfg)).toBe(true);
  });

  it('keeps a bound below the base from making it more frequent than the base, and a zero base sweeps every pass', () => {
    expect(sweepIntervalSeconds(3, { baseSeconds: 600, boundSeconds: 60 })).toBe(600);
    expect(sweepDue(last, 4, at(last, 0), { baseSeconds: 0, boundSeconds: 86_400 })).toBe(true);
  });
});
