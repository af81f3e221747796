/**
 * A delivery accepted while Temporal is down is stored, acknowledged, and relayed once Temporal is back.
 * This file runs its own Temporal dev server (the shared one cannot be stopped) and no other HTTP server:
 * every relay loop serves all connections, so another server's loop would relay these rows too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { saveCredentials, upsertConnection } from '../../adapters/store/connections.js';
import { createPool } from '../../adapters/store/pool.js';
import { SecretBox } from '../../lib/secret-box.js';
import { pruneRelayed, storeDelivery, type InboxRow } from '../../adapters/store/webhook-inbox.js';
import { inboxRetentionFromEnv, startInboxRelay } from '../../client/http/inbox-relay.js';
import { silentLogger } from '../../lib/logger.js';
import { startHttpServer } from '../../client/http/server.js';
import { SyncClient } from '../../client/sync-client.js';
import { freePort } from '../../scripts/provision/free-port.js';
import { startDevServer, type DevServer } from '../../scripts/provision/temporal-server.js';
import { workflowIdFor } from '../../workflows/names.js';
import { connectStack, eventually, type Stack } from '../../testing/stack.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

let stack: Stack;
beforeAll(async () => {
  stack = await connectStack();
});
afterAll(async () => {
  await stack.close();
});

function delivery(id: string, entityId = 1) {
  return pipedriveWebhook({ entityId, delivery: id, changeSource: 'app', data: { id: entityId } });
}

describe('deliveries while Temporal is down', () => {
  let server: DevServer | undefined;
  let dir: string;

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores deliveries accepted while Temporal is stopped and relays them after it comes back', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'temporal-down-'));
    const port = await freePort();
    const dbFilename = path.join(dir, 'temporal.db');
    server = await startDevServer({ port, dbFilename });
    const connection = await Connection.connect({ address: server.address });
    const sync = new SyncClient(new Client({ connection }), 'temporal-down');
    const secrets = new SecretBox([{ id: 'k', key: Buffer.alloc(32, 7) }]);
    const connectionId = `down-${Date.now()}`;
    await upsertConnection(stack.db, { id: connectionId });
    await saveCredentials(stack.db, secrets, connectionId, 'webhook', { username: 'u', password: 'p' });
    const http = await startHttpServer({
      db: stack.db,
      sync,
      secrets,
      log: silentLogger,
      relayIntervalMs: 200,
    });
    try {
      await server.stop();
      server = undefined;
      const auth = `Basic ${Buffer.from('u:p').toString('base64')}`;
      for (const id of ['down-1', 'down-2']) {
        const res = await fetch(`${http.url}/webhooks/pipedrive/${connectionId}`, {
          method: 'POST',
          body: JSON.stringify(delivery(id)),
          headers: { authorization: auth, 'content-type': 'application/json' },
        });
        expect(res.status).toBe(200);
      }
      const pending = await stack.db.query('SELECT relayed_at FROM webhook_inbox WHERE connection_id = $1', [
        connectionId,
      ]);
      expect(pending.rows.map((r) => r.relayed_at)).toEqual([null, null]);

      server = await startDevServer({ port, dbFilename });
      await eventually(
        async () => {
          const { rows } = await stack.db.query('SELECT relayed_at FROM webhook_inbox WHERE connection_id = $1', [
            connectionId,
          ]);
          return rows.every((r) => r.relayed_at !== null) ? true : undefined;
        },
        30_000,
        'the relay after Temporal is back',
      );
      const history = await sync.client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
      const signalled = (history.events ?? [])
        .filter((e) => e.workflowExecutionSignaledEventAttributes)
        .map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
      expect(signalled).toEqual(['pipedriveChanged', 'pipedriveChanged']);
    } finally {
      await http.close();
      await connection.close();
    }
  });
});

/** The signals the user's workflow received, by name (history: what Temporal really got). */
async function signalsIn(client: Client, connectionId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.workflowExecutionSignaledEventAttributes)
    .map((e) => e.workflowExecutionSignaledEventAttributes!.signalName!);
}

