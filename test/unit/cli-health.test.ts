import { describe, expect, it } from 'vitest';
import { healthLines, relativeTime, unresolvedLines } from '../../client/cli/format.js';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');
const iso = (offsetSeconds: number) => new Date(NOW + offsetSeconds * 1000).toISOString();

describe('the CLI status: sync health', () => {
  it('shows the last sync per direction, the next safety-net pass and a running resync', () => {
    expect(
      healthLines(
        {
          lastSyncedAt: { pipedriveToGoogle: iso(-180), googleToPipedrive: null },
          nextSafetyNetAt: iso(120),
          resync: { requestedAt: iso(-2), finishedAt: null, pending: ['google', 'reconcile'], failed: 0 },
        },
        NOW,
      ),
    ).toEqual([
      'Last sync    Pipedrive → Google 2026-12-01T09:57:00.000Z (3 min ago)',
      '             Google → Pipedrive never',
      'Safety net   next at 2026-12-01T10:02:00.000Z (in 2 min)',
      'Resync       asked 2026-12-01T09:59:58.000Z (just now), running (2 steps left)',
    ]);
  });

  it('shows a finished resync with the steps that failed, and no resync line before the first', () => {
    const finished = healthLines(
      {
        lastSyncedAt: { pipedriveToGoogle: iso(-7200), googleToPipedrive: iso(-30) },
        nextSafetyNetAt: null,
        resync: { requestedAt: iso(-90), finishedAt: iso(-60), pending: [], failed: 1 },
      },
      NOW,
    );
    expect(finished).toEqual([
      'Last sync    Pipedrive → Google 2026-12-01T08:00:00.000Z (2 h ago)',
      '             Google → Pipedrive 2026-12-01T09:59:30.000Z (30 s ago)',
      'Resync       asked 2026-12-01T09:58:30.000Z (2 min ago), finished 2026-12-01T09:59:00.000Z, 1 step failed (see Not synced)',
    ]);
    const none = healthLines(
      { lastSyncedAt: { pipedriveToGoogle: null, googleToPipedrive: null }, nextSafetyNetAt: null, resync: null },
      NOW,
    );
    expect(none.some((l) => l.startsWith('Resync'))).toBe(false);
  });

  it('rounds relative times for a person, both ways', () => {
    expect(relativeTime(iso(3), NOW)).toBe('just now');
    expect(relativeTime(iso(-45), NOW)).toBe('45 s ago');
    expect(relativeTime(iso(90), NOW)).toBe('in 2 min');
    expect(relativeTime(iso(-3 * 86_400), NOW)).toBe('3 d ago');
  });

  it('names the retry command for a failed item that can be retried alone, not for a Google event', () => {
    const lines = unresolvedLines(
      [
        { subject: 'activity:42', message: 'Google answered 400', firstAt: iso(-60), at: iso(-30), times: 2 },
        { subject: 'event:abc', message: 'refused', firstAt: iso(-60), at: iso(-60), times: 1 },
      ],
      'conn-1',
    );
    expect(lines).toEqual([
      'Not synced   2 items failed for good (shown until synced):',
      '  activity:42: Google answered 400 (2 times, last 2026-12-01T09:59:30.000Z; retry: calendar-sync retry conn-1 activity:42)',
      '  event:abc: refused (last 2026-12-01T09:59:00.000Z)',
    ]);
  });
});
