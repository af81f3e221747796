import { OAuth2Client } from 'google-auth-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGoogleEmulator } from '../../../emulators/google/index.js';
import { calendarClient, expectGoogleError, oauthClient, startHarness, timed, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.emu.close();
});

const slot = timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z');

describe('authentication', () => {
  it('answers 401 authError in Google shape when the Authorization header is missing', async () => {
    const res = await fetch(`${h.emu.url}/calendar/v3/users/me/calendarList`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        code: 401,
        message: 'Invalid Credentials',
        errors: [
          {
            domain: 'global',
            reason: 'authError',
            message: 'Invalid Credentials',
            locationType: 'header',
            location: 'Authorization',
          },
        ],
        status: 'UNAUTHENTICATED',
      },
    });
  });

  it('answers 401 authError for an unknown access token through the official client', async () => {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: 'ya29.not-a-real-token' });
    const body = await expectGoogleError(calendarClient(h.emu, auth).calendarList.list(), 401, 'authError');
    expect(body.error.errors[0]!.location).toBe('Authorization');
  });

  it('answers 401 for an expired access token, and OAuth2Client refreshes through the emulator token endpoint and retries', async () => {
    const bare = new OAuth2Client();
    bare.setCredentials({ access_token: h.user.accessToken });
    h.emu.control.expireAccessTokens('alice@example.com');
    await expectGoogleError(calendarClient(h.emu, bare).events.list({ calendarId: 'primary' }), 401, 'authError');

    // Stored tokens without expiry_date: the client learns of the expiry from the 401, refreshes, retries.
    const auth = oauthClient(h.emu, h.user);
    auth.setCredentials({ access_token: h.user.accessToken, refresh_token: h.user.refreshToken });
    const refreshed: string[] = [];
    auth.on('tokens', (t) => refreshed.push(t.access_token ?? ''));
    const res = await calendarClient(h.emu, auth).events.list({ calendarId: 'primary' });
    expect(res.status).toBe(200);
    expect(refreshed.length).toBe(1);
    expect(refreshed[0]).not.toBe(h.user.accessToken);
    expect(auth.credentials.access_token).toBe(refreshed[0]);
    expect(h.emu.control.stats().authFailures).toBe(2);
  });

  it('refreshes proactively when the stored expiry_date has passed', async () => {
    const auth = oauthClient(h.emu, h.user);
    auth.setCredentials({ access_token: 'stale', refresh_token: h.user.refreshToken, expiry_date: Date.now() - 1000 });
    const res = await calendarClient(h.emu, auth).calendarList.list();
    expect(res.status).toBe(200);
    expect(auth.credentials.access_token).toMatch(/^ya29\./);
    expect(auth.credentials.expiry_date).toBeGreaterThan(Date.now() + 3500_000);
  });

  it('rejects an unknown refresh token with invalid_grant', async () => {
    const auth = oauthClient(h.emu, h.user);
    auth.setCredentials({ refresh_token: '1//bogus' });
    const err = (await auth.getAccessToken().catch((e: unknown) => e)) as {
      response?: { status: number; data: { error: string } };
    };
    expect(err.response?.status).toBe(400);
    expect(err.response?.data.error).toBe('invalid_grant');
  });

  it('runs the authorization-code flow: consent auto-approves the login_hint user and redirects with code and state', async () => {
    h.emu.control.createUser({ email: 'bob@example.com' });
    const auth = oauthClient(h.emu, h.user);
    const url = auth.generateAuthUrl({
      access_type: 'offline',
      scope: ['https://www.googleapis.com/auth/calendar'],
      state: 'xyz-123',
      login_hint: 'bob@example.com',
    });
    expect(url.startsWith(h.emu.authUrl)).toBe(true);
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('http://127.0.0.1:1/callback');
    expect(location.searchParams.get('state')).toBe('xyz-123');
    const code = location.searchParams.get('code')!;
    const { tokens } = await auth.getToken(code);
    expect(tokens.access_token).toMatch(/^ya29\./);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.token_type).toBe('Bearer');
    auth.setCredentials(tokens);
    const info = await auth.request<{ email: string }>({ url: `${h.emu.url}/oauth2/v3/userinfo` });
    expect(info.data.email).toBe('bob@example.com');
    const primary = await calendarClient(h.emu, auth).calendars.get({ calendarId: 'primary' });
    expect(primary.data.id).toBe('bob@example.com');
    // Codes are single-use.
    await expect(auth.getToken(code)).rejects.toMatchObject({ response: { status: 400 } });
  });

  it('auto-approves the first user when no login_hint is given', async () => {
    const auth = oauthClient(h.emu, h.user);
    const res = await fetch(auth.generateAuthUrl({ scope: ['https://www.googleapis.com/auth/calendar'] }), {
      redirect: 'manual',
    });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const { tokens } = await auth.getToken(code);
    auth.setCredentials(tokens);
    const info = await auth.request<{ email: string }>({ url: `${h.emu.url}/oauth2/v2/userinfo` });
    expect(info.data.email).toBe('alice@example.com');
  });
});

