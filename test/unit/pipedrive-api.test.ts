/**
 * The sync's Pipedrive transport against the Pipedrive emulator over real HTTP: what each method sends and
 * returns, and how every kind of failure is classified for Temporal.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PipedriveApi } from '../../adapters/pipedrive/client.js';
import type { PipedriveApiOptions } from '../../adapters/pipedrive/client.js';
import { PIPEDRIVE_FAILURE_TYPES, rateLimitInfo } from '../../adapters/pipedrive/errors.js';
import type { RateLimitDetails } from '../../adapters/pipedrive/errors.js';
import { startPipedriveEmulator } from '../../emulators/pipedrive/index.js';
import type { CreatedUser, PipedriveEmulator } from '../../emulators/pipedrive/index.js';

const DEFAULT_LIMITS = { burstLimitPer2s: 10_000, dailyTokenBudget: 1_000_000 };

let emu: PipedriveEmulator;
let companyId: number;
let user: CreatedUser;
let api: PipedriveApi;
let userCount = 0;

beforeAll(async () => {
  emu = await startPipedriveEmulator(DEFAULT_LIMITS);
  companyId = emu.control.createCompany({ name: 'Acme' }).companyId;
  user = newUser();
  api = tokenApi(user);
});
afterAll(() => emu.close());

/** A user of its own, so its activities, burst window and tokens do not mix with other tests'. */
function newUser(): CreatedUser {
  userCount++;
  return emu.control.createUser({ companyId, name: `User ${userCount}`, email: `u${userCount}@acme.test` });
}

function tokenApi(u: CreatedUser, extra: Partial<PipedriveApiOptions> = {}): PipedriveApi {
  return new PipedriveApi({ apiDomain: emu.url, auth: { kind: 'api-token', token: u.apiToken }, ...extra });
}

function oauthApi(u: CreatedUser, extra: Partial<PipedriveApiOptions> = {}): PipedriveApi {
  return new PipedriveApi({
    apiDomain: emu.url,
    auth: { kind: 'oauth', ...u.oauth, tokenUrl: `${emu.oauthUrl}/oauth/token` },
    ...extra,
  });
}

