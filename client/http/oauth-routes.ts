/**
 * Connecting accounts: OAuth 2.0 for Google (offline access, so we get a refresh token) and Pipedrive (OAuth
 * app, whose token answer names the company's `api_domain`), or a Pipedrive API token instead. Every round
 * trip carries a one-time `state` bound to its provider (CSRF and replay protection, see session.ts).
 * Connecting signs the browser in: the first account creates the user's connection, the second joins it, and
 * connecting again later finds it again.
 *
 * Pipedrive's API domain is trusted only when it is a Pipedrive company host (or an origin the operator listed,
 * for the emulators): we send credentials there and believe the user and company ids it answers. One Pipedrive
 * (company, user) belongs to one connection — the database enforces it; a second claim is answered 409.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  findConnectionByAccount,
  getConnection,
  isPipedriveUserTaken,
  saveCredentials,
  upsertConnection,
  type ConnectionInput,
} from '../../adapters/store/connections.js';
import { createGoogleCalendarApi, createOAuthClient } from '../../adapters/google/calendar-api.js';
import { PipedriveApi } from '../../adapters/pipedrive/client.js';
import { HttpProblem } from './http-problem.js';
import { trustedApiDomain } from './pipedrive-api-domain.js';
import type { OAuthProvider, Sessions } from './session.js';
import type { WebConfig } from './web-config.js';

const GOOGLE_SCOPES = ['https://www.googleapis.com/auth/calendar', 'openid', 'email'];

/** Per client address: a person connects a few times; a script hammering these gets 429. */
const OAUTH_RATE = { rateLimit: { max: 30, timeWindow: '1 minute' } };
const TOKEN_FORM_RATE = { rateLimit: { max: 10, timeWindow: '1 minute' } };

export const PIPEDRIVE_USER_TAKEN =
  'This Pipedrive user is already connected to another sync account. Sign in with that account, or disconnect it first.';

export interface OAuthRouteDeps {
  web: WebConfig;
  sessions: Sessions;
}

interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
}

const callbackSchema = {
  querystring: {
    type: 'object',
    properties: {
      state: { type: 'string', maxLength: 200 },
      code: { type: 'string', maxLength: 2048 },
      error: { type: 'string', maxLength: 200 },
    },
  },
} as const;

/** Back to the settings page with a message the page shows (never a secret). */
function backWith(deps: OAuthRouteDeps, reply: FastifyReply, message: string): FastifyReply {
  deps.sessions.clearStateCookie(reply);
  return reply.redirect(`/settings?error=${encodeURIComponent(message)}`, 302);
}

const STATE_REFUSED =
  'This sign-in expired, was already used, or was not started from this browser. Please start again.';

/**
 * A 400 page for what only a forged, replayed or mistyped request does (a bad `state`, a domain that is not
 * Pipedrive's); a provider's own refusal (`backWith`) goes back to the settings page instead.
 */
function refused(deps: OAuthRouteDeps, reply: FastifyReply, message: string): FastifyReply {
  deps.sessions.clearStateCookie(reply);
  return reply.code(400).type('text/html; charset=utf-8').send(messagePage('Not connected', message));
}

