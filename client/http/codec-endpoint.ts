/**
 * The codec endpoint ("codec server") that lets operators read encrypted payloads in the Temporal Web UI and
 * the `temporal` CLI: `POST /codec/decode` and `POST /codec/encode`, per Temporal's remote codec protocol —
 * a JSON body `{"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]}` answered in the same shape.
 *
 * It hands out plaintext, so it is protected: every request needs `Authorization: Bearer
 * <CALENDAR_SYNC_ADMIN_TOKEN>` (missing → 401, wrong → 403; without a configured token nothing is served).
 * Browsers call it cross-origin from the UI, so the UI's origin must be listed in `CODEC_CORS_ORIGINS`
 * (preflight `OPTIONS` is answered for listed origins only). For the local sandbox only,
 * `CODEC_ALLOW_UNAUTHENTICATED_ORIGIN=http://localhost:8233` lets requests from that (loopback) origin through
 * without a token, because the dev server's UI sends none; an `Origin` header is trivially forged outside a
 * browser, so this is refused for anything but a loopback origin and must never be set in production.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { HttpError, type EmuRequest, type EmuResponse, type Router } from '../../lib/http-server.js';
import { payloadFromJson, payloadToJson, type JsonPayload } from '../../lib/payload-codec.js';

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** The Temporal namespace whose payloads this codec handles; requests for another (`X-Namespace`) are refused. */
  namespace: string;
  /** `CALENDAR_SYNC_ADMIN_TOKEN`; without it only the unauthenticated sandbox origin (if any) is served. */
  adminToken?: string;
  /** Browser origins allowed to call the endpoint (the Temporal UI's), for CORS. */
  corsOrigins?: string[];
  /** Sandbox only: a loopback origin allowed without a token. */
  allowUnauthenticatedOrigin?: string;
}

/** Largest number of payloads accepted in one request (the UI sends one event's payloads at a time). */
const MAX_PAYLOADS = 1000;

export function codecEndpointFromEnv(
  codec: PayloadCodec,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
): CodecEndpointOptions {
  return {
    codec,
    namespace,
    adminToken: env.CALENDAR_SYNC_ADMIN_TOKEN || undefined,
    corsOrigins: (env.CODEC_CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim().replace(/\/+$/, ''))
      .filter(Boolean),
    allowUnauthenticatedOrigin: env.CODEC_ALLOW_UNAUTHENTICATED_ORIGIN || undefined,
  };
}

/** Registers `OPTIONS|POST <basePath>/decode|encode` on the router. */
export function mountCodecEndpoint(router: Router, opts: CodecEndpointOptions, basePath = '/codec'): Router {
  const unauthenticatedOrigin = opts.allowUnauthenticatedOrigin?.replace(/\/+$/, '');
  if (unauthenticatedOrigin && !isLoopbackOrigin(unauthenticatedOrigin)) {
    throw new Error(
      `CODEC_ALLOW_UNAUTHENTICATED_ORIGIN must be a loopback origin (sandbox only), got "${unauthenticatedOrigin}"`,
    );
  }
  const corsOrigins = new Set([...(opts.corsOrigins ?? []), ...(unauthenticatedOrigin ? [unauthenticatedOrigin] : [])]);
  const adminTokenDigest = opts.adminToken ? digest(opts.adminToken) : undefined;

  const cors = (req: EmuRequest): Record<string, string> => {
    const origin = header(req, 'origin');
    if (!origin || !corsOrigins.has(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type, X-Namespace',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
      vary: 'Origin',
    };
  };

  const preflight = (req: EmuRequest): EmuResponse => {
    const headers = cors(req);
    if (!headers['access-control-allow-origin']) return { status: 403, body: { error: 'origin not allowed' } };
    return { status: 204, headers };
  };

  const authorize = (req: EmuRequest): void => {
    const headers = cors(req);
    if (unauthenticatedOrigin && header(req, 'origin') === unauthenticatedOrigin) return;
    const auth = header(req, 'authorization');
    const token = auth && /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    if (!token) {
      throw new HttpError(
        401,
        { error: 'missing bearer token' },
        { ...headers, 'www-authenticate': 'Bearer realm="codec"' },
      );
    }
    if (!adminTokenDigest || !timingSafeEqual(digest(token), adminTokenDigest)) {
      throw new HttpError(403, { error: 'invalid token' }, headers);
    }
  };

  const handler =
    (op: 'encode' | 'decode') =>
    async (req: EmuRequest): Promise<EmuResponse> => {
      const headers = cors(req);
      authorize(req);
      const namespace = header(req, 'x-namespace');
      if (namespace && namespace !== opts.namespace) {
        throw new HttpError(403, { error: `namespace "${namespace}" is not served by this codec` }, headers);
      }
      const payloads = parsePayloads(req.json(), headers);
      let result: Payload[];
      try {
        result = await opts.codec[op](payloads);
      } catch (err) {
        throw new HttpError(400, { error: `cannot ${op} payloads: ${(err as Error).message}` }, headers);
      }
      return { status: 200, headers, body: { payloads: result.map(payloadToJson) } };
    };

  return router
    .on('OPTIONS', `${basePath}/decode`, preflight)
    .on('OPTIONS', `${basePath}/encode`, preflight)
    .on('POST', `${basePath}/decode`, handler('decode'))
    .on('POST', `${basePath}/encode`, handler('encode'));
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function parsePayloads(body: unknown, headers: Record<string, string>): Payload[] {
  const bad = (why: string) => new HttpError(400, { error: `invalid codec request: ${why}` }, headers);
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

function header(req: EmuRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const { hostname } = new URL(origin);
    return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
  } catch {
    return false;
  }
}
