/**
 * How the web service reads request bodies: JSON (bounded in nesting depth, so a hostile `[[[[…]]]]` is a
 * 400 and never a stack overflow further down) and HTML form posts. Size limits are per route (Fastify's
 * `bodyLimit`, enforced while streaming); `rejectOversizeByLength` refuses a declared-too-large body before
 * anything else runs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem } from './http-problem.js';

/** Deeper than anything the API or Pipedrive sends (webhooks are ~4 levels deep). */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of a JSON text, counted without parsing it (brackets inside strings do not count). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new HttpProblem(400, { error: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpProblem(400, { error: 'malformed JSON body' });
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
}

/** onRequest: a `Content-Length` above the route's limit is answered 413 before authentication or reading. */
export async function rejectOversizeByLength(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const limit = req.routeOptions.bodyLimit ?? 0;
  if (limit > 0 && Number.isFinite(declared) && declared > limit) {
    throw new HttpProblem(413, { error: `request body too large (limit ${limit} bytes)` }, { connection: 'close' });
  }
}
