/**
 * Graceful shutdown of the web service: once `close()` starts (SIGTERM in production) no new request is taken,
 * requests in flight finish, and no delivery is answered 200 without being stored — whichever side of the
 * shutdown it falls on.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { startHttpServer } from '../../client/http/server.js';
import { silentLogger } from '../../lib/logger.js';
import { rawRequest } from '../support/raw-http.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let h: Harness;
let user: SyncUser;
let basic: string;

beforeAll(async () => {
  h = await startHarness({ feeds: true });
  user = await h.connectUser();
  const creds = await eventually(() =>
    loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'webhook').then((c) => c ?? undefined),
  );
  basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const body = (id: string) =>
  JSON.stringify(pipedriveWebhook({ entityId: 1, delivery: id, changeSource: 'app', data: { id: 1 } }));

async function isStored(id: string): Promise<boolean> {
  const { rows } = await h.stack.db.query('SELECT 1 FROM webhook_inbox WHERE connection_id = $1 AND delivery_id = $2', [
    user.connectionId,
    id,
  ]);
  return rows.length === 1;
}

describe('web service shutdown', () => {
  it('finishes a delivery in flight when close() starts, and acknowledges nothing it did not store', async () => {
    const web = await startHttpServer({ db: h.stack.db, sync: h.sync, secrets: h.deps.secrets, log: silentLogger });
    const slowId = `slow-${randomUUID()}`;
    const text = body(slowId);
    const head =
      `POST /webhooks/pipedrive/${user.connectionId} HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n`;
    // Headers and half the body now, the rest after close() has begun: this request is in flight throughout.
    const slow = rawRequest(web.url, [head + text.slice(0, 20), text.slice(20)], { gapMs: 400, timeoutMs: 10_000 });
    const burstIds = Array.from({ length: 20 }, (_, i) => `burst-${i}-${randomUUID()}`);
    const burst = burstIds.map((id) =>
      fetch(`${web.url}/webhooks/pipedrive/${user.connectionId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: body(id),
      })
        .then((r) => r.status)
        .catch(() => null),
    );
    await new Promise((r) => setTimeout(r, 150));
    const closing = web.close();
    const late = await fetch(`${web.url}/webhooks/pipedrive/${user.connectionId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: body(`late-${randomUUID()}`),
    })
      .then((r) => r.status)
      .catch(() => null);
    const [slowAnswer, burstStatuses] = await Promise.all([slow, Promise.all(burst)]);
    await closing;

    expect(slowAnswer.status).toBe(200);
    expect(await isStored(slowId)).toBe(true);
    for (const [i, status] of burstStatuses.entries()) {
      if (status === 200) expect(await isStored(burstIds[i]!), burstIds[i]).toBe(true);
    }
    // After close() began, a new request is refused (connection refused or 503), never accepted.
    expect(late === null || late === 503).toBe(true);
  });
});
