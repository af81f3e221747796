import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import type { CreatedUser, PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { startSlowReceiver } from '../slow-receiver.js';
import { basic, clients, failure, raw, seedCompany, sleep, startReceiver, until } from './fixtures.js';

let emu: PipedriveEmulator;
let user: CreatedUser;
let api: ReturnType<typeof clients>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let status: (n: number) => number;

beforeEach(async () => {
  emu = await startPipedriveEmulator({
    webhookRetryDelaysMs: [20, 40, 60],
    banAfterFailures: 3,
    banDurationMs: 60_000,
    webhookTimeoutMs: 500,
  });
  user = seedCompany(emu).user;
  api = clients(emu, { apiKey: user.apiToken });
  status = () => 200;
  receiver = await startReceiver((n) => status(n));
});
afterEach(async () => {
  await emu.close();
  await receiver.close();
});

async function subscribe(
  event_object: 'activity' | 'deal' | '*' = '*',
  event_action: 'create' | 'change' | 'delete' | '*' = '*',
) {
  const res = await api.webhooks.addWebhook({
    AddWebhookRequest: {
      subscription_url: receiver.url,
      event_action,
      event_object,
      name: 'sync',
      http_auth_user: 'hook',
      http_auth_password: 's3cret',
      version: '2.0',
    },
  });
  return res.data!;
}

describe('v1 webhooks API', () => {
  it('creates, lists and deletes a v2 webhook', async () => {
    const created = await subscribe('activity');
    expect(created).toMatchObject({
      subscription_url: receiver.url,
      event_object: 'activity',
      event_action: '*',
      version: '2.0',
      user_id: user.userId,
      is_active: 1,
    });
    expect((await api.webhooks.getWebhooks()).data!.map((w) => w.id)).toEqual([created.id]);
    await api.webhooks.deleteWebhook({ id: created.id! });
    expect((await api.webhooks.getWebhooks()).data).toEqual([]);
  });

  it('creates a v2 webhook when no version is given (the documented default) and rejects 1.0 with 400', async () => {
    const hooks = raw(clients(emu, { apiKey: user.apiToken }).webhooks);
    const created = await hooks.addWebhook({
      AddWebhookRequest: { subscription_url: receiver.url, event_action: '*', event_object: '*', name: 'default' },
    });
    expect(created.data.data!.version).toBe('2.0');
    const res = await failure(
      hooks.addWebhook({
        AddWebhookRequest: {
          subscription_url: receiver.url,
          event_action: '*',
          event_object: '*',
          name: 'v1',
          version: '1.0',
        },
      }),
    );
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(/2\.0/);
  });

  it('requires a name (AddWebhookRequest.name) with 400', async () => {
    const hooks = raw(clients(emu, { apiKey: user.apiToken }).webhooks);
    for (const name of [undefined, '', '  ']) {
      const res = await failure(
        hooks.addWebhook({
          AddWebhookRequest: { subscription_url: receiver.url, event_action: '*', event_object: '*', name } as never,
        }),
      );
      expect(res.status).toBe(400);
      expect(res.data.error).toMatch(/name/);
    }
    expect(emu.control.listWebhooks()).toEqual([]);
  });

  it('rejects an invalid event_object with 400', async () => {
    const res = await failure(
      raw(clients(emu, { apiKey: user.apiToken }).webhooks).addWebhook({
        AddWebhookRequest: {
          subscription_url: receiver.url,
          event_action: '*',
          event_object: 'spaceship' as never,
          name: 'x',
          version: '2.0',
        },
      }),
    );
    expect(res.status).toBe(400);
  });
});

describe('webhook delivery', () => {
  it('POSTs a v2 create payload with Basic auth and change_source api for an API write', async () => {
    await subscribe('activity');
    const created = await api.activities.addActivity({ AddActivityRequest: { subject: 'Hello' } });
    const [d] = await receiver.waitFor(1);
    expect(d!.headers.authorization).toBe(basic('hook', 's3cret'));
    expect(d!.headers['content-type']).toMatch(/application\/json/);
    expect(d!.body.meta).toMatchObject({
      action: 'create',
      entity: 'activity',
      entity_id: String(created.data!.id),
      change_source: 'api',
      company_id: String(user.companyId),
      user_id: String(user.userId),
      version: '2.0',
      attempt: 1,
    });
    expect(d!.body.meta.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(d!.body.data).toMatchObject({ id: created.data!.id, subject: 'Hello' });
    expect(d!.body.previous).toBeNull();
  });

  it('sends a change made in the web app with change_source app and the old values of changed fields in previous', async () => {
    await subscribe('activity', 'change');
    const a = emu.control.createActivity({ userId: user.userId, subject: 'Old title', note: 'same' });
    emu.control.updateActivity(a.id as number, { subject: 'New title' });
    const [d] = await receiver.waitFor(1);
    expect(d!.body.meta).toMatchObject({ action: 'change', change_source: 'app', entity_id: String(a.id) });
    expect(d!.body.data).toMatchObject({ subject: 'New title', note: 'same' });
    expect(d!.body.previous).toEqual({ subject: 'Old title', update_time: a.update_time });
  });

  it('carries activities in the webhooks v2 shape: busy_flag, custom_fields, no attendees', async () => {
    await subscribe('activity', 'create');
    emu.control.createActivity({
      userId: user.userId,
      subject: 'Call',
      busy: false,
      attendees: [{ email: 'x@y.test' }],
    });
    const [d] = await receiver.waitFor(1);
    expect(d!.body.data).toMatchObject({ subject: 'Call', busy_flag: false, custom_fields: {} });
    expect(d!.body.data).not.toHaveProperty('busy');
    expect(d!.body.data).not.toHaveProperty('attendees');
  });

  it('sends a delete with data null and the last state in previous', async () => {
    await subscribe('activity', 'delete');
    const a = await api.activities.addActivity({ AddActivityRequest: { subject: 'Bye' } });
    await api.activities.deleteActivity({ id: a.data!.id! });
    const [d] = await receiver.waitFor(1);
    expect(d!.body.meta).toMatchObject({ action: 'delete', entity: 'activity', entity_id: String(a.data!.id) });
    expect(d!.body.data).toBeNull();
    expect(d!.body.previous).toMatchObject({ id: a.data!.id, subject: 'Bye' });
  });

  it('delivers only the subscribed object and action', async () => {
    await subscribe('deal', 'create');
    emu.control.createActivity({ userId: user.userId, subject: 'ignored' });
    const deal = emu.control.createDeal({ userId: user.userId, title: 'Wanted' });
    emu.control.updateDeal(deal.id as number, { title: 'ignored change' });
    await receiver.waitFor(1);
    await sleep(100);
    expect(receiver.deliveries.map((d) => `${d.body.meta.action}.${d.body.meta.entity}`)).toEqual(['create.deal']);
  });

  it("never delivers another company's changes", async () => {
    await subscribe();
    const other = seedCompany(emu, 'Other').user;
    emu.control.createActivity({ userId: other.userId, subject: 'not yours' });
    emu.control.createActivity({ userId: user.userId, subject: 'yours' });
    await receiver.waitFor(1);
    await sleep(100);
    expect(receiver.deliveries.map((d) => d.body.data?.subject)).toEqual(['yours']);
  });

  it('retries a failed delivery after the configured delays with the same meta.id and an increasing attempt', async () => {
    await subscribe('activity');
    status = (n) => (n < 3 ? 500 : 200);
    emu.control.createActivity({ userId: user.userId, subject: 'retry me' });
    const ds = await receiver.waitFor(3);
    expect(ds.map((d) => d.body.meta.attempt)).toEqual([1, 2, 3]);
    expect(new Set(ds.map((d) => d.body.meta.id)).size).toBe(1);
    await sleep(150);
    expect(receiver.deliveries).toHaveLength(3);
    expect(emu.control.stats().webhooks).toMatchObject({ sent: 3, failed: 2, delivered: 1, retried: 2 });
  });

  it('gives up after the last retry (1 attempt + 3 retries)', async () => {
    await subscribe('activity');
    status = () => 503;
    emu.control.createActivity({ userId: user.userId, subject: 'never' });
    await receiver.waitFor(4);
    await sleep(150);
    expect(receiver.deliveries).toHaveLength(4);
    expect(emu.control.stats().webhooks).toMatchObject({ exhausted: 1, failed: 4 });
  });

  it('counts a delivery that exceeds the timeout as failed and retries it', async () => {
    await emu.close();
    emu = await startPipedriveEmulator({ webhookRetryDelaysMs: [20], webhookTimeoutMs: 50 });
    user = seedCompany(emu).user;
    api = clients(emu, { apiKey: user.apiToken });
    // This receiver answers 200, but only after 200 ms: every attempt times out.
    const hang = http.createServer((_req, res) => setTimeout(() => res.end(), 200));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    await api.webhooks.addWebhook({
      AddWebhookRequest: {
        subscription_url: `http://127.0.0.1:${port}/`,
        event_action: '*',
        event_object: '*',
        name: 'h',
        version: '2.0',
      },
    });
    emu.control.createActivity({ userId: user.userId, subject: 'slowpoke' });
    await sleep(400);
    hang.closeAllConnections();
    hang.close();
    expect(emu.control.stats().webhooks).toMatchObject({ sent: 2, failed: 2, delivered: 0, exhausted: 1 });
  });

  it('holds at most 16 deliveries per webhook in flight, queues the rest, and times each from when it is sent', async () => {
    await emu.close();
    emu = await startPipedriveEmulator({ webhookRetryDelaysMs: [], webhookTimeoutMs: 1000 });
    user = seedCompany(emu).user;
    api = clients(emu, { apiKey: user.apiToken });
    // 64 deliveries held 300 ms each: 4 rounds of 16 take 1.2 s, past the 1 s timeout, yet none times out.
    const slow = await startSlowReceiver(300);
    try {
      await api.webhooks.addWebhook({
        AddWebhookRequest: {
          subscription_url: slow.url,
          event_action: '*',
          event_object: '*',
          name: 's',
          version: '2.0',
        },
      });
      for (let i = 0; i < 64; i++) emu.control.createActivity({ userId: user.userId, subject: `burst ${i}` });
      await slow.answered(64);
      expect(slow.stats.maxOpen).toBe(16);
      expect(emu.control.stats().webhooks).toMatchObject({ sent: 64, delivered: 64, failed: 0 });
    } finally {
      await slow.close();
    }
  });

  it('bans a webhook after repeated first-attempt failures and loses the events sent during the ban', async () => {
    await subscribe('activity', 'create');
    status = () => 500;
    for (let i = 0; i < 3; i++) emu.control.createActivity({ userId: user.userId, subject: `fail ${i}` });
    await until(() => emu.control.stats().webhooks.bans === 1);
    expect(emu.control.listWebhooks()[0]!.banned_until).toBeGreaterThan(Date.now());
    status = () => 200;
    emu.control.createActivity({ userId: user.userId, subject: 'lost during ban' });
    await sleep(200);
    expect(receiver.deliveries.some((d) => d.body.data?.subject === 'lost during ban')).toBe(false);
    expect(emu.control.stats().webhooks.lostToBan).toBeGreaterThanOrEqual(1);
    expect(emu.control.stats().webhooks.bans).toBe(1);
  });

  it('loses events while a webhook is banned through the control API and delivers again after unban', async () => {
    await subscribe('activity');
    emu.control.banWebhooks(user.companyId);
    emu.control.createActivity({ userId: user.userId, subject: 'lost' });
    await sleep(50);
    expect(receiver.deliveries).toHaveLength(0);
    expect(emu.control.stats().webhooks.lostToBan).toBe(1);
    emu.control.unbanWebhooks();
    emu.control.createActivity({ userId: user.userId, subject: 'delivered' });
    const [d] = await receiver.waitFor(1);
    expect(d!.body.data?.subject).toBe('delivered');
  });

  it('drops deliveries when the fault injector says so, and counts them', async () => {
    await subscribe('activity');
    emu.control.setFaults({ delivery: { dropRate: 1 } });
    emu.control.createActivity({ userId: user.userId, subject: 'dropped' });
    await sleep(100);
    expect(receiver.deliveries).toHaveLength(0);
    expect(emu.control.stats().webhooks.dropped).toBe(1);
  });

  it('duplicates deliveries when the fault injector says so, with the same meta.id', async () => {
    await subscribe('activity');
    emu.control.setFaults({ delivery: { duplicateRate: 1 } });
    emu.control.createActivity({ userId: user.userId, subject: 'twice' });
    const ds = await receiver.waitFor(2);
    expect(ds[0]!.body.meta.id).toBe(ds[1]!.body.meta.id);
  });

  it('fires a change webhook with the old title when a deal is renamed', async () => {
    await subscribe('deal', 'change');
    const deal = await api.deals.addDeal({ AddDealRequest: { title: 'Old deal' } });
    await api.deals.updateDeal({ id: deal.data!.id!, UpdateDealRequest: { title: 'New deal' } });
    const [d] = await receiver.waitFor(1);
    expect(d!.body.meta).toMatchObject({ action: 'change', entity: 'deal', change_source: 'api' });
    expect(d!.body.previous).toEqual({ title: 'Old deal', update_time: deal.data!.update_time });
  });
});
