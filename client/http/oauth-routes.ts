/**
 * Connecting accounts: OAuth 2.0 for Google (offline access, so we get a refresh token) and Pipedrive (OAuth
 * app, whose token answer names the company's `api_domain`), or a Pipedrive API token instead. Every round
 * trip carries a signed one-time `state` (CSRF protection). Connecting signs the browser in: the first account
 * creates the user's connection, the second joins it, and connecting again later finds it again.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  findConnectionByAccount,
  getConnection,
  saveCredentials,
  upsertConnection,
  type ConnectionInput,
} from '../../activities/store/connections.js';
import { createGoogleCalendarApi, createOAuthClient } from '../../activities/google/calendar-api.js';
import { PipedriveApi } from '../../activities/pipedrive/client.js';
import type { EmuRequest as Request, EmuResponse as Response, Router } from '../../lib/http-server.js';
import type { Logger } from './log.js';
import type { Sessions } from './session.js';
import type { WebConfig } from './web-config.js';

const GOOGLE_SCOPES = ['https://www.googleapis.com/auth/calendar', 'openid', 'email'];

export interface OAuthRouteDeps {
  web: WebConfig;
  sessions: Sessions;
  log: Logger;
}

const redirect = (location: string, cookies: string[] = []): Response => ({
  status: 302,
  headers: { location, ...(cookies.length ? { 'set-cookie': cookies } : {}) },
});

/** Back to the settings page with a message the page shows (never a secret). */
const backWith = (deps: OAuthRouteDeps, message: string, cookies: string[] = []) =>
  redirect(`/settings?error=${encodeURIComponent(message)}`, [...cookies, deps.sessions.clearStateCookie()]);

