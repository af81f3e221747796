/**
 * Disconnect forgets the connection's credentials: after the admin API's disconnect, no Google token, Pipedrive
 * token or webhook password is left, and a webhook signed with the old password is refused like any
 * unauthenticated delivery — it stores nothing and starts no workflow.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { AdminApiClient } from '../../client/admin/api-client.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

const ADMIN_TOKEN = randomBytes(24).toString('hex');
let h: Harness;
let admin: AdminApiClient;

beforeAll(async () => {
  h = await startHarness({ feeds: true, adminToken: ADMIN_TOKEN });
  admin = new AdminApiClient({ url: h.http!.url, token: ADMIN_TOKEN });
});
afterAll(async () => {
  await h?.close();
});

function delivery(id: string) {
  return pipedriveWebhook({ entityId: 1, delivery: id, changeSource: 'app', data: { id: 1 } });
}

async function postWebhook(connectionId: string, authorization: string, id: string): Promise<number> {
  const res = await fetch(`${h.http!.url}/webhooks/pipedrive/${connectionId}`, {
    method: 'POST',
    body: JSON.stringify(delivery(id)),
    headers: { authorization, 'content-type': 'application/json' },
  });
  await res.arrayBuffer();
  return res.status;
}

describe('disconnect through the admin API', () => {
  it('wipes every credential, and a later webhook with the old password starts nothing', async () => {
    const user = await h.connectUser();
    const creds = await eventually(() =>
      loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'webhook').then((c) => c ?? undefined),
    );
    const basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    await h.settled(user.connectionId);

    const r = await admin.disconnect(user.connectionId);
    expect(r.status?.state).toBe('disconnected');
    const handle = h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId));
    const ended = await eventually(async () => {
      const d = await handle.describe();
      return d.status.name === 'COMPLETED' ? d : undefined;
    });
    const { rows } = await h.stack.db.query('SELECT provider FROM connection_credentials WHERE connection_id = $1', [
      user.connectionId,
    ]);
    expect(rows).toEqual([]);
    for (const provider of ['google', 'pipedrive', 'webhook'] as const) {
      expect(await loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, provider)).toBeNull();
    }

    const inboxBefore = await h.stack.db.query(
      'SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1',
      [user.connectionId],
    );
    const afterDisconnect = await postWebhook(user.connectionId, basic, 'after-disconnect');
    const unauthenticated = await postWebhook('no-such-connection', basic, 'after-disconnect');
    expect(afterDisconnect).toBeGreaterThanOrEqual(400);
    expect(afterDisconnect).toBe(unauthenticated);
    const inboxAfter = await h.stack.db.query('SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1', [
      user.connectionId,
    ]);
    expect(inboxAfter.rows[0].n).toBe(inboxBefore.rows[0].n);
    const now = await handle.describe();
    expect({ status: now.status.name, runId: now.runId }).toEqual({ status: 'COMPLETED', runId: ended.runId });
  });
});
