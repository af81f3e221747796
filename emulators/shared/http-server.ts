/**
 * The API emulators' small HTTP toolkit: a method+path router with `:param` segments, bounded body reading (413
 * past the limit), and a server wrapper that listens on a chosen (or ephemeral) port. Dependency-free, so the
 * emulators start in milliseconds in tests and benchmarks. (The product's web service is built on Fastify.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmuRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment by the router. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  params: Record<string, string>;
  /** Raw body text ('' when there is none). */
  rawBody: string;
  /** Parsed JSON body, or undefined when the body is empty. Throws HttpError 400 lazily if invalid. */
  json(): unknown;
}

export interface EmuResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  /** Serialized as JSON unless it is a string (sent as-is) or undefined (no body). */
  body?: unknown;
}

/** Thrown inside a handler to answer with a given status and body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export type Handler = (req: EmuRequest) => Promise<EmuResponse> | EmuResponse;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), segments: splitPath(pattern), handler });
    return this;
  }

  /** Finds the handler for a request; `undefined` when no route matches the path, 'method' when only the method is wrong. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    const parts = splitPath(path);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method === method.toUpperCase()) return { handler: route.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(v);
      } catch {
        return undefined;
      }
    } else if (p !== v) {
      return undefined;
    }
  }
  return params;
}

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Called for every request before routing; may answer itself (fault injection, auth). */
  before?: (req: EmuRequest) => Promise<EmuResponse | undefined> | EmuResponse | undefined;
  notFound: (req: EmuRequest) => EmuResponse;
  /** Maps an unexpected exception to a response (default: 500 with a plain JSON body). */
  onError?: (err: unknown, req: EmuRequest) => EmuResponse;
}

export interface RunningServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export async function serve(router: Router, opts: ServeOptions): Promise<RunningServer> {
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      // A request target the URL parser rejects (`//a:99999/`, `//[`) is the client's error, not a crash:
      // this handler runs detached (`void`), so an exception here would be an unhandled rejection.
      url = new URL(req.url ?? '/', 'http://emulator.local');
    } catch {
      return send(res, { status: 400, body: { error: 'invalid request target' }, headers: { connection: 'close' } });
    }
    let emuReq: EmuRequest | undefined;
    try {
      const rawBody = await readBody(req, maxBody);
      let parsed: { value: unknown } | undefined;
      emuReq = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        params: {},
        rawBody,
        json() {
          if (!parsed) {
            if (rawBody.trim() === '') parsed = { value: undefined };
            else {
              try {
                parsed = { value: JSON.parse(rawBody) };
              } catch {
                throw new HttpError(400, { error: 'invalid JSON body' });
              }
            }
          }
          return parsed.value;
        },
      };
      const early = opts.before ? await opts.before(emuReq) : undefined;
      if (early) return send(res, early);
      const found = router.match(emuReq.method, emuReq.path);
      if (found === undefined || found === 'method') return send(res, opts.notFound(emuReq));
      emuReq.params = found.params;
      send(res, await found.handler(emuReq));
    } catch (err) {
      if (err instanceof HttpError) return send(res, { status: err.status, body: err.body, headers: err.headers });
      if (opts.onError && emuReq) return send(res, opts.onError(err, emuReq));
      send(res, { status: 500, body: { error: String(err) } });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Answer 413 but keep draining (and discarding) the body: destroying the socket would make the
        // client see a connection reset instead of our answer.
        if (chunks.length > 0 || size - chunk.length <= limit) {
          chunks.length = 0;
          reject(
            new HttpError(413, { error: `request body too large (limit ${limit} bytes)` }, { connection: 'close' }),
          );
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, r: EmuResponse): void {
  if (res.headersSent) return;
  const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
  let payload: string | undefined;
  if (r.body !== undefined) {
    if (typeof r.body === 'string') payload = r.body;
    else {
      payload = JSON.stringify(r.body);
      headers['content-type'] ??= 'application/json; charset=UTF-8';
    }
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}