export function registerOAuthRoutes(router: Router, deps: OAuthRouteDeps): void {
  const { web, sessions } = deps;
  const googleRedirect = `${web.publicUrl}/oauth/google/callback`;
  const pipedriveRedirect = `${web.publicUrl}/oauth/pipedrive/callback`;

  router.on('GET', '/connect/google', () => {
    const { state, cookie } = sessions.newOAuthState('google');
    const url = createOAuthClient({ ...web.deps.google, redirectUri: googleRedirect }).generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      scope: GOOGLE_SCOPES,
      state,
      ...(web.googleLoginHint ? { login_hint: web.googleLoginHint } : {}),
    });
    return redirect(url, [cookie]);
  });

  router.on('GET', '/oauth/google/callback', async (req) => {
    if (!sessions.oauthStateValid(req, req.query.get('state')))
      return backWith(deps, 'The Google sign-in expired or was not started here. Please try again.');
    const code = req.query.get('code');
    if (!code) return backWith(deps, `Google did not connect: ${req.query.get('error') ?? 'no authorization code'}.`);
    const oauth = createOAuthClient({ ...web.deps.google, redirectUri: googleRedirect });
    let tokens;
    try {
      tokens = (await oauth.getToken(code)).tokens;
    } catch (err) {
      deps.log.log('warn', 'google code exchange failed', { error: (err as Error).message });
      return backWith(deps, 'Google refused the sign-in. Please try again.');
    }
    if (!tokens.refresh_token)
      return backWith(
        deps,
        'Google sent no refresh token; remove the app’s access in your Google account and connect again.',
      );
    const credentials = {
      refreshToken: tokens.refresh_token,
      accessToken: tokens.access_token ?? undefined,
      expiryDate: tokens.expiry_date ?? undefined,
    };
    // The primary calendar's id is the account's e-mail address.
    const google = createGoogleCalendarApi(web.deps.google, credentials, async () => {});
    const primary = await google.call('calendars.get', (cal) => cal.calendars.get({ calendarId: 'primary' }));
    const email = primary.id ?? '';
    const connectionId = await signInOrCreate(deps, req, { googleEmail: email }, { googleEmail: email });
    await saveCredentials(web.deps.db, web.deps.secrets, connectionId, 'google', credentials);
    deps.log.log('info', 'google account connected', { connectionId });
    return redirect('/settings', [sessions.sessionCookie(connectionId), sessions.clearStateCookie()]);
  });

  router.on('GET', '/connect/pipedrive', () => {
    const { state, cookie } = sessions.newOAuthState('pipedrive');
    const url = new URL(web.deps.pipedrive.authorizeUrl ?? 'https://oauth.pipedrive.com/oauth/authorize');
    url.searchParams.set('client_id', web.deps.pipedrive.clientId);
    url.searchParams.set('redirect_uri', pipedriveRedirect);
    url.searchParams.set('state', state);
    return redirect(url.toString(), [cookie]);
  });

  router.on('GET', '/oauth/pipedrive/callback', async (req) => {
    if (!sessions.oauthStateValid(req, req.query.get('state')))
      return backWith(deps, 'The Pipedrive sign-in expired or was not started here. Please try again.');
    const code = req.query.get('code');
    if (!code)
      return backWith(deps, `Pipedrive did not connect: ${req.query.get('error') ?? 'no authorization code'}.`);
    const res = await fetch(web.deps.pipedrive.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${web.deps.pipedrive.clientId}:${web.deps.pipedrive.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: pipedriveRedirect }),
    });
    const tokens = tokenAnswer.safeParse(await res.json().catch(() => null));
    if (!res.ok || !tokens.success) {
      deps.log.log('warn', 'pipedrive code exchange failed', { status: res.status });
      return backWith(deps, 'Pipedrive refused the sign-in. Please try again.');
    }
    const credentials = {
      kind: 'oauth' as const,
      accessToken: tokens.data.access_token,
      refreshToken: tokens.data.refresh_token,
      expiresAt: Date.now() + tokens.data.expires_in * 1000,
    };
    const api = new PipedriveApi({
      apiDomain: tokens.data.api_domain,
      auth: {
        ...credentials,
        clientId: web.deps.pipedrive.clientId,
        clientSecret: web.deps.pipedrive.clientSecret,
        tokenUrl: web.deps.pipedrive.tokenUrl,
      },
    });
    const connectionId = await connectPipedrive(deps, req, api, tokens.data.api_domain);
    await saveCredentials(web.deps.db, web.deps.secrets, connectionId, 'pipedrive', credentials);
    return redirect('/settings', [sessions.sessionCookie(connectionId), sessions.clearStateCookie()]);
  });

  // The alternative to OAuth: a personal API token (Settings → Personal preferences → API in Pipedrive).
  router.on('POST', '/connect/pipedrive-token', async (req) => {
    const form = new URLSearchParams(req.rawBody);
    const connectionId = sessions.connectionOf(req);
    if (!connectionId || !sessions.csrfValid(connectionId, form.get('csrf') ?? undefined)) {
      return { status: 403, body: { error: 'sign in with Google first, from the settings page' } };
    }
    const parsed = tokenForm.safeParse(Object.fromEntries(form));
    if (!parsed.success) return backWith(deps, parsed.error.issues.map((i) => i.message).join(' '));
    const api = new PipedriveApi({
      apiDomain: parsed.data.api_domain,
      auth: { kind: 'api-token', token: parsed.data.api_token },
    });
    try {
      await connectPipedrive(deps, req, api, parsed.data.api_domain);
    } catch {
      return backWith(deps, 'Pipedrive did not accept that API token for that company domain.');
    }
    await saveCredentials(web.deps.db, web.deps.secrets, connectionId, 'pipedrive', {
      kind: 'api-token',
      token: parsed.data.api_token,
    });
    return redirect('/settings');
  });
}

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
  api_domain: z.string().url(),
});

const tokenForm = z.object({
  api_token: z.string().trim().min(20, 'The API token looks too short.'),
  api_domain: z
    .string()
    .trim()
    .url('The company domain must be a URL like https://yourcompany.pipedrive.com.')
    .transform((u) => u.replace(/\/+$/, '')),
});

async function connectPipedrive(
  deps: OAuthRouteDeps,
  req: Request,
  api: PipedriveApi,
  apiDomain: string,
): Promise<string> {
  const me = await api.getCurrentUser();
  const account = { pipedriveUserId: me.id, pipedriveCompanyId: me.company_id };
  const connectionId = await signInOrCreate(deps, req, account, { ...account, pipedriveApiDomain: apiDomain });
  deps.log.log('info', 'pipedrive account connected', { connectionId });
  return connectionId;
}

/** The signed-in connection, the one these accounts already belong to, or a new one. */
async function signInOrCreate(
  deps: OAuthRouteDeps,
  req: Request,
  account: Parameters<typeof findConnectionByAccount>[1],
  fields: Omit<ConnectionInput, 'id'>,
): Promise<string> {
  const db = deps.web.deps.db;
  const current = deps.sessions.connectionOf(req);
  const existing = current ? await getConnection(db, current) : await findConnectionByAccount(db, account);
  const id = existing?.id ?? `c-${randomUUID()}`;
  await upsertConnection(db, { id, displayName: fields.googleEmail ?? undefined, ...fields });
  return id;
}
