/**
 * The HTTP ingress refuses anything it cannot trust — clearly, without signalling the workflow and without
 * writing anything but a log line — and never loses a delivery it accepted, even while Temporal is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../activities/store/connections.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../support/stack.js';
import { startHarness, type Harness, type SyncUser } from '../support/sync-harness.js';

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
});
afterAll(async () => {
  await h.close();
});

function delivery(id: string, entityId = 1) {
  return {
    meta: { action: 'change', entity: 'activity', entity_id: String(entityId), id, change_source: 'app' },
    data: { id: entityId },
    previous: null,
  };
}

async function post(pathname: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${h.http!.url}${pathname}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, body: await res.text() };
}

async function signalsReceived(connectionId: string): Promise<number> {
  const history = await h.stack.client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

async function inboxRows(): Promise<number> {
  const { rows } = await h.stack.db.query('SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1', [
    user.connectionId,
  ]);
  return rows[0].n;
}

describe('ingress security', () => {
  const pd = () => `/webhooks/pipedrive/${user.connectionId}`;

  it('rejects every untrustworthy request with a clear 4xx, no signal and nothing stored but a log line', async () => {
    await h.settled(user.connectionId);
    const signals = await signalsReceived(user.connectionId);
    const rows = await inboxRows();
    const logBefore = h.logLines.length;
    const wrongCreds = `Basic ${Buffer.from('sync-x:guess').toString('base64')}`;
    const channel = (await h.sync.status(user.connectionId)).channel!;

    const cases: [string, Promise<{ status: number; body: string }>, number][] = [
      ['no credentials', post(pd(), JSON.stringify(delivery('a')), {}), 401],
      ['wrong credentials', post(pd(), JSON.stringify(delivery('b')), { authorization: wrongCreds }), 401],
      ['malformed JSON', post(pd(), '{"meta": ', { authorization: basic }), 400],
      [
        'not a v2 payload',
        post(pd(), JSON.stringify({ event: 'updated.activity', current: {} }), { authorization: basic }),
        400,
      ],
      [
        'oversized body',
        post(pd(), JSON.stringify({ ...delivery('c'), data: { blob: 'x'.repeat(400 * 1024) } }), {
          authorization: basic,
        }),
        413,
      ],
      [
        'unknown connection',
        post('/webhooks/pipedrive/nobody', JSON.stringify(delivery('d')), { authorization: basic }),
        404,
      ],
      ['push without channel headers', post('/webhooks/google', '', {}), 400],
      [
        'push from an unknown channel',
        post('/webhooks/google', '', {
          'x-goog-channel-id': 'forged',
          'x-goog-resource-state': 'exists',
          'x-goog-channel-token': 'x',
        }),
        404,
      ],
      [
        'push with a forged token',
        post('/webhooks/google', '', {
          'x-goog-channel-id': channel.channelId,
          'x-goog-resource-state': 'exists',
          'x-goog-channel-token': 'forged',
        }),
        403,
      ],
      [
        'push without a token',
        post('/webhooks/google', '', { 'x-goog-channel-id': channel.channelId, 'x-goog-resource-state': 'exists' }),
        403,
      ],
    ];
    for (const [what, response, expected] of cases) {
      const res = await response;
      expect(res.status, what).toBe(expected);
      expect(JSON.parse(res.body).error, what).toBeTruthy();
    }
    expect(await inboxRows()).toBe(rows);
    expect(await signalsReceived(user.connectionId)).toBe(signals);
    expect(h.logLines.length - logBefore).toBeGreaterThanOrEqual(cases.length - 1); // every refusal logged (413 is refused before routing)
  });

  it('never writes a credential into its log', async () => {
    const creds = (await loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'webhook'))!;
    await post(pd(), '{"meta": ', { authorization: basic });
    await post(pd(), JSON.stringify(delivery('e')), {
      authorization: `Basic ${Buffer.from(`${creds.username}:nope`).toString('base64')}`,
    });
    const log = h.logLines.join('\n');
    expect(log).not.toContain(creds.password);
    expect(log).not.toContain(basic.slice(6));
  });

  it('acknowledges a redelivery of the same meta.id without signalling twice', async () => {
    const before = await signalsReceived(user.connectionId);
    const first = await post(pd(), JSON.stringify(delivery('same-id')), { authorization: basic });
    const again = await post(pd(), JSON.stringify(delivery('same-id')), { authorization: basic });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(JSON.parse(again.body)).toEqual({ ok: true, duplicate: true });
    await eventually(async () => ((await signalsReceived(user.connectionId)) >= before + 1 ? true : undefined));
    expect(await signalsReceived(user.connectionId)).toBe(before + 1);
  });

  it('acknowledges but does not relay a change to another user’s activity', async () => {
    const before = await signalsReceived(user.connectionId);
    const theirs = { ...delivery('someone-else'), data: { id: 9, owner_id: user.pipedriveUserId + 1 } };
    const res = await post(pd(), JSON.stringify(theirs), { authorization: basic });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ ignored: 'not-owned-by-connected-user' });
    const handedOver = {
      ...delivery('handed-over'),
      data: { id: 9, owner_id: user.pipedriveUserId + 1 },
      previous: { owner_id: user.pipedriveUserId },
    };
    const handed = await post(pd(), JSON.stringify(handedOver), { authorization: basic });
    expect(handed.status).toBe(200);
    // Under load the signal may miss the ingress's deadline and go through the relay a moment later.
    await eventually(async () => ((await signalsReceived(user.connectionId)) >= before + 1 ? true : undefined));
    expect(await signalsReceived(user.connectionId)).toBe(before + 1);
  });
});
