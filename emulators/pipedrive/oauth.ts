/**
 * OAuth 2.0 as Pipedrive runs it (https://pipedrive.readme.io/docs/marketplace-oauth-authorization):
 * `GET /oauth/authorize` (the emulator approves at once and redirects with `code` and `state`),
 * `POST /oauth/token` with HTTP Basic client authentication for the `authorization_code` and
 * `refresh_token` grants, `POST /oauth/revoke`. Access tokens live `expires_in` seconds; refresh tokens do not
 * rotate. Each emulated user owns one OAuth client (see `createUser`).
 */
import type { EmuRequest, Router } from '../shared/http-server.js';
import { HttpError } from '../shared/http-server.js';
import type { OAuthGrant, Store } from './store.js';
import { randomToken } from './store.js';

export const ACCESS_TOKEN_TTL_S = 3599;
import { ALL_SCOPES } from './scopes.js';

export const DEFAULT_SCOPE = ALL_SCOPES;

const oauthError = (status: number, error: string, description: string) =>
  new HttpError(status, { success: false, error, error_description: description, message: description });

function formBody(req: EmuRequest): URLSearchParams {
  const ct = String(req.headers['content-type'] ?? '');
  if (ct.includes('application/json')) {
    const o = (req.json() ?? {}) as Record<string, unknown>;
    return new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)]));
  }
  return new URLSearchParams(req.rawBody);
}

export function issueTokens(
  store: Store,
  grant: OAuthGrant,
  refreshToken?: string,
): { access_token: string; refresh_token: string; expires_in: number } {
  const access = `${grant.userId}:${randomToken(16)}`;
  store.accessTokens.set(access, { ...grant, expiresAt: Date.now() + ACCESS_TOKEN_TTL_S * 1000 });
  const refresh = refreshToken ?? `${grant.userId}:${randomToken(16)}`;
  store.refreshTokens.set(refresh, grant);
  return { access_token: access, refresh_token: refresh, expires_in: ACCESS_TOKEN_TTL_S };
}

export function registerOAuthRoutes(router: Router, store: () => Store, apiDomain: () => string): void {
  router.on('GET', '/oauth/authorize', (req) => {
    const clientId = req.query.get('client_id') ?? '';
    const client = store().oauthClients.get(clientId);
    const redirectUri = req.query.get('redirect_uri');
    if (!client) throw oauthError(400, 'invalid_client', 'Unknown client_id');
    if (!redirectUri) throw oauthError(400, 'invalid_request', 'redirect_uri is required');
    const code = randomToken(12);
    store().authCodes.set(code, {
      userId: client.userId,
      clientId,
      scope: client.scope ?? DEFAULT_SCOPE,
      redirectUri,
      expiresAt: Date.now() + 5 * 60 * 1000,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = req.query.get('state');
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { location: target.toString() } };
  });

  router.on('POST', '/oauth/token', (req) => {
    const auth = String(req.headers.authorization ?? '');
    const m = /^Basic\s+(.+)$/i.exec(auth);
    const body = formBody(req);
    let clientId = body.get('client_id') ?? '';
    let clientSecret = body.get('client_secret') ?? '';
    if (m) {
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      clientId = decoded.slice(0, i);
      clientSecret = decoded.slice(i + 1);
    }
    const client = store().oauthClients.get(clientId);
    if (!client || client.clientSecret !== clientSecret)
      throw oauthError(401, 'invalid_client', 'Client authentication failed');
    const grantType = body.get('grant_type');
    let tokens;
    if (grantType === 'authorization_code') {
      const code = body.get('code') ?? '';
      const grant = store().authCodes.get(code);
      store().authCodes.delete(code); // codes are single-use
      if (!grant || grant.clientId !== clientId || grant.expiresAt < Date.now())
        throw oauthError(400, 'invalid_grant', 'Invalid or expired authorization code');
      if (body.get('redirect_uri') !== grant.redirectUri)
        throw oauthError(400, 'invalid_grant', 'redirect_uri does not match');
      tokens = issueTokens(store(), { userId: grant.userId, clientId, scope: grant.scope });
    } else if (grantType === 'refresh_token') {
      const refresh = body.get('refresh_token') ?? '';
      const grant = store().refreshTokens.get(refresh);
      if (!grant || grant.clientId !== clientId) throw oauthError(400, 'invalid_grant', 'Invalid refresh token');
      tokens = issueTokens(store(), grant, refresh);
    } else {
      throw oauthError(400, 'unsupported_grant_type', `grant_type '${String(grantType)}' is not supported`);
    }
    const grant = store().accessTokens.get(tokens.access_token)!;
    return {
      status: 200,
      body: { ...tokens, token_type: 'Bearer', scope: grant.scope, api_domain: apiDomain() },
    };
  });

  router.on('POST', '/oauth/revoke', (req) => {
    const body = formBody(req);
    const token = body.get('token') ?? '';
    const s = store();
    const refresh = s.refreshTokens.get(token);
    if (refresh) {
      s.refreshTokens.delete(token);
      for (const [k, v] of s.accessTokens)
        if (v.userId === refresh.userId && v.clientId === refresh.clientId) s.accessTokens.delete(k);
    }
    s.accessTokens.delete(token);
    return { status: 200, body: { success: true } };
  });
}
