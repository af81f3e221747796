/**
 * A corpus of hostile requests against every public route of the web service — malformed request lines and
 * targets, bad encodings, oversized and deeply nested bodies, huge headers, slow clients, floods, forged
 * credentials, forged Google channel headers, a replayed OAuth state, a forged Origin on the codec endpoint
 * and SSRF through the API-token form. Each is refused with a 4xx (or 408/413/431, or the connection closed),
 * nothing changes in Postgres, nothing is signalled, `/healthz` stays 200 throughout, and no secret appears in
 * any response or log line. Loopback only; every loop and wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { startHttpServer, type RunningHttpServer } from '../../client/http/server.js';
import { createLogger } from '../../lib/logger.js';
import { workflowIdFor } from '../../workflows/names.js';
import { lineSink } from '../../testing/log-lines.js';
import { rawRequest } from '../support/raw-http.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const SESSION_SECRET = randomBytes(32);
const UI_ORIGIN = 'http://localhost:8233';

let h: Harness;
let user: SyncUser;
let web: RunningHttpServer;
let basic: string;
let webhookPassword: string;
const logLines: string[] = [];
const responses: string[] = [];

/** A signed-in browser (session cookie + CSRF token) and a started OAuth round trip, made before the snapshot. */
let session: { cookie: string; csrf: string };
let usedState: { callback: string; cookie: string };

beforeAll(async () => {
  h = await startHarness({ feeds: true, googleQuotaPerMinute: 100_000 });
  user = await h.connectUser();
  const creds = await eventually(() =>
    loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'webhook').then((c) => c ?? undefined),
  );
  webhookPassword = creds.password;
  basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  web = await startHttpServer({
    db: h.stack.db,
    sync: h.sync,
    secrets: h.deps.secrets,
    adminToken: ADMIN_TOKEN,
    log: createLogger({ destination: lineSink(logLines), level: 'debug' }),
    codec: { codec: h.stack.payloadCodec, namespace: 'default', adminToken: ADMIN_TOKEN, corsOrigins: [UI_ORIGIN] },
    web: { deps: h.deps, publicUrl: 'http://127.0.0.1:1', sessionSecret: SESSION_SECRET },
    // Short enough for the slow-client cases to finish in a few seconds.
    limits: { headersTimeoutMs: 1500, requestTimeoutMs: 3000 },
  });

  // Sign a browser in through Google (the emulator approves at once), and keep a used callback to replay.
  const email = 'hostile@example.com';
  h.google.control.createUser({ email });
  const start = await fetch(`${web.url}/connect/google`, { redirect: 'manual' });
  const stateCookie = start.headers.getSetCookie()[0]!.split(';')[0]!;
  const consent = new URL(start.headers.get('location')!);
  consent.searchParams.set('login_hint', email);
  // The emulator redirects to our publicUrl; take its query to our real address.
  const approved = new URL((await fetch(consent, { redirect: 'manual' })).headers.get('location')!);
  const callback = `${web.url}/oauth/google/callback${approved.search}`;
  const signedIn = await fetch(callback, { redirect: 'manual', headers: { cookie: stateCookie } });
  expect(signedIn.headers.get('location')).toBe('/settings');
  const sessionCookie = signedIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('cs_session=') && c.length > 'cs_session='.length)!;
  const me = (await (await fetch(`${web.url}/api/me`, { headers: { cookie: sessionCookie } })).json()) as {
    csrf: string;
  };
  session = { cookie: sessionCookie, csrf: me.csrf };
  usedState = { callback, cookie: stateCookie };
}, 180_000);

afterAll(async () => {
  await web?.close();
  await h?.close();
});

async function rowCounts(): Promise<Record<string, number>> {
  const { rows } = await h.stack.db.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  const out: Record<string, number> = {};
  for (const { tablename } of rows) {
    out[tablename] = (await h.stack.db.query(`SELECT count(*)::int AS n FROM "${tablename}"`)).rows[0].n;
  }
  return out;
}