function messagePage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body><main><h1>${title}</h1><p>${message}</p><p><a href="/settings">Back to the settings</a></p></main></body></html>`;
}

export function registerOAuthRoutes(app: FastifyInstance, deps: OAuthRouteDeps): void {
  const { web, sessions } = deps;
  const googleRedirect = `${web.publicUrl}/oauth/google/callback`;
  const pipedriveRedirect = `${web.publicUrl}/oauth/pipedrive/callback`;
  const allowedOrigins = web.allowedPipedriveApiOrigins ?? [];

  const stateOk = async (req: FastifyRequest<{ Querystring: CallbackQuery }>, provider: OAuthProvider) =>
    sessions.consumeOAuthState(req, provider, req.query.state);

  app.get('/connect/google', { config: OAUTH_RATE }, async (_req, reply) => {
    const state = await sessions.newOAuthState(reply, 'google');
    const url = createOAuthClient({ ...web.deps.google, redirectUri: googleRedirect }).generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      scope: GOOGLE_SCOPES,
      state,
      ...(web.googleLoginHint ? { login_hint: web.googleLoginHint } : {}),
    });
    return reply.redirect(url, 302);
  });

  app.get<{ Querystring: CallbackQuery }>(
    '/oauth/google/callback',
    { config: OAUTH_RATE, schema: callbackSchema },
    async (req, reply) => {
      if (!(await stateOk(req, 'google'))) return refused(deps, reply, STATE_REFUSED);
      const code = req.query.code;
      if (!code) return backWith(deps, reply, `Google did not connect: ${req.query.error ?? 'no authorization code'}.`);
      const oauth = createOAuthClient({ ...web.deps.google, redirectUri: googleRedirect });
      let tokens;
      try {
        tokens = (await oauth.getToken(code)).tokens;
      } catch (err) {
        req.log.warn({ error: (err as Error).message }, 'google code exchange failed');
        return backWith(deps, reply, 'Google refused the sign-in. Please try again.');
      }
      if (!tokens.refresh_token)
        return backWith(
          deps,
          reply,
          'Google sent no refresh token; remove the app’s access in your Google account and connect again.',
        );
      const credentials = {
        refreshToken: tokens.refresh_token,
        accessToken: tokens.access_token ?? undefined,
        expiryDate: tokens.expiry_date ?? undefined,
      };
      // The primary calendar's id is the account's e-mail address.
      const google = createGoogleCalendarApi(web.deps.google, credentials, async () => {});
      const primary = await google.getCalendar('primary');
      const email = primary.id ?? '';
      const connectionId = await signInOrCreate(deps, req, { googleEmail: email }, { googleEmail: email });
      await saveCredentials(web.deps.db, web.deps.secrets, connectionId, 'google', credentials);
      req.log.info({ connectionId }, 'google account connected');
      await sessions.start(reply, connectionId);
      sessions.clearStateCookie(reply);
      return reply.redirect('/settings', 302);
    },
  );

  app.get('/connect/pipedrive', { config: OAUTH_RATE }, async (_req, reply) => {
    const state = await sessions.newOAuthState(reply, 'pipedrive');
    const url = new URL(web.deps.pipedrive.authorizeUrl ?? 'https://oauth.pipedrive.com/oauth/authorize');
    url.searchParams.set('client_id', web.deps.pipedrive.clientId);
    url.searchParams.set('redirect_uri', pipedriveRedirect);
    url.searchParams.set('state', state);
    return reply.redirect(url.toString(), 302);
  });

  app.get<{ Querystring: CallbackQuery }>(
    '/oauth/pipedrive/callback',
    { config: OAUTH_RATE, schema: callbackSchema },
    async (req, reply) => {
      if (!(await stateOk(req, 'pipedrive'))) return refused(deps, reply, STATE_REFUSED);
      const code = req.query.code;
      if (!code)
        return backWith(deps, reply, `Pipedrive did not connect: ${req.query.error ?? 'no authorization code'}.`);
      const res = await fetch(web.deps.pipedrive.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${web.deps.pipedrive.clientId}:${web.deps.pipedrive.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: pipedriveRedirect }),
        signal: AbortSignal.timeout(10_000),
      });
      const tokens = tokenAnswer.safeParse(await res.json().catch(() => null));
      if (!res.ok || !tokens.success) {
        req.log.warn({ status: res.status }, 'pipedrive code exchange failed');
        return backWith(deps, reply, 'Pipedrive refused the sign-in. Please try again.');
      }
      const apiDomain = trustedApiDomain(tokens.data.api_domain, allowedOrigins);
      if (!apiDomain) {
        req.log.warn('pipedrive token answer named an api_domain that is not a Pipedrive host');
        return refused(deps, reply, 'Pipedrive answered with a company domain that is not a Pipedrive host.');
      }
      const credentials = {
        kind: 'oauth' as const,
        accessToken: tokens.data.access_token,
        refreshToken: tokens.data.refresh_token,
        expiresAt: Date.now() + tokens.data.expires_in * 1000,
      };
      const api = new PipedriveApi({
        apiDomain,
        auth: {
          ...credentials,
          clientId: web.deps.pipedrive.clientId,
          clientSecret: web.deps.pipedrive.clientSecret,
          tokenUrl: web.deps.pipedrive.tokenUrl,
        },
      });
      let connectionId: string;
      try {
        connectionId = await connectPipedrive(deps, req, api, apiDomain);
      } catch (err) {
        if (err instanceof HttpProblem && err.statusCode === 409) {
          sessions.clearStateCookie(reply);
          return reply.code(409).type('text/html; charset=utf-8').send(conflictPage());
        }
        throw err;
      }
      await saveCredentials(web.deps.db, web.deps.secrets, connectionId, 'pipedrive', credentials);
      await sessions.start(reply, connectionId);
      sessions.clearStateCookie(reply);
      return reply.redirect('/settings', 302);
    },
  );

  // The alternative to OAuth: a personal API token (Settings → Personal preferences → API in Pipedrive).
  app.post<{ Body: Record<string, unknown> }>(
    '/connect/pipedrive-token',
    { config: TOKEN_FORM_RATE, bodyLimit: 8 * 1024 },
    async (req, reply) => {
      const form = (req.body ?? {}) as Record<string, unknown>;
      const session = await sessions.current(req);
      if (!session || !sessions.csrfValid(session, form.csrf)) {
        throw new HttpProblem(403, { error: 'sign in with Google first, from the settings page' });
      }
      const parsed = tokenForm.safeParse(form);
      if (!parsed.success) return backWith(deps, reply, parsed.error.issues.map((i) => i.message).join(' '));
      const apiDomain = trustedApiDomain(parsed.data.api_domain, allowedOrigins);
      if (!apiDomain)
        return refused(deps, reply, 'The company domain must look like https://yourcompany.pipedrive.com.');
      const api = new PipedriveApi({ apiDomain, auth: { kind: 'api-token', token: parsed.data.api_token } });
      try {
        await connectPipedrive(deps, req, api, apiDomain);
      } catch (err) {
        if (err instanceof HttpProblem && err.statusCode === 409) {
          return reply.code(409).type('text/html; charset=utf-8').send(conflictPage());
        }
        return backWith(deps, reply, 'Pipedrive did not accept that API token for that company domain.');
      }
      await saveCredentials(web.deps.db, web.deps.secrets, session.connectionId, 'pipedrive', {
        kind: 'api-token',
        token: parsed.data.api_token,
      });
      return reply.redirect('/settings', 302);
    },
  );
}

function conflictPage(): string {
  return messagePage('Already connected', PIPEDRIVE_USER_TAKEN);
}

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
  api_domain: z.string().min(1).max(300),
});

const tokenForm = z.object({
  api_token: z.string().trim().min(20, 'The API token looks too short.').max(200, 'The API token looks too long.'),
  api_domain: z
    .string()
    .trim()
    .max(300)
    .transform((u) => u.replace(/\/+$/, '')),
});

async function connectPipedrive(
  deps: OAuthRouteDeps,
  req: FastifyRequest,
  api: PipedriveApi,
  apiDomain: string,
): Promise<string> {
  const me = await api.getCurrentUser();
  const account = { pipedriveUserId: me.id, pipedriveCompanyId: me.company_id };
  const connectionId = await signInOrCreate(deps, req, account, { ...account, pipedriveApiDomain: apiDomain });
  req.log.info({ connectionId }, 'pipedrive account connected');
  return connectionId;
}

/** The signed-in connection, the one these accounts already belong to, or a new one. */
async function signInOrCreate(
  deps: OAuthRouteDeps,
  req: FastifyRequest,
  account: Parameters<typeof findConnectionByAccount>[1],
  fields: Omit<ConnectionInput, 'id'>,
): Promise<string> {
  const db = deps.web.deps.db;
  const current = (await deps.sessions.current(req))?.connectionId;
  const existing = current ? await getConnection(db, current) : await findConnectionByAccount(db, account);
  const id = existing?.id ?? `c-${randomUUID()}`;
  try {
    await upsertConnection(db, { id, displayName: fields.googleEmail ?? undefined, ...fields });
  } catch (err) {
    if (isPipedriveUserTaken(err)) {
      req.log.warn({ connectionId: id }, 'pipedrive user already belongs to another connection');
      throw new HttpProblem(409, { error: PIPEDRIVE_USER_TAKEN });
    }
    throw err;
  }
  return id;
}