describe('exactly one signal per accepted delivery', () => {
  it('1,000 concurrent copies of one delivery, across two web processes with racing relay loops, signal once', async () => {
    const secrets = new SecretBox([{ id: 'k', key: Buffer.alloc(32, 9) }]);
    const connectionId = `once-${Date.now()}`;
    await upsertConnection(stack.db, { id: connectionId });
    await saveCredentials(stack.db, secrets, connectionId, 'webhook', { username: 'u', password: 'p' });
    // Two web processes: each its own pool, its own Temporal client and a relay loop ticking as fast as it can.
    const servers = await Promise.all(
      [0, 1].map(async () => {
        const db = createPool(inject('databaseUrl'), { max: 10 });
        const sync = new SyncClient(stack.client, `no-worker-${connectionId}`);
        const http = await startHttpServer({ db, sync, secrets, log: silentLogger, relayIntervalMs: 5 });
        return { db, http };
      }),
    );
    try {
      const auth = `Basic ${Buffer.from('u:p').toString('base64')}`;
      const body = JSON.stringify(delivery('one-delivery'));
      const statuses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          fetch(`${servers[i % 2]!.http.url}/webhooks/pipedrive/${connectionId}`, {
            method: 'POST',
            body,
            headers: { authorization: auth, 'content-type': 'application/json' },
          }).then(async (res) => {
            await res.arrayBuffer();
            return res.status;
          }),
        ),
      );
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      await expect
        .poll(async () => {
          const { rows } = await stack.db.query('SELECT relayed_at FROM webhook_inbox WHERE connection_id = $1', [
            connectionId,
          ]);
          return rows.map((r) => r.relayed_at !== null);
        })
        .toEqual([true]);
      // Let every relay loop run a few more rounds: a late double signal would show up now.
      await new Promise((r) => setTimeout(r, 500));
      expect(await signalsIn(stack.client, connectionId)).toEqual(['pipedriveChanged']);
    } finally {
      for (const s of servers) {
        await s.http.close();
        await s.db.end();
      }
    }
  });
});

type InboxMeta = InboxRow['meta'];

describe('inbox retention', () => {
  async function storeAged(connectionId: string, id: string, relayedDaysAgo: number | null) {
    const { claimed } = await storeDelivery(stack.db, connectionId, delivery(id).meta as InboxMeta);
    await stack.db.query(
      `UPDATE webhook_inbox SET claimed_until = NULL, received_at = now() - make_interval(days => $2),
         relayed_at = CASE WHEN $3::int IS NULL THEN NULL ELSE now() - make_interval(days => $3::int) END
       WHERE id = $1`,
      [claimed!.id, relayedDaysAgo ?? 30, relayedDaysAgo],
    );
  }
  async function deliveryIds(connectionId: string): Promise<string[]> {
    const { rows } = await stack.db.query<{ delivery_id: string }>(
      'SELECT delivery_id FROM webhook_inbox WHERE connection_id = $1 ORDER BY delivery_id',
      [connectionId],
    );
    return rows.map((r) => r.delivery_id);
  }

  it('prunes relayed rows past the retention in bounded batches, and keeps recent and unrelayed ones', async () => {
    const connectionId = `prune-${Date.now()}`;
    for (const id of ['old-1', 'old-2', 'old-3']) await storeAged(connectionId, id, 8);
    await storeAged(connectionId, 'recent', 1);
    await storeAged(connectionId, 'never-relayed', null);
    const week = 7 * 24 * 3600;
    // Two batches of one row each: one call prunes no more than that.
    expect(await pruneRelayed(stack.db, week, 1, 2)).toBe(2);
    expect(await pruneRelayed(stack.db, week, 1, 2)).toBe(1);
    expect(await pruneRelayed(stack.db, week, 1, 2)).toBe(0);
    expect(await deliveryIds(connectionId)).toEqual(['never-relayed', 'recent']);
    // What is kept still recognises a redelivery.
    expect((await storeDelivery(stack.db, connectionId, delivery('recent').meta as InboxMeta)).isNew).toBe(false);
  });

  it('the relay loop prunes on its own', async () => {
    const connectionId = `prune-loop-${Date.now()}`;
    await storeAged(connectionId, 'old', 2);
    await storeAged(connectionId, 'fresh', 0);
    const relay = startInboxRelay(
      { db: stack.db, sync: new SyncClient(stack.client, 'prune-loop'), log: silentLogger },
      50,
      { retentionSeconds: 24 * 3600, pruneEveryMs: 60_000 },
    );
    try {
      await expect.poll(() => deliveryIds(connectionId)).toEqual(['fresh']);
    } finally {
      await relay.stop();
    }
  });

  it('takes its retention from WEBHOOK_INBOX_RETENTION_HOURS: 7 days by default, and refuses less than an hour', () => {
    expect(inboxRetentionFromEnv({}).retentionSeconds).toBe(7 * 24 * 3600);
    expect(inboxRetentionFromEnv({ WEBHOOK_INBOX_RETENTION_HOURS: '48' }).retentionSeconds).toBe(48 * 3600);
    for (const bad of ['0.5', '-1', 'a week']) {
      expect(() => inboxRetentionFromEnv({ WEBHOOK_INBOX_RETENTION_HOURS: bad })).toThrow(
        /WEBHOOK_INBOX_RETENTION_HOURS must be a number of hours >= 1/,
      );
    }
  });
});