async function signals(): Promise<number> {
  const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

async function healthy(): Promise<void> {
  const res = await fetch(`${web.url}/healthz`);
  expect(res.status).toBe(200);
}

/** One hostile request: sent, its answer recorded for the secret scan, its status checked. */
async function refusedFetch(what: string, path: string, init: RequestInit, allowed: number[] = []): Promise<number> {
  const res = await fetch(`${web.url}${path}`, { redirect: 'manual', ...init });
  const text = await res.text();
  responses.push(text, JSON.stringify([...res.headers]));
  if (allowed.length) expect(allowed, `${what}: ${res.status} ${text.slice(0, 200)}`).toContain(res.status);
  else expect(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${text.slice(0, 200)}`).toBe(true);
  return res.status;
}

async function refusedRaw(what: string, chunks: (string | Buffer)[], opts?: { gapMs?: number; timeoutMs?: number }) {
  const answer = await rawRequest(web.url, chunks, opts);
  responses.push(answer.text);
  // A 4xx, or the server closing the connection without answering: never a 2xx, 3xx or 5xx.
  expect(
    answer.status === null || (answer.status >= 400 && answer.status < 500),
    `${what}: ${answer.text.slice(0, 120)}`,
  ).toBe(true);
  return answer;
}

describe('hostile requests', () => {
  it('are all refused, change nothing, signal nothing, and leave the service healthy', async () => {
    await h.settled(user.connectionId);
    const before = await rowCounts();
    const signalsBefore = await signals();
    const channel = (await h.sync.status(user.connectionId)).channel!;
    const pd = `/webhooks/pipedrive/${user.connectionId}`;
    const json = { 'content-type': 'application/json' };
    const validDelivery = JSON.stringify({
      meta: { action: 'change', entity: 'activity', entity_id: '1', id: 'hostile', change_source: 'app' },
      data: { id: 1 },
    });

    // ── Request lines and targets ──
    for (const line of [
      'GET //a:99999/ HTTP/1.1',
      'GET //[ HTTP/1.1',
      'GET //%zz/ HTTP/1.1',
      'GET /%ff%fe HTTP/1.1',
      `GET /${'a'.repeat(20_000)} HTTP/1.1`,
      'GARBAGE',
      'GET / HTTP/1.1 extra',
      `POST /webhooks/pipedrive/${'x'.repeat(500)} HTTP/1.1`,
    ]) {
      await refusedRaw(line.slice(0, 40), [`${line}\r\nHost: x\r\nContent-Length: 0\r\n\r\n`]);
    }
    await healthy();

    // ── Headers ──
    await refusedRaw('huge header', [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`]);
    await refusedRaw('many headers', [
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y`).join('\r\n')}\r\n\r\n`,
    ]);
    await refusedRaw('NUL in a header', [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n`]);
    await refusedRaw('smuggling: Content-Length and Transfer-Encoding', [
      `POST ${pd} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ]);
    await refusedRaw('bad chunked encoding', [
      `POST ${pd} HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    ]);
    await healthy();

    // ── Slow clients (bounded) ──
    const slowHeaders = await refusedRaw(
      'slowloris headers',
      Array.from({ length: 40 }, (_, i) => (i === 0 ? 'GET /healthz HTTP/1.1\r\n' : `X-${i}: y\r\n`)),
      { gapMs: 200, timeoutMs: 8000 },
    );
    expect(slowHeaders.ms).toBeLessThan(7500);
    const slowBody = await refusedRaw(
      'slow body',
      [
        `POST ${pd} HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`,
        ...Array.from({ length: 40 }, () => ' '),
      ],
      { gapMs: 200, timeoutMs: 9000 },
    );
    expect(slowBody.ms).toBeLessThan(8500);
    await healthy();

    // ── Pipedrive webhook ──
    const wrongBasic = `Basic ${Buffer.from('sync-x:guess').toString('base64')}`;
    await refusedFetch(
      'webhook without credentials',
      pd,
      { method: 'POST', headers: json, body: validDelivery },
      [401],
    );
    await refusedFetch(
      'webhook with forged credentials',
      pd,
      {
        method: 'POST',
        headers: { ...json, authorization: wrongBasic },
        body: validDelivery,
      },
      [401],
    );
    await refusedFetch(
      'webhook with a right username and wrong password',
      pd,
      {
        method: 'POST',
        headers: { ...json, authorization: `Basic ${Buffer.from(`${user.connectionId}:nope`).toString('base64')}` },
        body: validDelivery,
      },
      [401],
    );
    await refusedFetch(
      'webhook for an unknown connection',
      '/webhooks/pipedrive/c-nobody',
      {
        method: 'POST',
        headers: { ...json, authorization: basic },
        body: validDelivery,
      },
      [401],
    );
    await refusedFetch(
      'unauthenticated oversized body',
      pd,
      {
        method: 'POST',
        headers: json,
        body: 'x'.repeat(2 * 1024 * 1024),
      },
      [413],
    );
    await refusedFetch(
      'authenticated oversized body',
      pd,
      {
        method: 'POST',
        headers: { ...json, authorization: basic },
        body: JSON.stringify({ blob: 'x'.repeat(1024 * 1024) }),
      },
      [413],
    );
    await refusedFetch(
      'deep nesting',
      pd,
      {
        method: 'POST',
        headers: { ...json, authorization: basic },
        body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      },
      [400],
    );
    await refusedFetch('invalid UTF-8', pd, {
      method: 'POST',
      headers: { ...json, authorization: basic },
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    });
    await refusedFetch(
      'malformed JSON',
      pd,
      { method: 'POST', headers: { ...json, authorization: basic }, body: '{"meta":' },
      [400],
    );
    await refusedFetch(
      'not a webhook',
      pd,
      { method: 'POST', headers: { ...json, authorization: basic }, body: '[]' },
      [400],
    );
    await refusedFetch(
      'wrong content type',
      pd,
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: basic },
        body: validDelivery,
      },
      [415],
    );
    await refusedFetch('wrong method', pd, { method: 'GET' }, [404]);
    await healthy();

    // ── Google push ──
    await refusedFetch('push without headers', '/webhooks/google', { method: 'POST' }, [400]);
    await refusedFetch(
      'push from a forged channel',
      '/webhooks/google',
      {
        method: 'POST',
        headers: { 'x-goog-channel-id': 'forged', 'x-goog-resource-state': 'exists', 'x-goog-channel-token': 't' },
      },
      [404],
    );
    await refusedFetch(
      'push with a forged token',
      '/webhooks/google',
      {
        method: 'POST',
        headers: {
          'x-goog-channel-id': channel.channelId,
          'x-goog-resource-state': 'exists',
          'x-goog-channel-token': 'x',
        },
      },
      [403],
    );
    await refusedFetch(
      'push with a bogus state',
      '/webhooks/google',
      {
        method: 'POST',
        headers: { 'x-goog-channel-id': channel.channelId, 'x-goog-resource-state': 'hacked' },
      },
      [400],
    );
    await refusedFetch(
      'push with a body',
      '/webhooks/google',
      {
        method: 'POST',
        headers: { ...json, 'x-goog-channel-id': 'forged', 'x-goog-resource-state': 'exists' },
        body: JSON.stringify({ blob: 'x'.repeat(100_000) }),
      },
      [413],
    );

    // ── OAuth and the settings page ──
    await refusedFetch(
      'replayed OAuth state',
      usedState.callback.replace(web.url, ''),
      {
        headers: { cookie: usedState.cookie },
      },
      [400],
    );
    await refusedFetch('OAuth callback without state', '/oauth/pipedrive/callback?code=abc', {}, [400]);
    await refusedFetch(
      'OAuth callback with an overlong code',
      `/oauth/google/callback?state=a&code=${'c'.repeat(5000)}`,
      {},
      [400],
    );
    for (const domain of [
      'http://127.0.0.1:5432',
      'https://evil.example',
      'https://x.pipedrive.com.evil.example',
      'file:///etc/passwd',
    ]) {
      await refusedFetch(
        `SSRF api_domain ${domain}`,
        '/connect/pipedrive-token',
        {
          method: 'POST',
          headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf: session.csrf, api_domain: domain, api_token: 'a'.repeat(40) }),
        },
        [400],
      );
    }
    await refusedFetch(
      'token form without CSRF',
      '/connect/pipedrive-token',
      {
        method: 'POST',
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ api_domain: h.pipedrive.url, api_token: 'a'.repeat(40) }),
      },
      [403],
    );
    await refusedFetch('settings without a session', '/api/me', {}, [401]);
    await refusedFetch(
      'settings with a forged session',
      '/api/me',
      { headers: { cookie: 'cs_session=abc.def' } },
      [401],
    );
    await refusedFetch(
      'settings change without CSRF',
      '/api/me/settings',
      {
        method: 'PUT',
        headers: { ...json, cookie: session.cookie },
        body: JSON.stringify({ enabled: false }),
      },
      [403],
    );
    await refusedFetch(
      'settings change nested deep',
      '/api/me/settings',
      {
        method: 'PUT',
        headers: { ...json, cookie: session.cookie, 'x-csrf-token': session.csrf },
        body: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
      },
      [400],
    );
    await refusedFetch(
      'resync without CSRF',
      '/api/me/resync',
      { method: 'POST', headers: { ...json, cookie: session.cookie }, body: '{}' },
      [403],
    );
    await refusedFetch(
      'resync with a forged session',
      '/api/me/resync',
      { method: 'POST', headers: { ...json, cookie: 'cs_session=abc.def', 'x-csrf-token': 'x' }, body: '{}' },
      [401],
    );
    for (const [what, body, status] of [
      ['retry nested deep', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`, 400],
      ['retry of an overlong subject', JSON.stringify({ subject: 'activity:'.repeat(500) }), 400],
      ['retry with an unknown field', JSON.stringify({ subject: 'activity:1', all: true }), 400],
      ['retry with an oversized body', JSON.stringify({ subject: 'x'.repeat(64 * 1024) }), 413],
    ] as const) {
      await refusedFetch(
        what,
        '/api/me/retry',
        { method: 'POST', headers: { ...json, cookie: session.cookie, 'x-csrf-token': session.csrf }, body },
        [status],
      );
    }
    await healthy();

    // ── Admin API, metrics, codec ──
    await refusedFetch('admin without token', '/api/admin/connections', {}, [401]);
    await refusedFetch(
      'admin with a wrong token',
      `/api/admin/connections/${user.connectionId}/pause`,
      {
        method: 'POST',
        headers: { authorization: 'Bearer wrong' },
      },
      [403],
    );
    for (const action of ['resync', 'retry']) {
      await refusedFetch(
        `admin ${action} with a wrong token`,
        `/api/admin/connections/${user.connectionId}/${action}`,
        { method: 'POST', headers: { ...json, authorization: 'Bearer wrong' }, body: '{"subject":"activity:1"}' },
        [403],
      );
    }
    await refusedFetch('metrics without token', '/metrics', {}, [401]);
    const payload = {
      payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted').toString('base64') }, data: 'AAAA' }],
    };
    await refusedFetch(
      'codec with a forged Origin',
      '/codec/decode',
      {
        method: 'POST',
        headers: { ...json, origin: UI_ORIGIN },
        body: JSON.stringify(payload),
      },
      [401],
    );
    await refusedFetch(
      'codec preflight from another origin',
      '/codec/decode',
      {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      },
      [403],
    );
    await healthy();

    // ── Floods (bounded) ──
    const flood = await Promise.all(
      Array.from({ length: 300 }, () =>
        fetch(`${web.url}${pd}`, {
          method: 'POST',
          headers: { ...json, authorization: wrongBasic },
          body: validDelivery,
        })
          .then((r) => r.status)
          .catch(() => null),
      ),
    );
    expect(flood.every((s) => s === 401 || s === null)).toBe(true);
    const guesses: number[] = [];
    for (let i = 0; i < 320; i++) {
      const s = await fetch(`${web.url}/api/admin/connections`, {
        headers: { authorization: `Bearer guess-${i}` },
      }).then((r) => r.status);
      guesses.push(s);
      if (s === 429) break;
    }
    expect(guesses.at(-1)).toBe(429);
    // Idle sockets held open do not stop the service answering.
    const idle = await Promise.all(
      Array.from(
        { length: 100 },
        () =>
          new Promise<net.Socket>((r) => {
            const s = net.connect(Number(new URL(web.url).port), '127.0.0.1', () => r(s));
          }),
      ),
    );
    await healthy();
    for (const s of idle) s.destroy();

    // ── Nothing changed, nothing signalled, nothing leaked ──
    expect(await rowCounts()).toEqual(before);
    expect(await signals()).toBe(signalsBefore);
    await healthy();
    const everything = [...responses, ...logLines].join('\n');
    for (const secret of [
      webhookPassword,
      basic.slice(6),
      ADMIN_TOKEN,
      session.cookie.split('=')[1]!,
      SESSION_SECRET.toString('base64'),
    ]) {
      expect(everything.includes(secret)).toBe(false);
    }
  }, 180_000);

  it('leaves the emulators standing too (their HTTP toolkit answers 400 to unparsable targets)', async () => {
    for (const url of [h.google.url, h.pipedrive.url]) {
      for (const target of ['//a:99999/', '//[', '//%zz/']) {
        const answer = await rawRequest(url, [`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`]);
        expect(answer.status, `${url} ${target}`).toBe(400);
      }
    }
    expect((await fetch(`${h.pipedrive.url}/api/v1/users/me`)).status).toBeLessThan(500);
  });
});
