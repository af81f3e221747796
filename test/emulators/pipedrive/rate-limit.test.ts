import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPipedriveEmulator, TOKEN_COSTS } from '../../../emulators/pipedrive/index.js';
import type { CreatedUser, PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { clients, failure, raw, seedCompany } from './fixtures.js';

let emu: PipedriveEmulator;
let user: CreatedUser;

beforeEach(async () => {
  emu = await startPipedriveEmulator({ burstLimitPer2s: 5, dailyTokenBudget: 1000 });
  user = seedCompany(emu).user;
});
afterEach(() => emu.close());

describe('rate limits', () => {
  it('stamps x-ratelimit-* and daily budget headers on every successful response', async () => {
    const res = await raw(clients(emu, { apiKey: user.apiToken }).activities).getActivities();
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('5');
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
    expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(res.headers['x-daily-requests-left']).toBe(String(1000 - 10));
  });

  it('answers 429 with rate-limit headers once the burst limit per 2 s is used up', async () => {
    const api = raw(clients(emu, { apiKey: user.apiToken }).activities);
    for (let i = 0; i < 5; i++)
      expect((await api.getActivity({ id: 1 }).catch((e: { response: { status: number } }) => e.response)).status).toBe(
        404,
      );
    const res = await failure(api.getActivities());
    expect(res.status).toBe(429);
    expect(res.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(res.data).toMatchObject({ success: false, errorCode: 429 });
    expect(emu.control.stats().rateLimited).toBe(1);
  });

  it('counts the burst limit per token, so another user of the same company is not throttled', async () => {
    const other = emu.control.createUser({ companyId: user.companyId, name: 'B', email: 'b@acme.test' });
    const mine = clients(emu, { apiKey: user.apiToken }).activities;
    for (let i = 0; i < 5; i++) await mine.getActivities({ limit: 1 });
    expect((await raw(clients(emu, { apiKey: other.apiToken }).activities).getActivities()).status).toBe(200);
  });

  it('answers 429 once the company has spent its daily token budget, per the cost table', async () => {
    emu.control.setRateLimits({ dailyTokenBudget: 25, burstLimitPer2s: 100 });
    const api = raw(clients(emu, { apiKey: user.apiToken }).activities);
    await api.getActivities(); // 10
    await api.getActivities(); // 20
    await api.addActivity({ AddActivityRequest: { subject: 'x' } }); // 25
    const res = await failure(api.getActivity({ id: 1 })); // +1 → over budget
    expect(res.status).toBe(429);
    expect(res.headers['x-daily-requests-left']).toBe('0');
    expect(emu.control.stats().tokensSpent[String(user.companyId)]).toBe(25);
  });

  it('charges 10 tokens for a list, 1 for a single read and 5 for a write', async () => {
    expect([
      TOKEN_COSTS['GET /api/v2/activities'],
      TOKEN_COSTS['GET /api/v2/activities/:id'],
      TOKEN_COSTS['POST /api/v2/activities'],
    ]).toEqual([10, 1, 5]);
    const api = clients(emu, { apiKey: user.apiToken }).activities;
    const a = await api.addActivity({ AddActivityRequest: { subject: 'x' } });
    await api.getActivity({ id: a.data!.id! });
    await api.getActivities();
    expect(emu.control.stats().tokensSpent[String(user.companyId)]).toBe(16);
    expect(emu.control.stats().apiCalls).toMatchObject({
      'POST /api/v2/activities': 1,
      'GET /api/v2/activities/:id': 1,
      'GET /api/v2/activities': 1,
    });
  });

  it('injects API errors from the fault configuration', async () => {
    emu.control.setFaults({ errorRates: { 503: 1 } });
    const res = await failure(raw(clients(emu, { apiKey: user.apiToken }).activities).getActivities());
    expect(res.status).toBe(503);
    expect(res.data).toMatchObject({ success: false });
    emu.control.setFaults({});
    expect((await raw(clients(emu, { apiKey: user.apiToken }).activities).getActivities()).status).toBe(200);
  });
});
