/**
 * Settings-page sessions and account connection under attack: OAuth `state` is one-time and bound to its
 * provider; sessions expire server side and Disconnect revokes every one of them; the API-token form sends
 * nothing to a host that is not Pipedrive's; one Pipedrive user belongs to one connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipedriveUserTaken, upsertConnection } from '../../adapters/store/connections.js';
import { trustedApiDomain } from '../../client/http/pipedrive-api-domain.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ web: true, googleQuotaPerMinute: 100_000 });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const base = () => h.http!.url;

/** The cookies a response sets, as `name=value` (attributes dropped). */
function setCookies(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    out[pair!.slice(0, i)] = pair!.slice(i + 1);
  }
  return out;
}

const cookieHeader = (jar: Record<string, string>) =>
  Object.entries(jar)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** Starts Google sign-in, passes the emulator's consent screen; returns the callback URL and the state cookie. */
async function googleConsent(email: string): Promise<{ callback: string; jar: Record<string, string> }> {
  const start = await fetch(`${base()}/connect/google`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const consent = new URL(start.headers.get('location')!);
  consent.searchParams.set('login_hint', email);
  const approved = await fetch(consent, { redirect: 'manual' });
  expect(approved.status).toBe(302);
  return { callback: approved.headers.get('location')!, jar: setCookies(start) };
}

/** A complete Google sign-in: the session cookie jar. */
async function signIn(email: string): Promise<Record<string, string>> {
  const { callback, jar } = await googleConsent(email);
  const res = await fetch(callback, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } });
  expect(res.headers.get('location')).toBe('/settings');
  return { ...jar, ...setCookies(res) };
}

async function me(jar: Record<string, string>) {
  const res = await fetch(`${base()}/api/me`, { headers: { cookie: cookieHeader(jar) } });
  return {
    status: res.status,
    body: res.status === 200 ? ((await res.json()) as { connectionId: string; csrf: string }) : null,
  };
}

describe('OAuth state', () => {
  it('is accepted once: a replayed callback signs nobody in', async () => {
    const email = 'replay@example.com';
    h.google.control.createUser({ email });
    const { callback, jar } = await googleConsent(email);
    const first = await fetch(callback, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } });
    expect(first.headers.get('location')).toBe('/settings');
    expect(setCookies(first).cs_session).toBeTruthy();
    const sessionsBefore = (await h.stack.db.query('SELECT count(*)::int AS n FROM web_sessions')).rows[0].n;

    // Refused for its state (400), before the provider is even asked about the (also used) code.
    const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/already used/);
    expect(setCookies(replay).cs_session ?? '').toBe('');
    expect((await h.stack.db.query('SELECT count(*)::int AS n FROM web_sessions')).rows[0].n).toBe(sessionsBefore);
  });

  it('is bound to the provider it was issued for', async () => {
    const email = 'bound@example.com';
    h.google.control.createUser({ email });
    const { callback, jar } = await googleConsent(email);
    const state = new URL(callback).searchParams.get('state')!;
    const crossed = await fetch(`${base()}/oauth/pipedrive/callback?state=${state}&code=whatever`, {
      redirect: 'manual',
      headers: { cookie: cookieHeader(jar) },
    });
    expect(crossed.status).toBe(400);
    // Still good for the provider it belongs to.
    const ok = await fetch(callback, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } });
    expect(ok.headers.get('location')).toBe('/settings');
  });
});

