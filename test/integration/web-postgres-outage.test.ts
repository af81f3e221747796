/**
 * The web service while Postgres is away: a delivery it cannot store is answered 503 (Pipedrive and Google
 * retry) — never 200, never 500 — `/healthz` stays 200 (the process is fine), `/readyz` says 503, and
 * everything works again by itself once Postgres is back. Postgres "goes away" behind a TCP proxy that resets
 * every connection and refuses new ones; the database itself, shared with other test files, keeps running.
 */
import pg from 'pg';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { startHttpServer, type RunningHttpServer } from '../../client/http/server.js';
import { createLogger } from '../../lib/logger.js';
import { register } from '../../lib/metrics.js';
import { lineSink } from '../../testing/log-lines.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const ADMIN_TOKEN = 'metrics-admin-token-0123456789';
let h: Harness;
let user: SyncUser;
let proxy: TcpProxy;
let db: pg.Pool;
let web: RunningHttpServer;
let basic: string;
const logLines: string[] = [];

beforeAll(async () => {
  h = await startHarness({ feeds: true });
  user = await h.connectUser();
  const creds = await eventually(() =>
    loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'webhook').then((c) => c ?? undefined),
  );
  basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  const target = new URL(inject('databaseUrl'));
  proxy = await startTcpProxy(target.hostname, Number(target.port));
  target.host = `127.0.0.1:${proxy.port}`;
  db = new pg.Pool({ connectionString: target.toString(), max: 5, connectionTimeoutMillis: 2000 });
  // An idle client whose connection dies emits 'error' on the pool; the process must not die of it.
  db.on('error', () => {});
  web = await startHttpServer({
    db,
    sync: h.sync,
    secrets: h.deps.secrets,
    adminToken: ADMIN_TOKEN,
    log: createLogger({ destination: lineSink(logLines) }),
  });
}, 120_000);
afterAll(async () => {
  await web?.close();
  await proxy?.close();
  await db?.end();
  await h?.close();
});

const webhook = (id: string) =>
  fetch(`${web.url}/webhooks/pipedrive/${user.connectionId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic },
    body: JSON.stringify({
      meta: { action: 'change', entity: 'activity', entity_id: '1', id, change_source: 'app' },
      data: { id: 1 },
      previous: null,
    }),
  });

const stored = async (id: string) =>
  (
    await h.stack.db.query(
      'SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1 AND delivery_id = $2',
      [user.connectionId, id],
    )
  ).rows[0].n as number;

async function unavailableCount(source: string): Promise<number> {
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === 'calendar_sync_deliveries_total');
  const value = metric?.values.find((v) => v.labels.source === source && v.labels.result === 'unavailable');
  return Number(value?.value ?? 0);
}

describe('the web service while Postgres is down', () => {
  it('answers deliveries 503, stays alive, reports not ready, and recovers by itself', async () => {
    await h.settled(user.connectionId);
    const channel = (await h.sync.status(user.connectionId)).channel!;
    const push = () =>
      fetch(`${web.url}/webhooks/google`, {
        method: 'POST',
        headers: {
          'x-goog-channel-id': channel.channelId,
          'x-goog-resource-state': 'exists',
          'x-goog-channel-token': 'irrelevant-while-down',
        },
      });
    expect((await webhook('before-outage')).status).toBe(200);
    expect((await fetch(`${web.url}/readyz`)).status).toBe(200);
    const unavailableBefore = await unavailableCount('pipedrive');

    await proxy.cut();
    for (let i = 0; i < 5; i++) {
      const res = await webhook(`during-outage-${i}`);
      expect(res.status, await res.text()).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
    }
    expect((await push()).status).toBe(503);
    expect((await fetch(`${web.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${web.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ok: false, postgres: 'unreachable', temporal: 'ok' });
    expect(await unavailableCount('pipedrive')).toBe(unavailableBefore + 5);
    // The metrics endpoint is behind the admin token and counts what happened.
    expect((await fetch(`${web.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${web.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await metrics.text()).toMatch(/calendar_sync_deliveries_total\{source="pipedrive",result="unavailable"\}/);

    await proxy.restore();
    // Pipedrive's retry of a delivery refused during the outage is now stored and answered 200.
    await expect.poll(async () => (await webhook('during-outage-0')).status, { timeout: 20_000 }).toBe(200);
    expect(await stored('during-outage-0')).toBe(1);
    expect(await stored('during-outage-1')).toBe(0);
    await expect.poll(async () => (await fetch(`${web.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    expect(logLines.join('\n')).not.toContain(basic.slice(6));
  });
});
