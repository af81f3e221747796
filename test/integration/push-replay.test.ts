/**
 * A Google push notification counts once: replays of one message (same `X-Goog-Message-Number`), however many
 * and however concurrent, give one signal; an older number than one already accepted gives none; the resource
 * id must be the channel's. A message Temporal could not take (503) counts again when Google retries it.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertConnection } from '../../adapters/store/connections.js';
import { SecretBox } from '../../lib/secret-box.js';
import { saveChannel } from '../../adapters/store/watch-channels.js';
import { silentLogger } from '../../lib/logger.js';
import { startHttpServer, type RunningHttpServer } from '../../client/http/server.js';
import { SyncClient } from '../../client/sync-client.js';
import { freePort } from '../../scripts/provision/free-port.js';
import { workflowIdFor } from '../../workflows/names.js';
import { connectStack, type Stack } from '../../testing/stack.js';

let stack: Stack;
let http: RunningHttpServer;
const secrets = new SecretBox([{ id: 'k', key: Buffer.alloc(32, 3) }]);

beforeAll(async () => {
  stack = await connectStack();
  // No worker on this queue: the workflow's history records every signal Temporal accepted, nothing more.
  const sync = new SyncClient(stack.client, `push-replay-${randomUUID()}`);
  http = await startHttpServer({ db: stack.db, sync, secrets, log: silentLogger });
});
afterAll(async () => {
  await http?.close();
  await stack.close();
});

async function newChannel() {
  const connectionId = `push-${randomUUID().slice(0, 8)}`;
  const channelId = `ch-${randomUUID()}`;
  await upsertConnection(stack.db, { id: connectionId });
  await saveChannel(
    stack.db,
    {
      channelId,
      connectionId,
      calendarId: 'primary',
      resourceId: 'resource-1',
      expiration: new Date(Date.now() + 3_600_000).toISOString(),
      state: 'active',
    },
    'channel-token',
  );
  return { connectionId, channelId };
}

function push(
  url: string,
  channelId: string,
  messageNumber: number | null,
  opts: { state?: string; resourceId?: string | null } = {},
) {
  const headers: Record<string, string> = {
    'x-goog-channel-id': channelId,
    'x-goog-channel-token': 'channel-token',
    'x-goog-resource-state': opts.state ?? 'exists',
  };
  if (opts.resourceId !== null) headers['x-goog-resource-id'] = opts.resourceId ?? 'resource-1';
  if (messageNumber !== null) headers['x-goog-message-number'] = String(messageNumber);
  return fetch(`${url}/webhooks/google`, { method: 'POST', headers }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  }));
}

async function googleSignals(connectionId: string): Promise<number> {
  try {
    const history = await stack.client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
    return (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'googleChanged',
    ).length;
  } catch {
    return 0; // never started: nothing was signalled
  }
}

describe('google push replay', () => {
  it('the same push 50 times (concurrently) gives one signal; a later message gives the next', async () => {
    const { connectionId, channelId } = await newChannel();
    expect((await push(http.url, channelId, 1, { state: 'sync' })).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 50 }, () => push(http.url, channelId, 7)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(answers.filter((a) => a.body.ignored === 'replayed')).toHaveLength(49);
    expect(await googleSignals(connectionId)).toBe(1);

    // Numbers increase per channel but not by one; an older message than one accepted adds nothing.
    expect((await push(http.url, channelId, 5)).body).toMatchObject({ ignored: 'replayed' });
    expect((await push(http.url, channelId, 12)).body).toEqual({ ok: true });
    expect((await push(http.url, channelId, 12)).body).toMatchObject({ ignored: 'replayed' });
    expect(await googleSignals(connectionId)).toBe(2);
  });

  it('rejects a push whose resource id is missing or not the channel’s, and one without a message number', async () => {
    const { connectionId, channelId } = await newChannel();
    const wrong = await push(http.url, channelId, 3, { resourceId: 'someone-elses-calendar' });
    const missing = await push(http.url, channelId, 4, { resourceId: null });
    const noNumber = await push(http.url, channelId, null);
    expect([wrong.status, missing.status, noNumber.status]).toEqual([403, 403, 400]);
    expect(await googleSignals(connectionId)).toBe(0);
    // The rejected ones did not use up their numbers.
    expect((await push(http.url, channelId, 3)).body).toEqual({ ok: true });
    expect(await googleSignals(connectionId)).toBe(1);
  });

  it('a message answered 503 (Temporal unreachable) is signalled when Google retries it', async () => {
    const { connectionId, channelId } = await newChannel();
    // A second web process whose Temporal is gone: nothing listens on that port.
    const dead = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 500 });
    const downHttp = await startHttpServer({
      db: stack.db,
      sync: new SyncClient(new Client({ connection: dead }), 'nowhere'),
      secrets,
      log: silentLogger,
    });
    try {
      expect((await push(downHttp.url, channelId, 9)).status).toBe(503);
    } finally {
      await downHttp.close();
    }
    expect(await googleSignals(connectionId)).toBe(0);
    expect((await push(http.url, channelId, 9)).body).toEqual({ ok: true });
    expect(await googleSignals(connectionId)).toBe(1);
  });
});