describe('sessions', () => {
  it('expire server side whatever the browser keeps', async () => {
    const email = 'expiry@example.com';
    h.google.control.createUser({ email });
    const jar = await signIn(email);
    expect((await me(jar)).status).toBe(200);
    await h.stack.db.query(
      `UPDATE web_sessions SET expires_at = now() - interval '1 second'
       WHERE connection_id = (SELECT id FROM connections WHERE google_email = $1)`,
      [email],
    );
    expect((await me(jar)).status).toBe(401);
  });

  it('are all revoked by Disconnect, in every browser', async () => {
    const email = 'revoke@example.com';
    h.google.control.createUser({ email });
    const laptop = await signIn(email);
    const phone = await signIn(email);
    const { body } = await me(laptop);
    expect((await me(phone)).body?.connectionId).toBe(body!.connectionId);
    const res = await fetch(`${base()}/api/me/disconnect`, {
      method: 'POST',
      headers: { cookie: cookieHeader(laptop), 'x-csrf-token': body!.csrf, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect((await me(laptop)).status).toBe(401);
    expect((await me(phone)).status).toBe(401);
  });
});

describe('the API-token form', () => {
  async function submitToken(jar: Record<string, string>, csrf: string, apiDomain: string, token: string) {
    return fetch(`${base()}/connect/pipedrive-token`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, api_domain: apiDomain, api_token: token }),
    });
  }

  it('sends nothing to a host that is not a Pipedrive company domain', async () => {
    const seen: string[] = [];
    const trap = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-api-token'] ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: true, data: { id: 1, company_id: 1 } }));
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    try {
      const email = 'ssrf@example.com';
      h.google.control.createUser({ email });
      const jar = await signIn(email);
      const { body } = await me(jar);
      const token = 'a'.repeat(40);
      for (const domain of [
        trapUrl,
        'https://evil.example',
        'https://acme.pipedrive.com.evil.example',
        'https://user:pw@acme.pipedrive.com',
        'https://acme.pipedrive.com:8443',
        'http://acme.pipedrive.com',
        'https://acme.pipedrive.com/api?x=1',
      ]) {
        const res = await submitToken(jar, body!.csrf, domain, token);
        expect(res.status, domain).toBe(400);
        expect(await res.text(), domain).toMatch(/pipedrive\.com/);
      }
      expect(seen).toEqual([]);
      const { rows } = await h.stack.db.query('SELECT pipedrive_user_id FROM connections WHERE id = $1', [
        body!.connectionId,
      ]);
      expect(rows[0].pipedrive_user_id).toBeNull();
    } finally {
      trap.close();
    }
  });

  it('accepts Pipedrive company hosts and only the explicitly allowed emulator origin', () => {
    expect(trustedApiDomain('https://acme.pipedrive.com')).toBe('https://acme.pipedrive.com');
    expect(trustedApiDomain('https://ACME.pipedrive.com/')).toBe('https://acme.pipedrive.com');
    expect(trustedApiDomain(h.pipedrive.url)).toBeNull();
    expect(trustedApiDomain(h.pipedrive.url, [h.pipedrive.url])).toBe(h.pipedrive.url);
  });

  it('gives one Pipedrive user to one connection: a second claim is answered 409 and changes nothing', async () => {
    const pd = h.pipedrive.control.createUser({
      companyId: h.companyId,
      name: 'Claimed',
      email: 'claimed@example.com',
    });
    h.google.control.createUser({ email: 'owner@example.com' });
    h.google.control.createUser({ email: 'intruder@example.com' });
    const owner = await signIn('owner@example.com');
    const intruder = await signIn('intruder@example.com');
    const ownerMe = (await me(owner)).body!;
    const intruderMe = (await me(intruder)).body!;

    const first = await submitToken(owner, ownerMe.csrf, h.pipedrive.url, pd.apiToken);
    expect(first.headers.get('location')).toBe('/settings');
    const second = await submitToken(intruder, intruderMe.csrf, h.pipedrive.url, pd.apiToken);
    expect(second.status).toBe(409);
    expect(await second.text()).toMatch(/already connected/);
    const { rows } = await h.stack.db.query(
      'SELECT id FROM connections WHERE pipedrive_user_id = $1 AND pipedrive_company_id = $2',
      [pd.userId, h.companyId],
    );
    expect(rows.map((r) => r.id)).toEqual([ownerMe.connectionId]);
    const creds = await h.stack.db.query(
      `SELECT count(*)::int AS n FROM connection_credentials WHERE connection_id = $1 AND provider = 'pipedrive'`,
      [intruderMe.connectionId],
    );
    expect(creds.rows[0].n).toBe(0);

    // The database itself refuses it, whoever writes.
    const direct = await upsertConnection(h.stack.db, {
      id: 'c-direct-duplicate',
      pipedriveUserId: pd.userId,
      pipedriveCompanyId: h.companyId,
    }).catch((err: unknown) => err);
    expect(isPipedriveUserTaken(direct)).toBe(true);
  });
});

describe('the settings API', () => {
  it('refuses a request without a session before reading its body', async () => {
    const res = await fetch(`${base()}/api/me/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"enabled":',
    });
    // 401 for the missing session, not 400 for the (unread) malformed body.
    expect(res.status).toBe(401);
    const email = 'body-order@example.com';
    h.google.control.createUser({ email });
    const jar = await signIn(email);
    const noCsrf = await fetch(`${base()}/api/me/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie: cookieHeader(jar) },
      body: '{"enabled":',
    });
    expect(noCsrf.status).toBe(403);
  });
});