describe('quota and injected faults', () => {
  it('answers over-quota requests with 403 or 429 rate-limit errors from usageLimits, without Retry-After', async () => {
    h.emu.control.setQuota(3);
    for (let i = 0; i < 3; i++) expect((await h.cal.calendarList.list()).status).toBe(200);
    const seen: Array<[number, string]> = [];
    for (let i = 0; i < 12; i++) {
      const err = (await h.cal.calendarList.list().catch((e: unknown) => e)) as {
        response: {
          status: number;
          headers: Headers | Record<string, string>;
          data: { error: { errors: Array<{ domain: string; reason: string }> } };
        };
      };
      const e = err.response.data.error.errors[0]!;
      expect(e.domain).toBe('usageLimits');
      seen.push([err.response.status, e.reason]);
      const headers = err.response.headers;
      const retryAfter = headers instanceof Headers ? headers.get('retry-after') : headers['retry-after'];
      expect(retryAfter ?? null).toBeNull();
    }
    for (const [status, reason] of seen) {
      expect([
        [403, 'rateLimitExceeded'],
        [403, 'userRateLimitExceeded'],
        [429, 'rateLimitExceeded'],
      ]).toContainEqual([status, reason]);
    }
    expect(new Set(seen.map((s) => s.join())).size).toBeGreaterThan(1);
    expect(h.emu.control.stats().rateLimited).toBe(12);
  });

  it('chooses the same rate-limit answers for the same seed', async () => {
    const run = async () => {
      const emu = await startGoogleEmulator({ seed: 99, quotaPerMinute: 1 });
      try {
        const u = emu.control.createUser({ email: 'q@example.com' });
        const out: number[] = [];
        for (let i = 0; i < 8; i++) {
          const r = await fetch(`${emu.url}/calendar/v3/users/me/calendarList`, {
            headers: { authorization: `Bearer ${u.accessToken}` },
          });
          const b = (await r.json()) as { error?: { errors: Array<{ reason: string }> } };
          out.push(r.status * 10 + (b.error?.errors[0]?.reason === 'userRateLimitExceeded' ? 1 : 0));
        }
        return out;
      } finally {
        await emu.close();
      }
    };
    const a = await run();
    expect(a[0]).toBe(2000);
    expect(await run()).toEqual(a);
  });

  it('counts quota per user', async () => {
    h.emu.control.setQuota(2);
    const bob = h.emu.control.createUser({ email: 'bob@example.com' });
    const bobAuth = new OAuth2Client();
    bobAuth.setCredentials({ access_token: bob.accessToken });
    const bobCal = calendarClient(h.emu, bobAuth);
    await h.cal.calendarList.list();
    await h.cal.calendarList.list();
    expect((await bobCal.calendarList.list()).status).toBe(200);
    const err = (await h.cal.calendarList.list().catch((e: unknown) => e)) as { response: { status: number } };
    expect([403, 429]).toContain(err.response.status);
  });

  it('charges a patch three quota units and a get plus an update two', async () => {
    const { data } = await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    h.emu.control.setQuota(3);
    await h.cal.events.patch({ calendarId: 'primary', eventId: data.id!, requestBody: { summary: 'a' } });
    const err = (await h.cal.events.get({ calendarId: 'primary', eventId: data.id! }).catch((e: unknown) => e)) as {
      response: { status: number };
    };
    expect([403, 429]).toContain(err.response.status);
    h.emu.control.setQuota(3);
    const { data: current } = await h.cal.events.get({ calendarId: 'primary', eventId: data.id! });
    await h.cal.events.update({ calendarId: 'primary', eventId: data.id!, requestBody: { ...current, summary: 'b' } });
    expect((await h.cal.events.get({ calendarId: 'primary', eventId: data.id! })).data.summary).toBe('b');
  });

  it('answers invalid_grant at the token endpoint once the user revoked the app (control revokeRefreshToken)', async () => {
    h.emu.control.revokeRefreshToken(h.user.email);
    const auth = oauthClient(h.emu, h.user);
    auth.setCredentials({ refresh_token: h.user.refreshToken, expiry_date: 1 });
    const err = (await auth.getAccessToken().catch((e: unknown) => e)) as {
      response?: { status: number; data: { error: string } };
    };
    expect(err.response?.status).toBe(400);
    expect(err.response?.data.error).toBe('invalid_grant');
    const stale = (await h.cal.calendarList.list().catch((e: unknown) => e)) as { response: { status: number } };
    expect(stale.response.status).toBe(401);
  });

  it('answers every request with 403 dailyLimitExceeded while the daily quota is spent', async () => {
    h.emu.control.setDailyLimitExceeded(true);
    const body = await expectGoogleError(h.cal.calendarList.list(), 403, 'dailyLimitExceeded');
    expect(body.error.errors[0]!.domain).toBe('usageLimits');
    h.emu.control.setDailyLimitExceeded(false);
    expect((await h.cal.calendarList.list()).status).toBe(200);
  });

  it('injects errors in the real shapes: 500 backendError, 503, 429 and 403 rateLimitExceeded', async () => {
    const cases: Array<[number, string, string]> = [
      [500, 'backendError', 'global'],
      [503, 'backendError', 'global'],
      [429, 'rateLimitExceeded', 'usageLimits'],
      [403, 'rateLimitExceeded', 'usageLimits'],
    ];
    for (const [status, reason, domain] of cases) {
      h.emu.control.setFaults({ seed: 3, errorRates: { [status]: 1 } });
      const body = await expectGoogleError(
        h.cal.events.insert({ calendarId: 'primary', requestBody: slot }),
        status,
        reason,
      );
      expect(body.error.errors[0]!.domain).toBe(domain);
    }
    h.emu.control.setFaults({});
    expect((await h.cal.events.insert({ calendarId: 'primary', requestBody: slot })).status).toBe(200);
    expect(h.emu.control.stats().injectedErrors).toBe(4);
    expect(h.emu.control.listEvents('alice@example.com', 'primary').length).toBe(1);
  });

  it('injects a reproducible share of errors for a given seed and rate', async () => {
    const pattern = async () => {
      h.emu.control.setFaults({ seed: 11, errorRates: { 500: 0.5 } });
      const out: number[] = [];
      for (let i = 0; i < 10; i++)
        out.push(
          await h.cal.calendarList.list().then(
            (r) => r.status,
            (e: { response: { status: number } }) => e.response.status,
          ),
        );
      return out;
    };
    const a = await pattern();
    expect(a).toContain(500);
    expect(a).toContain(200);
    expect(await pattern()).toEqual(a);
  });
});

