/**
 * The codec endpoint ("codec server") that lets operators read encrypted payloads in the Temporal Web UI and
 * the `temporal` CLI: `POST /codec/decode` and `POST /codec/encode`, per Temporal's remote codec protocol —
 * a JSON body `{"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]}` answered in the same shape.
 *
 * It hands out plaintext, so every request is authenticated, one of two ways:
 * - `Authorization: Bearer <CALENDAR_SYNC_ADMIN_TOKEN>` (the CLI, or the UI with "pass access token");
 * - the codec cookie, which an operator gets by entering the admin token at `/codec/sign-in`: the Temporal UI
 *   sends it when its codec setting "Include cross-origin credentials" is on. The cookie is signed, HttpOnly,
 *   `SameSite=Strict`, limited to `/codec`, expires server side after 12 hours and dies when the admin token
 *   changes (it carries a digest of it).
 * Missing → 401, wrong → 403; without a configured admin token nothing is served. Request headers such as
 * `Origin` never authenticate anything: they only decide the CORS answer, for `CODEC_CORS_ORIGINS`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { payloadFromJson, payloadToJson, type JsonPayload } from '../../lib/payload-codec.js';
import { HttpProblem } from './http-problem.js';

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** The Temporal namespace whose payloads this codec handles; requests for another (`X-Namespace`) are refused. */
  namespace: string;
  /** `CALENDAR_SYNC_ADMIN_TOKEN`; without it nothing is served. */
  adminToken?: string;
  /** Browser origins allowed to call the endpoint (the Temporal UI's), for CORS. */
  corsOrigins?: string[];
  /** Where `/codec/sign-in` sends the operator afterwards (the Temporal UI). */
  uiUrl?: string;
  /** Mark the codec cookie `Secure` (the server is reached over https). */
  secureCookies?: boolean;
}

export const CODEC_COOKIE = 'cs_codec';
const CODEC_COOKIE_TTL_MS = 12 * 3600 * 1000;

/** Largest number of payloads accepted in one request (the UI sends one event's payloads at a time). */
const MAX_PAYLOADS = 1000;
const CODEC_BODY_LIMIT = 4 * 1024 * 1024;

