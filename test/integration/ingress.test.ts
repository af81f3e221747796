/**
 * The HTTP ingress refuses anything it cannot trust — clearly, without signalling the workflow and without
 * writing anything but a log line — and never loses a delivery it accepted, even while Temporal is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { workflowIdFor } from '../../workflows/names.js';
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
});
afterAll(async () => {
  await h.close();
});

function delivery(id: string, entityId = 1) {
  return pipedriveWebhook({ entityId, delivery: id, changeSource: 'app', data: { id: entityId } });
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
        401,
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

  it('carries the delivery’s request id into the workflow signal, as its log lines show it', async () => {
    const logFrom = h.logLines.length;
    const res = await post(pd(), JSON.stringify(delivery('traced-delivery')), { authorization: basic });
    expect(res.status).toBe(200);
    const stored = h.logLines
      .slice(logFrom)
      .map((l) => JSON.parse(l) as { msg?: string; reqId?: string })
      .find((l) => l.msg === 'webhook stored');
    expect(stored?.reqId).toMatch(/^[0-9a-f-]{36}$/);
    const signalled = await eventually(async () => {
      const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
      for (const e of history.events ?? []) {
        const input = e.workflowExecutionSignaledEventAttributes?.input?.payloads;
        if (!input?.length) continue;
        const [payload] = await h.stack.payloadCodec.decode([input[0]!]);
        const change = JSON.parse(Buffer.from(payload!.data!).toString('utf8')) as PipedriveChange;
        if (change.meta?.id === 'traced-delivery') return change;
      }
      return undefined;
    });
    expect(signalled.requestId).toBe(stored!.reqId);
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

describe('ingress hardening', () => {
  const pd = () => `/webhooks/pipedrive/${user.connectionId}`;

  async function storedMeta(deliveryId: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await h.stack.db.query(
      'SELECT meta FROM webhook_inbox WHERE connection_id = $1 AND delivery_id = $2',
      [user.connectionId, deliveryId],
    );
    return rows[0]?.meta;
  }

  it('answers an unknown connection id exactly like a wrong password (no way to probe which ids exist)', async () => {
    const wrong = `Basic ${Buffer.from('sync-x:guess').toString('base64')}`;
    const unknown = await fetch(`${h.http!.url}/webhooks/pipedrive/c-does-not-exist`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: JSON.stringify(delivery('probe-1')),
    });
    const badPassword = await fetch(`${h.http!.url}${pd()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: wrong },
      body: JSON.stringify(delivery('probe-2')),
    });
    expect(unknown.status).toBe(badPassword.status);
    expect(await unknown.text()).toBe(await badPassword.text());
    expect(unknown.headers.get('www-authenticate')).toBe(badPassword.headers.get('www-authenticate'));
  });

  it('accepts every shape the v2 guide allows with 200, and refuses only what is not a webhook', async () => {
    const base = (id: string) => ({ action: 'change', entity: 'activity', entity_id: '1', id });
    const allowed: [string, unknown][] = [
      ['numeric 10-character timestamp', { meta: { ...base('t-num'), timestamp: 1764600000 }, data: { id: 1 } }],
      ['ISO timestamp', { meta: { ...base('t-iso'), timestamp: '2026-12-01T10:00:00.000Z' }, data: { id: 1 } }],
      ['previous missing', { meta: base('prev-missing'), data: { id: 1 } }],
      ['previous null', { meta: base('prev-null'), data: { id: 1 }, previous: null }],
      ['data null on delete', { meta: { ...base('del'), action: 'delete' }, data: null, previous: { id: 1 } }],
      [
        'reduced data shape',
        {
          meta: { ...base('reduced'), entity_id: 1 },
          data: {
            id: 1,
            busy_flag: true,
            custom_fields: { abc: { type: 'varchar', value: 'x' } },
            due_time: { timezone_id: 'Europe/Tallinn', value: '10:00' },
          },
          previous: { busy_flag: false },
        },
      ],
      ['an action we do not sync', { meta: { ...base('merge'), action: 'merge' }, data: null }],
      ['an entity we do not sync', { meta: { ...base('lead'), entity: 'lead', entity_id: 'uuid-1' }, data: {} }],
    ];
    for (const [what, body] of allowed) {
      const res = await post(pd(), JSON.stringify(body), { authorization: basic });
      expect(res.status, `${what}: ${res.body}`).toBe(200);
    }
    expect(await storedMeta('t-num')).toMatchObject({ timestamp: new Date(1764600000 * 1000).toISOString() });
    const notWebhooks = [{ event: 'updated.activity' }, { meta: { id: 'x' } }, [1, 2], 'text', 42];
    for (const body of notWebhooks) {
      expect((await post(pd(), JSON.stringify(body), { authorization: basic })).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('stores only the documented meta fields, never what else a delivery carries', async () => {
    const res = await post(
      pd(),
      JSON.stringify({
        meta: { ...delivery('extra').meta, injected: 'x'.repeat(1000), nested: { a: 1 } },
        data: { id: 1, note: 'y'.repeat(1000) },
        extra: 'z',
      }),
      { authorization: basic },
    );
    expect(res.status).toBe(200);
    const meta = (await storedMeta('extra'))!;
    expect(Object.keys(meta).sort()).toEqual(['action', 'change_source', 'entity', 'entity_id', 'id']);
  });

  it('answers deeply nested JSON with 400, not 500', async () => {
    // Deep inside a field we do not use: it would otherwise reach Postgres' jsonb (stack depth limit → 500).
    const deep = `{"meta":{"action":"change","entity":"activity","entity_id":"1","id":"deep","x":${'['.repeat(5000)}${']'.repeat(5000)}},"data":null}`;
    const res = await post(pd(), deep, { authorization: basic });
    expect(res.status).toBe(400);
    const deepSettings = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`;
    expect((await post(pd(), deepSettings, { authorization: basic })).status).toBe(400);
  });

  it('authenticates before reading the body', async () => {
    // 401 for the credentials, not 400 for the (unread) malformed body.
    expect((await post(pd(), '{"meta":', {})).status).toBe(401);
    expect((await post('/webhooks/pipedrive/c-nobody', '{"meta":', { authorization: basic })).status).toBe(401);
  });

  it('refuses a declared-oversize body with 413 before authenticating or reading it', async () => {
    const { rawRequest } = await import('../support/raw-http.js');
    const answer = await rawRequest(h.http!.url, [
      `POST ${pd()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{`,
    ]);
    expect(answer.status).toBe(413);
  });

  it('hears a push notification whatever content type labels its empty body', async () => {
    for (const type of ['application/json; utf-8', 'text/plain;charset=UTF-8', 'application/octet-stream']) {
      const res = await post('/webhooks/google', '', {
        'content-type': type,
        'x-goog-channel-id': 'forged',
        'x-goog-resource-state': 'exists',
      });
      expect(res.status, type).toBe(404);
    }
  });

  it('sends security headers on every route and a request id of its own', async () => {
    for (const [method, path] of [
      ['POST', pd()],
      ['POST', '/webhooks/google'],
      ['GET', '/healthz'],
      ['GET', '/nothing-here'],
    ] as const) {
      const res = await fetch(`${h.http!.url}${path}`, { method, headers: { 'x-request-id': 'forged-id' } });
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBeTruthy();
      expect(res.headers.get('strict-transport-security'), path).toBeTruthy();
    }
    expect(h.logLines.some((l) => l.includes('forged-id'))).toBe(false);
    const lines = h.logLines.map((l) => JSON.parse(l) as { reqId?: string });
    expect(lines.filter((l) => l.reqId).every((l) => /^[0-9a-f-]{36}$/.test(l.reqId!))).toBe(true);
  });

  it('survives request targets the URL parser rejects', async () => {
    const { rawRequest } = await import('../support/raw-http.js');
    for (const target of ['//a:99999/', '//[', '//%zz/', '/%', '/webhooks/pipedrive/%E0%A4%A']) {
      const answer = await rawRequest(h.http!.url, [`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`]);
      expect(answer.status, target).toBeGreaterThanOrEqual(400);
      expect(answer.status, target).toBeLessThan(500);
    }
    expect((await fetch(`${h.http!.url}/healthz`)).status).toBe(200);
  });
});

describe('delivery metrics', () => {
  it('counts every delivery by source and result', async () => {
    const { register } = await import('../../lib/metrics.js');
    const count = async (source: string, result: string) => {
      const metric = (await register.getMetricsAsJSON()).find((m) => m.name === 'calendar_sync_deliveries_total');
      return Number(metric?.values.find((v) => v.labels.source === source && v.labels.result === result)?.value ?? 0);
    };
    const pd = `/webhooks/pipedrive/${user.connectionId}`;
    const before = {
      accepted: await count('pipedrive', 'accepted'),
      duplicate: await count('pipedrive', 'duplicate'),
      unauthorized: await count('pipedrive', 'unauthorized'),
      invalid: await count('pipedrive', 'invalid'),
      googleInvalid: await count('google', 'invalid'),
    };
    await post(pd, JSON.stringify(delivery('metric-1')), { authorization: basic });
    await post(pd, JSON.stringify(delivery('metric-1')), { authorization: basic });
    await post(pd, JSON.stringify(delivery('metric-2')), {});
    await post(pd, '{"meta":', { authorization: basic });
    await post(pd, '[]', { authorization: basic });
    await post('/webhooks/google', '', {});
    expect(await count('pipedrive', 'accepted')).toBe(before.accepted + 1);
    expect(await count('pipedrive', 'duplicate')).toBe(before.duplicate + 1);
    expect(await count('pipedrive', 'unauthorized')).toBe(before.unauthorized + 1);
    expect(await count('pipedrive', 'invalid')).toBe(before.invalid + 2);
    expect(await count('google', 'invalid')).toBe(before.googleInvalid + 1);
  });
});
