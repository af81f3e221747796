/**
 * The settings page's calendar picker lists every writable calendar of a user with more calendars than one
 * `calendarList.list` page holds (Google pages at 100 by default, 250 at most).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieHeader, signInWithGoogle } from '../../testing/google-sign-in.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ web: true, googleQuotaPerMinute: 100_000 });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const base = () => h.http!.url;

const signIn = (email: string) => signInWithGoogle(base(), email);

describe('GET /api/me/calendars', () => {
  it('lists all writable calendars of a user with 261 of them, across calendarList pages', async () => {
    const email = 'many.calendars@example.com';
    h.google.control.createUser({ email });
    // 260 own calendars + the primary = 261 writable; 15 shared read-only ones the picker must leave out.
    for (let i = 0; i < 260; i++) h.google.control.createCalendar(email, { summary: `Team ${i}` });
    const other = 'colleague@example.com';
    h.google.control.createUser({ email: other });
    for (let i = 0; i < 15; i++) {
      const shared = h.google.control.createCalendar(other, { summary: `Read only ${i}` }) as { id: string };
      h.google.control.createCalendar(email, { summary: `Read only ${i}`, id: shared.id }, 'reader');
    }
    const jar = await signIn(email);
    h.google.control.resetStats();

    const res = await fetch(`${base()}/api/me/calendars`, { headers: { cookie: cookieHeader(jar) } });
    expect(res.status).toBe(200);
    const calendars = (await res.json()) as { id: string; summary: string; primary: boolean }[];
    expect(calendars).toHaveLength(261);
    expect(new Set(calendars.map((c) => c.id)).size).toBe(261);
    expect(calendars.filter((c) => c.primary).map((c) => c.id)).toEqual([email]);
    expect(calendars.some((c) => c.summary.startsWith('Read only'))).toBe(false);
    expect(calendars.filter((c) => c.summary.startsWith('Team '))).toHaveLength(260);
    // Two pages of 250 at most, not three of Google's default 100.
    expect(h.google.control.stats().requests.byOperation['calendarList.list']).toBe(2);
  });
});