describe('stats and control API', () => {
  it('counts API requests by route, operation and user, and resets them', async () => {
    await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    await h.cal.events.list({ calendarId: 'primary' });
    await h.cal.events.list({ calendarId: 'primary' });
    const s = h.emu.control.stats();
    expect(s.requests.byRoute['GET /calendar/v3/calendars/:calendarId/events']).toBe(2);
    expect(s.requests.byRoute['POST /calendar/v3/calendars/:calendarId/events']).toBe(1);
    expect(s.requests.byOperation['events.list']).toBe(2);
    expect(s.requests.byUser['alice@example.com']).toBe(3);
    expect(s.requests.total).toBe(3);
    h.emu.control.resetStats();
    expect(h.emu.control.stats().requests.total).toBe(0);
  });

  it('serves the control operations over HTTP under /_emulator', async () => {
    const post = (path: string, body: unknown, method = 'POST') =>
      fetch(`${h.emu.url}/_emulator${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = (await (await post('/users', { email: 'carol@example.com' })).json()) as {
      accessToken: string;
      primaryCalendarId: string;
    };
    expect(created.primaryCalendarId).toBe('carol@example.com');
    const ev = (await (
      await post('/users/carol%40example.com/calendars/primary/events', { ...slot, id: 'httpseed01' })
    ).json()) as { id: string; etag: string };
    expect(ev.id).toBe('httpseed01');
    const listed = (await (
      await fetch(`${h.emu.url}/_emulator/users/carol%40example.com/calendars/primary/events`)
    ).json()) as Array<{ id: string }>;
    expect(listed.map((e) => e.id)).toEqual(['httpseed01']);
    expect(
      (
        await fetch(`${h.emu.url}/_emulator/users/carol%40example.com/calendars/primary/events/httpseed01`, {
          method: 'DELETE',
        })
      ).status,
    ).toBe(204);
    const withDeleted = (await (
      await fetch(`${h.emu.url}/_emulator/users/carol%40example.com/calendars/primary/events?includeDeleted=true`)
    ).json()) as Array<{ status: string }>;
    expect(withDeleted.map((e) => e.status)).toEqual(['cancelled']);
    expect((await post('/quota', { perMinute: 5 }, 'PUT')).status).toBe(204);
    expect((await post('/access-tokens/expire', { email: 'carol@example.com' })).status).toBe(204);
    const r = await fetch(`${h.emu.url}/calendar/v3/users/me/calendarList`, {
      headers: { authorization: `Bearer ${created.accessToken}` },
    });
    expect(r.status).toBe(401);
    const stats = (await (await fetch(`${h.emu.url}/_emulator/stats`)).json()) as { authFailures: number };
    expect(stats.authFailures).toBe(1);
    expect((await post('/reset', {})).status).toBe(204);
    expect((await h.cal.calendarList.list().catch((e: { response: { status: number } }) => e.response)).status).toBe(
      401,
    );
  });

  it('invalidates sync tokens over HTTP so the next incremental list answers 410', async () => {
    const { data } = await h.cal.events.list({ calendarId: 'primary' });
    const res = await fetch(`${h.emu.url}/_emulator/sync-tokens/invalidate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@example.com', calendarId: 'primary' }),
    });
    expect(res.status).toBe(204);
    await expectGoogleError(
      h.cal.events.list({ calendarId: 'primary', syncToken: data.nextSyncToken! }),
      410,
      'fullSyncRequired',
    );
  });
});
