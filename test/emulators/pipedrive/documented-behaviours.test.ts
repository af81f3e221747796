/**
 * Conformance of documented Pipedrive behaviours the sync depends on: OAuth scopes per endpoint, the v2 request
 * schema's nullability, and the documented rate-limit headers with a spent daily budget. Through the official
 * `pipedrive` clients.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import type { CreatedUser, PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { clients, failure, raw, seedCompany } from './fixtures.js';

let emu: PipedriveEmulator;
let user: CreatedUser;
beforeEach(async () => {
  emu = await startPipedriveEmulator({ burstLimitPer2s: 50, dailyTokenBudget: 10_000 });
  user = seedCompany(emu).user;
});
afterEach(() => emu.close());

const hook = {
  subscription_url: 'https://example.test/hook',
  event_action: '*',
  event_object: '*',
  name: 'h',
} as const;

describe('OAuth scopes', () => {
  it('refuses calls outside the app scopes with 403 and lets API tokens do everything', async () => {
    const limited = emu.control.createUser({
      companyId: user.companyId,
      name: 'Limited',
      email: 'limited@acme.test',
      isAdmin: true,
      oauthScopes: 'base,activities:read',
    });
    const oauth = clients(emu, { accessToken: limited.oauth.accessToken });
    expect((await raw(oauth.activities).getActivities()).status).toBe(200);
    expect((await raw(oauth.users).getCurrentUser()).status).toBe(200);
    for (const call of [
      raw(oauth.activities).addActivity({ AddActivityRequest: { subject: 'x' } }),
      raw(oauth.webhooks).getWebhooks(),
      raw(oauth.webhooks).addWebhook({ AddWebhookRequest: hook }),
      raw(oauth.deals).getDeals(),
    ]) {
      const res = await failure(call);
      expect(res.status).toBe(403);
      expect(res.data).toMatchObject({ success: false, errorCode: 403 });
    }
    expect(emu.control.listActivities()).toEqual([]);
    // The same user's API token has full access.
    const token = clients(emu, { apiKey: limited.apiToken });
    expect((await raw(token.webhooks).addWebhook({ AddWebhookRequest: hook })).status).toBe(201);
  });

  it('needs admin for every webhooks call and activities:full for activity writes', async () => {
    const full = emu.control.createUser({
      companyId: user.companyId,
      name: 'Full',
      email: 'full@acme.test',
      oauthScopes: 'base,activities:full,admin',
    });
    const oauth = clients(emu, { accessToken: full.oauth.accessToken });
    expect((await raw(oauth.webhooks).addWebhook({ AddWebhookRequest: hook })).status).toBe(201);
    expect((await raw(oauth.activities).addActivity({ AddActivityRequest: { subject: 'x' } })).status).toBe(200);
  });
});

describe('v2 request nullability', () => {
  it('answers 400 for null on location, due_time and duration, and writes nothing', async () => {
    const api = raw(clients(emu, { apiKey: user.apiToken }).activities);
    const created = (await api.addActivity({ AddActivityRequest: { subject: 'x', due_date: '2030-01-01' } })).data
      .data!;
    for (const field of ['location', 'due_time', 'duration'] as const) {
      const add = await failure(api.addActivity({ AddActivityRequest: { subject: 'y', [field]: null } as never }));
      expect(add.status).toBe(400);
      expect(add.data.error).toContain(field);
      const patch = await failure(
        api.updateActivity({ id: created.id!, AddActivityRequest: { [field]: null } as never }),
      );
      expect(patch.status).toBe(400);
    }
    expect(emu.control.listActivities().map((a) => a.id)).toEqual([created.id]);
  });

  it('accepts outcome null, which the schema marks nullable', async () => {
    const api = raw(clients(emu, { apiKey: user.apiToken }).activities);
    const res = await api.addActivity({ AddActivityRequest: { subject: 'x', outcome: null } });
    expect(res.status).toBe(200);
  });
});

describe('documented rate-limit headers and the daily budget', () => {
  it('sends x-ratelimit-limit/-remaining/-reset and x-daily-requests-left, and none of the x-daily-ratelimit-* headers', async () => {
    const res = await raw(clients(emu, { apiKey: user.apiToken }).activities).getActivities();
    expect(
      Object.keys(res.headers)
        .filter((h) => h.startsWith('x-daily') || h.startsWith('x-ratelimit'))
        .sort(),
    ).toEqual(['x-daily-requests-left', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']);
  });

  it('refuses every request, however cheap, once the budget is spent, until it resets', async () => {
    emu.control.setRateLimits({ dailyTokenBudget: 15 });
    const api = raw(clients(emu, { apiKey: user.apiToken }).activities);
    await api.getActivities(); // 10 spent, 5 left
    await api.getActivities(); // admitted with 5 left, overdraws to 20
    for (let i = 0; i < 3; i++) {
      const res = await failure(api.getActivity({ id: 1 }));
      expect(res.status).toBe(429);
      expect(res.headers['x-daily-requests-left']).toBe('0');
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
    }
    // A new day (here: a bigger budget) admits requests again.
    emu.control.setRateLimits({ dailyTokenBudget: 1000 });
    expect((await api.getActivities()).status).toBe(200);
  });
});
