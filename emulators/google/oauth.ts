/**
 * Google's OAuth 2.0 endpoints, enough for google-auth-library's OAuth2Client:
 * - `GET /o/oauth2/v2/auth` — the consent screen, auto-approved: picks the `login_hint` user (created on the fly
 *   if unknown) or the first user, and redirects to `redirect_uri` with `code` and `state`.
 * - `POST /token` — form-encoded `grant_type=authorization_code|refresh_token`, answers like oauth2.googleapis.com.
 * - `GET /oauth2/v2/userinfo`, `/oauth2/v3/userinfo` — the signed-in user's email.
 * - `POST /revoke`, `GET /tokeninfo`.
 * Token-endpoint errors use the OAuth JSON shape (`{error, error_description}`), not the API error envelope.
 */
import { HttpError, Router, type EmuRequest } from '../shared/http-server.js';
import { errors } from './errors.js';
import type { Store, User } from './store.js';

export interface OAuthDeps {
  store: Store;
  accessTokenTtlSeconds: () => number;
  createUser: (email: string) => User;
}

const SCOPE = 'https://www.googleapis.com/auth/calendar openid https://www.googleapis.com/auth/userinfo.email';

function oauthError(status: number, error: string, description: string): HttpError {
  return new HttpError(status, { error, error_description: description });
}

function clientCredentials(req: EmuRequest, form: URLSearchParams): { id?: string; secret?: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
    return { id, secret };
  }
  return { id: form.get('client_id') ?? undefined, secret: form.get('client_secret') ?? undefined };
}

export function bearerUser(store: Store, req: EmuRequest): User | undefined {
  const h = req.headers.authorization;
  if (!h || !/^Bearer /i.test(h)) return undefined;
  return store.userForAccessToken(h.slice(7).trim());
}

export function registerOAuthRoutes(router: Router, deps: OAuthDeps): void {
  const { store } = deps;

  const authorize = (req: EmuRequest) => {
    const redirectUri = req.query.get('redirect_uri');
    const clientId = req.query.get('client_id');
    if (!redirectUri || !clientId)
      return { status: 400, body: 'Error 400: invalid_request (missing redirect_uri or client_id)' };
    if (clientId !== store.client.clientId) return { status: 401, body: 'Error 401: invalid_client' };
    if (req.query.get('response_type') !== 'code') return { status: 400, body: 'Error 400: unsupported_response_type' };
    const hint = req.query.get('login_hint');
    const user = hint ? (store.users.get(hint) ?? deps.createUser(hint)) : store.users.values().next().value;
    if (!user) return { status: 400, body: 'Error 400: no user exists in the emulator; create one or pass login_hint' };
    const code = store.randomToken('4/emu-');
    store.authCodes.set(code, { email: user.email, redirectUri, clientId });
    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    const state = req.query.get('state');
    if (state !== null) location.searchParams.set('state', state);
    location.searchParams.set('scope', req.query.get('scope') ?? SCOPE);
    return { status: 302, headers: { location: location.toString() } };
  };
  router.on('GET', '/o/oauth2/v2/auth', authorize);
  router.on('GET', '/o/oauth2/auth', authorize);

  router.on('POST', '/token', (req) => {
    const form = new URLSearchParams(req.rawBody);
    const client = clientCredentials(req, form);
    if (
      client.id !== store.client.clientId ||
      (client.secret !== undefined && client.secret !== store.client.clientSecret)
    ) {
      throw oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    }
    const grant = form.get('grant_type');
    let user: User | undefined;
    if (grant === 'refresh_token') {
      const email = store.refreshTokens.get(form.get('refresh_token') ?? '');
      user = email ? store.users.get(email) : undefined;
      if (!user) throw oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
      return { status: 200, body: tokenBody(store, user, deps.accessTokenTtlSeconds(), false) };
    }
    if (grant === 'authorization_code') {
      const code = form.get('code') ?? '';
      const entry = store.authCodes.get(code);
      store.authCodes.delete(code); // codes are single-use
      if (!entry) throw oauthError(400, 'invalid_grant', 'Malformed auth code.');
      if (form.get('redirect_uri') !== entry.redirectUri) throw oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
      user = store.users.get(entry.email);
      if (!user) throw oauthError(400, 'invalid_grant', 'Bad Request');
      if (!store.refreshTokens.has(user.refreshToken)) {
        // The user revoked the app's access and consented again: a new grant, with a new refresh token.
        user.refreshToken = store.randomToken('1//emu-');
        store.refreshTokens.set(user.refreshToken, user.email);
      }
      return { status: 200, body: tokenBody(store, user, deps.accessTokenTtlSeconds(), true) };
    }
    throw oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
  });

  const userinfo = (v: 2 | 3) => (req: EmuRequest) => {
    const user = bearerUser(store, req);
    if (!user) throw errors.authError();
    const base = { email: user.email, name: user.email.split('@')[0], picture: '' };
    return {
      status: 200,
      body:
        v === 3
          ? { sub: user.userId, email_verified: true, ...base }
          : { id: user.userId, verified_email: true, ...base },
    };
  };
  router.on('GET', '/oauth2/v2/userinfo', userinfo(2));
  router.on('GET', '/oauth2/v1/userinfo', userinfo(2));
  router.on('GET', '/oauth2/v3/userinfo', userinfo(3));

  router.on('POST', '/revoke', (req) => {
    const token = req.query.get('token') ?? new URLSearchParams(req.rawBody).get('token') ?? '';
    const known = store.refreshTokens.delete(token) || store.accessTokens.delete(token);
    if (!known) throw oauthError(400, 'invalid_token', 'Token expired or revoked');
    return { status: 200, body: {} };
  });

  router.on('GET', '/tokeninfo', (req) => {
    const token = req.query.get('access_token') ?? '';
    const t = store.accessTokens.get(token);
    if (!t || t.expiresAt <= Date.now()) throw oauthError(400, 'invalid_token', 'Invalid Value');
    return {
      status: 200,
      body: {
        aud: store.client.clientId,
        azp: store.client.clientId,
        scope: SCOPE,
        email: t.email,
        email_verified: 'true',
        exp: String(Math.floor(t.expiresAt / 1000)),
        expires_in: String(Math.max(0, Math.floor((t.expiresAt - Date.now()) / 1000))),
      },
    };
  });
}

function tokenBody(store: Store, user: User, ttl: number, withRefresh: boolean): Record<string, unknown> {
  return {
    access_token: store.issueAccessToken(user.email, ttl),
    expires_in: ttl,
    scope: SCOPE,
    token_type: 'Bearer',
    ...(withRefresh ? { refresh_token: user.refreshToken } : {}),
  };
}