export function codecEndpointFromEnv(
  codec: PayloadCodec,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
): CodecEndpointOptions {
  if (env.CODEC_ALLOW_UNAUTHENTICATED_ORIGIN) {
    // It trusted the request's own Origin header, which any client can send.
    throw new Error(
      'CODEC_ALLOW_UNAUTHENTICATED_ORIGIN is no longer supported: sign in at /codec/sign-in with the admin token ' +
        'and turn on "Include cross-origin credentials" in the Temporal UI codec settings (docs/security.md)',
    );
  }
  return {
    codec,
    namespace,
    adminToken: env.CALENDAR_SYNC_ADMIN_TOKEN || undefined,
    corsOrigins: (env.CODEC_CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim().replace(/\/+$/, ''))
      .filter(Boolean),
    uiUrl: env.TEMPORAL_UI_URL || undefined,
  };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const tokenTag = (token: string) => digest(`codec-cookie:${token}`).toString('base64url').slice(0, 22);

/** Registers `OPTIONS|POST <basePath>/decode|encode` and the cookie sign-in. Needs @fastify/cookie. */
export function registerCodecEndpoint(app: FastifyInstance, opts: CodecEndpointOptions, basePath = '/codec'): void {
  const corsOrigins = new Set(opts.corsOrigins ?? []);
  const adminTokenDigest = opts.adminToken ? digest(opts.adminToken) : undefined;
  const secure = opts.secureCookies ?? false;

  const cors = (req: FastifyRequest): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin || !corsOrigins.has(origin)) return { vary: 'Origin' };
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type, X-Namespace',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
      // The UI reads the answer cross-origin; CORS governs it, not the same-origin resource policy.
      'cross-origin-resource-policy': 'cross-origin',
      vary: 'Origin',
    };
  };

  const sameToken = (token: string) => !!adminTokenDigest && timingSafeEqual(digest(token), adminTokenDigest);

  const cookieValid = (req: FastifyRequest): boolean => {
    const raw = req.cookies[CODEC_COOKIE];
    if (!raw || !opts.adminToken) return false;
    const unsigned = req.unsignCookie(raw);
    if (!unsigned.valid) return false;
    const [expires, tag] = unsigned.value.split('.');
    return Number(expires) > Date.now() && tag === tokenTag(opts.adminToken);
  };

  const authorize = (req: FastifyRequest, headers: Record<string, string>): void => {
    if (cookieValid(req)) return;
    const auth = req.headers.authorization;
    const token = auth && /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    if (!token) {
      throw new HttpProblem(
        401,
        { error: 'missing bearer token or codec sign-in' },
        { ...headers, 'www-authenticate': 'Bearer realm="codec"' },
      );
    }
    if (!sameToken(token)) throw new HttpProblem(403, { error: 'invalid token' }, headers);
  };

  const preflight = async (req: FastifyRequest, reply: FastifyReply) => {
    const headers = cors(req);
    if (!headers['access-control-allow-origin']) throw new HttpProblem(403, { error: 'origin not allowed' }, headers);
    return reply.code(204).headers(headers).send();
  };

  const handler = (op: 'encode' | 'decode') => async (req: FastifyRequest, reply: FastifyReply) => {
    const headers = cors(req);
    authorize(req, headers);
    const namespace = req.headers['x-namespace'];
    if (namespace && namespace !== opts.namespace) {
      throw new HttpProblem(403, { error: `namespace "${String(namespace)}" is not served by this codec` }, headers);
    }
    const payloads = parsePayloads(req.body, headers);
    let result: Payload[];
    try {
      result = await opts.codec[op](payloads);
    } catch (err) {
      throw new HttpProblem(400, { error: `cannot ${op} payloads: ${(err as Error).message}` }, headers);
    }
    return reply.headers({ ...headers, 'cache-control': 'no-store' }).send({ payloads: result.map(payloadToJson) });
  };

  const limited = { rateLimit: { max: 10, timeWindow: '1 minute' } };
  app.get(`${basePath}/sign-in`, { config: limited }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(signInPage(basePath)),
  );
  app.post<{ Body: { token?: string } }>(
    `${basePath}/sign-in`,
    { config: limited, bodyLimit: 4096 },
    async (req, reply) => {
      const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
      if (!token || !sameToken(token)) {
        req.log.warn('codec sign-in with a wrong admin token');
        throw new HttpProblem(403, { error: 'wrong admin token' });
      }
      reply.setCookie(CODEC_COOKIE, `${Date.now() + CODEC_COOKIE_TTL_MS}.${tokenTag(opts.adminToken!)}`, {
        path: basePath,
        httpOnly: true,
        sameSite: 'strict',
        secure,
        signed: true,
        maxAge: CODEC_COOKIE_TTL_MS / 1000,
      });
      // A page, not a redirect: the CSP's form-action would stop a redirect to the UI's origin.
      return reply.type('text/html; charset=utf-8').send(signedInPage(opts.uiUrl));
    },
  );
  const route = { bodyLimit: CODEC_BODY_LIMIT };
  app.options(`${basePath}/decode`, preflight);
  app.options(`${basePath}/encode`, preflight);
  app.post(`${basePath}/decode`, route, handler('decode'));
  app.post(`${basePath}/encode`, route, handler('encode'));
}

function signInPage(basePath: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Codec sign-in</title></head>
<body><main><h1>Decode payloads in the Temporal UI</h1>
<form method="post" action="${basePath}/sign-in"><label>Admin token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button></form>
<p>Then turn on “Include cross-origin credentials” in the Temporal UI’s codec server settings.</p></main></body></html>`;
}

function signedInPage(uiUrl: string | undefined): string {
  const back = uiUrl ? `<p><a href="${encodeURI(uiUrl)}">Back to the Temporal UI</a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Codec sign-in</title></head>
<body><main><h1>Signed in for 12 hours</h1><p>The Temporal UI can now decode payloads (with “Include cross-origin credentials” on).</p>${back}</main></body></html>`;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function parsePayloads(body: unknown, headers: Record<string, string>): Payload[] {
  const bad = (why: string) => new HttpProblem(400, { error: `invalid codec request: ${why}` }, headers);
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { payloads?: unknown }).payloads)) {
    throw bad('expected {"payloads": [...]}');
  }
  const list = (body as { payloads: unknown[] }).payloads;
  if (list.length > MAX_PAYLOADS) throw bad(`at most ${MAX_PAYLOADS} payloads per request`);
  return list.map((p, i) => {
    if (typeof p !== 'object' || p === null) throw bad(`payloads[${i}] is not an object`);
    const { metadata, data } = p as { metadata?: unknown; data?: unknown };
    if (data !== undefined && (typeof data !== 'string' || !BASE64.test(data))) {
      throw bad(`payloads[${i}].data must be base64`);
    }
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
      throw bad(`payloads[${i}].metadata must be an object`);
    }
    for (const [k, v] of Object.entries((metadata ?? {}) as Record<string, unknown>)) {
      if (typeof v !== 'string' || !BASE64.test(v)) throw bad(`payloads[${i}].metadata.${k} must be base64`);
    }
    return payloadFromJson(p as JsonPayload);
  });
}