async function revoke(token: string): Promise<void> {
  const res = await fetch(`${emu.oauthUrl}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(200);
}

/** The ApplicationFailure a call rejects with (fails the test if it resolves or rejects with anything else). */
async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

function detailsOf(f: ApplicationFailure): Record<string, unknown> {
  return f.details?.[0] as Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fullActivity = {
  subject: 'Quarterly review',
  type: 'meeting',
  due_date: '2031-03-04',
  due_time: '09:30',
  duration: '01:15',
  busy: false,
  public_description: 'Agenda: numbers',
  location: { value: 'Berlin HQ, Room 4' },
  attendees: [{ email: 'bob@example.com' }, { email: 'carol@example.com' }],
  note: 'internal note',
};

describe('activities', () => {
  it('creates, reads and updates an activity with every mapped field, attendees included', async () => {
    const created = await api.createActivity(fullActivity);
    // Written as HH:MM, read back as API v2 answers: HH:MM:SS.
    const hms = (t: string) => `${t}:00`;
    const expected = {
      ...fullActivity,
      due_time: hms(fullActivity.due_time),
      duration: hms(fullActivity.duration),
      location: expect.objectContaining(fullActivity.location),
      attendees: fullActivity.attendees.map((a) => expect.objectContaining(a)),
      owner_id: user.userId,
    };
    expect(created).toMatchObject(expected);
    expect(await api.getActivity(created.id)).toMatchObject(expected);

    const changes = {
      subject: 'Quarterly review (moved)',
      due_date: '2031-03-05',
      due_time: '14:00',
      duration: '00:30',
      busy: true,
      public_description: 'Agenda: forecast',
      location: { value: 'Hamburg' },
      attendees: [{ email: 'dave@example.com' }],
      note: 'changed note',
    };
    const updated = await api.updateActivity(created.id, changes);
    const expectedAfter = {
      ...changes,
      due_time: hms(changes.due_time),
      duration: hms(changes.duration),
      type: 'meeting',
      location: expect.objectContaining(changes.location),
      attendees: [expect.objectContaining({ email: 'dave@example.com' })],
    };
    expect(updated).toMatchObject(expectedAfter);
    expect(await api.getActivity(created.id)).toMatchObject(expectedAfter);
  });

  it('clears due_time and location when the write sends null', async () => {
    const created = await api.createActivity(fullActivity);
    const updated = await api.updateActivity(created.id, { due_time: null, location: null });
    expect(updated).toMatchObject({ due_time: null, location: null });
  });

  it('answers null for an activity deleted in Pipedrive', async () => {
    const created = await api.createActivity(fullActivity);
    emu.control.deleteActivity(created.id);
    expect(await api.getActivity(created.id)).toBeNull();
  });

  it('answers null when updating an activity that is gone', async () => {
    const created = await api.createActivity(fullActivity);
    emu.control.deleteActivity(created.id);
    expect(await api.updateActivity(created.id, { subject: 'too late' })).toBeNull();
  });

  it('deletes an activity once: true the first time, false when it is already gone', async () => {
    const created = await api.createActivity(fullActivity);
    expect(await api.deleteActivity(created.id)).toBe(true);
    expect(await api.deleteActivity(created.id)).toBe(false);
    expect(emu.control.getActivity(created.id)).toMatchObject({ is_deleted: true });
  });

  it('pages through all activities with nextCursor until it is null', async () => {
    const owner = newUser();
    const own = tokenApi(owner);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await own.createActivity({ ...fullActivity, subject: `A${i}` })).id);

    const seen: number[] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | undefined;
    do {
      const page = await own.listActivities({ owner_id: owner.userId, limit: 2, sort_by: 'id', cursor });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((a) => a.id));
      cursors.push(page.nextCursor);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(cursors).toHaveLength(3);
    expect(cursors.at(-1)).toBeNull();
  });

  it('lists attendees with each activity', async () => {
    const owner = newUser();
    const own = tokenApi(owner);
    await own.createActivity(fullActivity);
    const { data } = await own.listActivities({ owner_id: owner.userId });
    expect(data[0]?.attendees?.map((a) => a.email)).toEqual(['bob@example.com', 'carol@example.com']);
  });

  it('lists only activities updated since the given time', async () => {
    const owner = newUser();
    const own = tokenApi(owner);
    const before = await own.createActivity({ ...fullActivity, subject: 'before' });
    await sleep(1100); // update_time has second resolution
    const since = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const after = await own.createActivity({ ...fullActivity, subject: 'after' });
    const { data } = await own.listActivities({ owner_id: owner.userId, updated_since: since });
    expect(data.map((a) => a.id)).toEqual([after.id]);
    expect(data.map((a) => a.id)).not.toContain(before.id);
  });

  it('filters by done', async () => {
    const owner = newUser();
    const own = tokenApi(owner);
    const open = await own.createActivity(fullActivity);
    const closed = await own.createActivity(fullActivity);
    emu.control.updateActivity(closed.id, { done: true });
    const { data } = await own.listActivities({ owner_id: owner.userId, done: false });
    expect(data.map((a) => a.id)).toEqual([open.id]);
  });
});

describe('linked records and v1', () => {
  it('reads the deal, person and organization an activity links to', async () => {
    const org = emu.control.createOrganization({ userId: user.userId, name: 'Globex' });
    const person = emu.control.createPerson({
      userId: user.userId,
      name: 'Bob Builder',
      org_id: org.id as number,
      emails: [{ value: 'bob@globex.test', primary: true, label: 'work' }],
      phones: [{ value: '+49 30 1234', primary: true, label: 'work' }],
    });
    const deal = emu.control.createDeal({
      userId: user.userId,
      title: 'Big deal',
      person_id: person.id as number,
      org_id: org.id as number,
    });
    expect(await api.getDeal(deal.id as number)).toEqual({
      id: deal.id,
      title: 'Big deal',
      person_id: person.id,
      org_id: org.id,
    });
    expect(await api.getPerson(person.id as number)).toEqual({
      id: person.id,
      name: 'Bob Builder',
      emails: [{ value: 'bob@globex.test' }],
      phones: [{ value: '+49 30 1234' }],
    });
    expect(await api.getOrganization(org.id as number)).toEqual({ id: org.id, name: 'Globex' });
  });

  it('answers null for a deal, person or organization that does not exist', async () => {
    expect(await api.getDeal(987_654)).toBeNull();
    expect(await api.getPerson(987_654)).toBeNull();
    expect(await api.getOrganization(987_654)).toBeNull();
  });

  it('reads the current user through v1', async () => {
    expect(await api.getCurrentUser()).toMatchObject({
      id: user.userId,
      name: 'User 1',
      email: 'u1@acme.test',
      company_id: companyId,
      company_domain: expect.any(String),
    });
  });

  it('lists the activity types with key, name and active flag', async () => {
    const types = await api.listActivityTypes();
    expect(types).toContainEqual({ key_string: 'task', name: expect.any(String), active_flag: true });
    expect(types.map((t) => t.key_string)).toEqual(expect.arrayContaining(['call', 'meeting', 'task']));
  });

  it('creates, lists and deletes a webhook; deleting it again is not an error', async () => {
    const hook = await api.createWebhook({
      subscription_url: 'https://sync.example.com/webhooks/pipedrive',
      event_action: '*',
      event_object: 'activity',
      http_auth_user: 'pd',
      http_auth_password: 'hook-secret',
      version: '2.0',
      name: 'calendar-sync activity.*',
    });
    expect(hook).toEqual({ id: expect.any(Number) });
    expect(await api.listWebhooks()).toContainEqual({
      id: hook.id,
      subscription_url: 'https://sync.example.com/webhooks/pipedrive',
      event_action: '*',
      event_object: 'activity',
      is_active: true,
    });
    await api.deleteWebhook(hook.id);
    expect((await api.listWebhooks()).map((w) => w.id)).not.toContain(hook.id);
    await expect(api.deleteWebhook(hook.id)).resolves.toBeUndefined();
  });

  it('reports every HTTP call with its method, route template, status and duration', async () => {
    const calls: { method: string; route: string; status: number; ms: number }[] = [];
    const observed = tokenApi(user, { onRequest: (c) => calls.push(c) });
    await observed.getActivity(987_654);
    await observed.getCurrentUser();
    expect(calls).toEqual([
      { method: 'GET', route: '/api/v2/activities/:id', status: 404, ms: expect.any(Number) },
      { method: 'GET', route: '/api/v1/users/me', status: 200, ms: expect.any(Number) },
    ]);
  });
});

describe('failure classification', () => {
  it('exports the five failure types', () => {
    expect([...PIPEDRIVE_FAILURE_TYPES].sort()).toEqual([
      'PipedriveAuthFailed',
      'PipedriveBudgetSpent',
      'PipedriveRateLimited',
      'PipedriveRequestRejected',
      'PipedriveUnavailable',
    ]);
  });

  it('turns a burst 429 into a retryable PipedriveRateLimited that waits until the 2 s window resets', async () => {
    const own = tokenApi(newUser());
    emu.control.setRateLimits({ burstLimitPer2s: 1 });
    try {
      await own.getActivity(987_654);
      const f = await failureOf(own.getActivity(987_654));
      expect(f.type).toBe('PipedriveRateLimited');
      expect(f.nonRetryable).toBe(false);
      const d = detailsOf(f) as unknown as RateLimitDetails;
      expect(d).toMatchObject({ status: 429, scope: 'burst', remaining: 0, limit: 1 });
      // x-ratelimit-reset is whole seconds until the oldest request leaves the 2 s window: 1 or 2.
      expect([1000, 2000]).toContain(f.nextRetryDelay);
      expect(d.retryAfterMs).toBe(f.nextRetryDelay);
      expect(f.message).toContain('0/1');
    } finally {
      emu.control.setRateLimits(DEFAULT_LIMITS);
    }
  });

  it("turns an exhausted daily budget into PipedriveBudgetSpent that waits until the budget's reset", async () => {
    const own = tokenApi(newUser());
    emu.control.setRateLimits({ dailyTokenBudget: 1 });
    try {
      // Spends what is left of the budget (earlier tests of this company may have spent it already).
      await own.getActivity(1).catch(() => undefined);
      const f = await failureOf(own.listActivities({}));
      const midnight = new Date();
      midnight.setUTCHours(24, 0, 0, 0);
      const untilMidnight = midnight.getTime() - Date.now();
      expect(f.type).toBe('PipedriveBudgetSpent');
      expect(f.nonRetryable).toBe(false);
      expect(detailsOf(f)).toMatchObject({ scope: 'daily', dailyRemaining: 0 });
      expect(Math.abs((f.nextRetryDelay as number) - untilMidnight)).toBeLessThan(5000);
      expect(f.message).toMatch(/daily API budget spent/);
    } finally {
      emu.control.setRateLimits(DEFAULT_LIMITS);
    }
  });

  it('pauses every later call under the same budget until it returns, without sending them', async () => {
    const u = newUser();
    const key = `test-budget-${u.userId}`;
    const told: string[] = [];
    const first = tokenApi(u, { budgetKey: key, onBudgetSpent: (at) => void told.push(at) });
    const second = tokenApi(u, { budgetKey: key });
    emu.control.setRateLimits({ dailyTokenBudget: 1, budgetPeriodMs: 3000 });
    try {
      await first.getActivity(1);
      const spent = await failureOf(first.getActivity(2));
      expect(detailsOf(spent)).toMatchObject({ scope: 'daily' });
      expect(told).toHaveLength(1);
      const sent = emu.control.stats().apiCalls['GET /api/v2/activities/:id'];
      const paused = await failureOf(second.getActivity(3));
      expect(paused.type).toBe('PipedriveBudgetSpent');
      expect(paused.nonRetryable).toBe(false);
      expect(paused.message).toMatch(/paused until/);
      expect(paused.nextRetryDelay as number).toBeGreaterThan(0);
      expect(paused.nextRetryDelay as number).toBeLessThanOrEqual(3000);
      expect(emu.control.stats().apiCalls['GET /api/v2/activities/:id']).toBe(sent);
      // Once the (short) budget period is over, calls go out again.
      await new Promise((r) => setTimeout(r, paused.nextRetryDelay as number));
      emu.control.setRateLimits({ dailyTokenBudget: 1000 });
      expect(await second.getActivity(987_655)).toBeNull();
    } finally {
      emu.control.setRateLimits({ ...DEFAULT_LIMITS, budgetPeriodMs: 86_400_000 });
    }
  });

  it('reads the documented headers: x-daily-requests-left 0 means the daily budget, which returns at the retry-after', () => {
    // The burst window still has room; the daily budget does not.
    const headers = new Headers({
      'x-ratelimit-limit': '80',
      'x-ratelimit-remaining': '79',
      'x-ratelimit-reset': '2',
      'x-daily-requests-left': '0',
      'retry-after': '3600',
    });
    expect(rateLimitInfo(headers)).toMatchObject({ scope: 'daily', retryAfterMs: 3_600_000, dailyRemaining: 0 });
  });

  it('waits until the next UTC midnight for a spent daily budget when no retry-after is given', () => {
    const now = Date.UTC(2030, 0, 1, 23, 0, 0);
    const headers = new Headers({ 'x-ratelimit-remaining': '5', 'x-daily-requests-left': '0' });
    expect(rateLimitInfo(headers, '', now)).toMatchObject({
      scope: 'daily',
      retryAfterMs: 3_600_000,
      resumeAt: '2030-01-02T00:00:00.000Z',
    });
  });

  it('falls back to 2 s when a 429 carries no rate-limit headers', () => {
    expect(rateLimitInfo(new Headers())).toMatchObject({ scope: 'burst', retryAfterMs: 2000 });
  });

  it('turns an injected 500 into a retryable PipedriveUnavailable without its own retry delay', async () => {
    emu.control.setFaults({ errorRates: { 500: 1 } });
    try {
      const f = await failureOf(api.getActivity(1));
      expect(f.type).toBe('PipedriveUnavailable');
      expect(f.nonRetryable).toBe(false);
      expect(f.nextRetryDelay).toBeUndefined();
      expect(detailsOf(f)).toMatchObject({ status: 500, error: 'Internal server error' });
    } finally {
      emu.control.setFaults({});
    }
  });

  it('turns a request that outlives the timeout into a retryable PipedriveUnavailable', async () => {
    emu.control.setFaults({ latencyMs: 400 });
    try {
      const f = await failureOf(tokenApi(user, { timeoutMs: 100 }).getActivity(1));
      expect(f.type).toBe('PipedriveUnavailable');
      expect(f.nonRetryable).toBe(false);
      expect(detailsOf(f)).toMatchObject({ status: 0, error: 'no answer within 100 ms' });
    } finally {
      emu.control.setFaults({});
    }
  });

  it('turns a refused connection into a retryable PipedriveUnavailable', async () => {
    const gone = await startPipedriveEmulator();
    const url = gone.url;
    await gone.close();
    const f = await failureOf(
      new PipedriveApi({ apiDomain: url, auth: { kind: 'api-token', token: user.apiToken } }).getActivity(1),
    );
    expect(f.type).toBe('PipedriveUnavailable');
    expect(f.nonRetryable).toBe(false);
    expect(detailsOf(f)).toMatchObject({ status: 0 });
  });

  it('turns an invalid due_date (400) into a non-retryable PipedriveRequestRejected with the status and error', async () => {
    const f = await failureOf(api.createActivity({ ...fullActivity, due_date: '2031-02-30' }));
    expect(f.type).toBe('PipedriveRequestRejected');
    expect(f.nonRetryable).toBe(true);
    expect(detailsOf(f)).toMatchObject({ status: 400, error: expect.stringContaining('due_date') });
    expect(f.message).toContain('400');
    expect(f.message).toContain("due_date '2031-02-30'");
  });

  it('turns a 401 with an API token into a non-retryable PipedriveAuthFailed', async () => {
    const bad = new PipedriveApi({ apiDomain: emu.url, auth: { kind: 'api-token', token: 'not-a-valid-token-123' } });
    const f = await failureOf(bad.getCurrentUser());
    expect(f.type).toBe('PipedriveAuthFailed');
    expect(f.nonRetryable).toBe(true);
    expect(detailsOf(f)).toMatchObject({ status: 401 });
  });

  it('never puts the API token into a failure message or details, even when Pipedrive echoes it', async () => {
    const token = user.apiToken;
    const failures = [
      // The emulator quotes an invalid due_date in its 400 message: here that value is the token itself.
      await failureOf(api.createActivity({ ...fullActivity, due_date: token })),
      await failureOf(
        new PipedriveApi({ apiDomain: emu.url, auth: { kind: 'api-token', token: `${token}x` } }).getCurrentUser(),
      ),
    ];
    for (const f of failures) {
      const text = [f.message, JSON.stringify(f.details), f.stack ?? '', String(f.cause ?? '')].join('\n');
      expect(text).not.toContain(token);
      expect(text).not.toMatch(/x-api-token|api_token=/i);
    }
    expect(failures[0]!.message).toContain('[redacted]');
  });
});

describe('OAuth', () => {
  it('refreshes a revoked access token once, hands the new tokens to onTokens and retries the request', async () => {
    const u = newUser();
    await revoke(u.oauth.accessToken);
    const onTokens = vi.fn();
    const calls: string[] = [];
    const oauth = oauthApi(u, { onTokens, onRequest: (c) => calls.push(`${c.method} ${c.route} ${c.status}`) });

    expect(await oauth.getCurrentUser()).toMatchObject({ id: u.userId });
    expect(onTokens).toHaveBeenCalledTimes(1);
    const tokens = onTokens.mock.calls[0]![0] as { accessToken: string; refreshToken: string; expiresAt: number };
    expect(tokens.accessToken).not.toBe(u.oauth.accessToken);
    expect(tokens.refreshToken).toBe(u.oauth.refreshToken);
    expect(tokens.expiresAt).toBeGreaterThan(Date.now());
    expect(calls).toEqual(['GET /api/v1/users/me 401', 'POST /oauth/token 200', 'GET /api/v1/users/me 200']);

    // The new access token is used from now on: no second refresh.
    await oauth.listActivityTypes();
    expect(onTokens).toHaveBeenCalledTimes(1);
  });

  it('shares one refresh among concurrent requests that hit the same expired token', async () => {
    const u = newUser();
    await revoke(u.oauth.accessToken);
    const onTokens = vi.fn();
    const oauth = oauthApi(u, { onTokens });
    const results = await Promise.all([oauth.getActivity(987_654), oauth.getCurrentUser(), oauth.listWebhooks()]);
    expect(results[1]).toMatchObject({ id: u.userId });
    expect(onTokens).toHaveBeenCalledTimes(1);
  });

  it('gives up with a non-retryable PipedriveAuthFailed when the refresh token is revoked too', async () => {
    const u = newUser();
    await revoke(u.oauth.refreshToken); // also revokes its access tokens
    const onTokens = vi.fn();
    const f = await failureOf(oauthApi(u, { onTokens }).getCurrentUser());
    expect(f.type).toBe('PipedriveAuthFailed');
    expect(f.nonRetryable).toBe(true);
    expect(onTokens).not.toHaveBeenCalled();
    const text = [f.message, JSON.stringify(f.details)].join('\n');
    for (const secret of [u.oauth.accessToken, u.oauth.refreshToken, u.oauth.clientSecret])
      expect(text).not.toContain(secret);
  });

  it('gives up with PipedriveAuthFailed when the refreshed token is rejected as well', async () => {
    const u = newUser();
    await revoke(u.oauth.accessToken);
    // A token URL that answers with a token Pipedrive does not know.
    const fakeTokenServer = await startPipedriveEmulator();
    try {
      const other = fakeTokenServer.control.createUser({
        companyId: fakeTokenServer.control.createCompany({ name: 'Other' }).companyId,
        name: 'O',
        email: 'o@other.test',
      });
      const onTokens = vi.fn();
      const api2 = new PipedriveApi({
        apiDomain: emu.url,
        auth: {
          kind: 'oauth',
          ...other.oauth,
          accessToken: u.oauth.accessToken,
          tokenUrl: `${fakeTokenServer.oauthUrl}/oauth/token`,
        },
        onTokens,
      });
      const f = await failureOf(api2.getCurrentUser());
      expect(onTokens).toHaveBeenCalledTimes(1);
      expect(f.type).toBe('PipedriveAuthFailed');
      expect(f.nonRetryable).toBe(true);
      expect(detailsOf(f)).toMatchObject({ status: 401 });
    } finally {
      await fakeTokenServer.close();
    }
  });
});
