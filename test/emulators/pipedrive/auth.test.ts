import * as v2 from 'pipedrive/v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import type { CreatedUser, PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { clients, failure, raw, seedCompany } from './fixtures.js';

let emu: PipedriveEmulator;
let user: CreatedUser;

beforeAll(async () => {
  emu = await startPipedriveEmulator();
  user = seedCompany(emu).user;
});
afterAll(() => emu.close());

describe('authentication', () => {
  it('accepts the API token in the x-api-token header (the official client)', async () => {
    const me = await clients(emu, { apiKey: user.apiToken }).users.getCurrentUser();
    expect(me.data).toMatchObject({ id: user.userId, company_id: user.companyId });
  });

  it('accepts the API token in the api_token query parameter', async () => {
    const res = await fetch(`${emu.url}/api/v2/activities?api_token=${user.apiToken}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, data: [] });
  });

  it('accepts an OAuth access token as a Bearer token (the official client)', async () => {
    const res = await clients(emu, { accessToken: user.oauth.accessToken }).activities.getActivities();
    expect(res.success).toBe(true);
  });

  it('answers 401 in the Pipedrive error shape without credentials', async () => {
    const res = await failure(raw(clients(emu, {}).activities).getActivities());
    expect(res.status).toBe(401);
    expect(res.data).toMatchObject({
      success: false,
      error: 'unauthorized access',
      errorCode: 401,
      error_info: expect.any(String),
    });
  });

  it('answers 401 for an unknown API token and an unknown Bearer token', async () => {
    expect((await failure(raw(clients(emu, { apiKey: 'nope' }).activities).getActivities())).status).toBe(401);
    expect((await failure(raw(clients(emu, { accessToken: 'nope' }).activities).getActivities())).status).toBe(401);
  });
});

describe('OAuth', () => {
  it('auto-approves /oauth/authorize and redirects to redirect_uri with code and state', async () => {
    const redirect = 'http://localhost:9999/callback';
    const res = await fetch(
      `${emu.oauthUrl}/oauth/authorize?client_id=${user.oauth.clientId}&redirect_uri=${encodeURIComponent(redirect)}&state=xyz`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(redirect);
    expect(location.searchParams.get('state')).toBe('xyz');
    expect(location.searchParams.get('code')).toEqual(expect.any(String));
  });

  it("exchanges a code and refreshes tokens through the official client's OAuth2Configuration", async () => {
    const redirectUri = 'http://localhost:9999/callback';
    const oauth = new v2.OAuth2Configuration({
      clientId: user.oauth.clientId,
      clientSecret: user.oauth.clientSecret,
      redirectUri,
      host: emu.oauthUrl,
    });
    const location = (await fetch(`${oauth.authorizationUrl}&state=s`, { redirect: 'manual' })).headers.get(
      'location',
    )!;
    const code = new URL(location).searchParams.get('code')!;
    const token = await oauth.authorize(code);
    expect(token).toMatchObject({
      token_type: 'Bearer',
      api_domain: emu.url,
      expires_in: expect.any(Number),
      scope: expect.any(String),
    });
    expect(oauth.basePath).toBe(`${emu.url}/api/v2`);
    const refreshed = await oauth.tokenRefresh();
    expect(refreshed.access_token).not.toBe(token.access_token);
    const api = new v2.ActivitiesApi(
      new v2.Configuration({ accessToken: oauth.getAccessToken, basePath: oauth.basePath }),
    );
    expect((await api.getActivities()).success).toBe(true);
  });

  it('rejects a token request with wrong client credentials with 401', async () => {
    const res = await fetch(`${emu.oauthUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${user.oauth.clientId}:wrong`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: user.oauth.refreshToken }),
    });
    expect(res.status).toBe(401);
  });

  it('refuses to reuse an authorization code', async () => {
    const redirectUri = 'http://localhost:9999/cb';
    const location = (
      await fetch(
        `${emu.oauthUrl}/oauth/authorize?client_id=${user.oauth.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}`,
        { redirect: 'manual' },
      )
    ).headers.get('location')!;
    const code = new URL(location).searchParams.get('code')!;
    const exchange = () =>
      fetch(`${emu.oauthUrl}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${user.oauth.clientId}:${user.oauth.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
      });
    expect((await exchange()).status).toBe(200);
    expect((await exchange()).status).toBe(400);
  });
});
