/**
 * The web service: the single entry point from the internet into the sync — Pipedrive webhooks, Google push,
 * OAuth callbacks, the settings page, the admin API, the codec endpoint, and `/healthz` `/readyz` `/metrics` — on
 * Fastify. It holds no sync state of its own: it authenticates and validates, stores a webhook in the Postgres inbox
 * before acknowledging it, and the inbox relay started here signals the user's workflow (docs/architecture.md).
 *
 * Every byte it receives is hostile until proven otherwise, so the server is configured for it: timeouts for
 * headers, whole requests and idle sockets (slow clients), a cap on connections and requests per socket, a
 * body limit per route that is enforced from `Content-Length` before anything else and while streaming,
 * JSON bounded in depth, security headers (helmet) on every answer, a request id of our own on every log
 * line, and no internal error message in any response.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { SecretBox } from '../../lib/secret-box.js';
import { createLogger, type Logger } from '../../lib/logger.js';
import { registerAdminRoutes } from '../admin/routes.js';
import type { SyncClient } from '../sync-client.js';
import { registerCodecEndpoint, type CodecEndpointOptions } from './codec-endpoint.js';
import { registerGooglePush } from './google-push.js';
import { registerHealthRoutes } from './health.js';
import { HttpProblem, isDependencyUnavailable } from './http-problem.js';
import { startInboxRelay } from './inbox-relay.js';
import { registerOAuthRoutes } from './oauth-routes.js';
import { errorSummary, registerPipedriveWebhook } from './pipedrive-webhook.js';
import { registerBodyParsers, rejectOversizeByLength } from './request-body.js';
import { Sessions } from './session.js';
import { registerSettingsApi } from './settings-api.js';
import { registerSettingsPage } from './settings-page.js';
import type { WebConfig } from './web-config.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Status for an unexpected failure on this route: 503 on the ingress, so senders retry (never a 500). */
    unavailableStatus?: number;
  }
}

export interface HttpServerDeps {
  db: pg.Pool;
  sync: SyncClient;
  secrets: SecretBox;
  /** pino logger (default: `createLogger({ name: 'web' })`). */
  log?: Logger;
  /** Shown on the start page so a sandbox user finds the Temporal Web UI. */
  temporalUiUrl?: string;
  /** The codec endpoint for the Temporal UI (`/codec/decode|encode`); not served without it. */
  codec?: CodecEndpointOptions;
  /** How often stored webhook deliveries are retried into Temporal (default 2 s). */
  relayIntervalMs?: number;
  /** OAuth, sessions and the settings page; only the ingress (and admin API) is served without it. */
  web?: WebConfig;
  /** Bearer token of the admin API and `/metrics` (`CALENDAR_SYNC_ADMIN_TOKEN`); without it both answer 503. */
  adminToken?: string;
  /** Server limits; the defaults suit production, tests shorten the timeouts. */
  limits?: Partial<ServerLimits>;
}

export interface ServerLimits {
  /** Time to receive a request's headers (slowloris). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included. */
  requestTimeoutMs: number;
  /** A socket with no traffic for this long is closed. */
  connectionTimeoutMs: number;
  /** An idle keep-alive socket is closed after this. */
  keepAliveTimeoutMs: number;
  maxRequestsPerSocket: number;
  maxConnections: number;
  /** Total size of a request's headers (431 beyond). */
  maxHeaderBytes: number;
  /** Default body limit for routes that set none. */
  bodyLimitBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 2000,
  maxHeaderBytes: 16 * 1024,
  bodyLimitBytes: 16 * 1024,
};

export interface RunningHttpServer {
  url: string;
  /** Stops accepting, finishes in-flight requests (an acknowledged delivery is stored), then resolves. */
  close(): Promise<void>;
}

/** Content Security Policy: the settings page loads only its own script and stylesheet, never inline code. */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  objectSrc: ["'none'"],
};

export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const log = deps.log ?? createLogger({ name: 'web' });
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's type the plain one routes expect.
    loggerInstance: log as FastifyBaseLogger,
    // Our own ids: a client's X-Request-Id is never trusted (it could forge or flood the log's correlation).
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // One line per request is written below, without the query string (OAuth codes travel there).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: limits.bodyLimitBytes,
    routerOptions: { maxParamLength: 200 },
    connectionTimeout: limits.connectionTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    trustProxy: false,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node checks the two timeouts above (its default, 30 s, lets a slow client linger).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
  });
  app.server.maxConnections = limits.maxConnections;

  registerBodyParsers(app);
  await app.register(fastifyCookie, { secret: deps.web?.sessionSecret ?? randomBytes(32) });
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // Only on the routes that ask for it (config.rateLimit): never on the ingress (see docs/security.md).
  await app.register(fastifyRateLimit, { global: false });

  app.addHook('onRequest', rejectOversizeByLength);
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        method: req.method,
        route: req.routeOptions.url ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpProblem) return reply.code(err.statusCode).headers(err.headers).send(err.body);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      // Fastify's and its plugins' own client errors (validation, 413, 415, 429): their messages are safe.
      return reply.code(status).send({ error: (err as Error).message });
    }
    if (isDependencyUnavailable(err) || req.routeOptions.config?.unavailableStatus === 503) {
      req.log.error({ err: errorSummary(err) }, 'dependency unavailable');
      return reply.code(503).header('retry-after', '5').send({ error: 'temporarily unavailable, retry later' });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  registerHealthRoutes(app, { db: deps.db, sync: deps.sync, adminToken: deps.adminToken });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(startPage(deps.temporalUiUrl)));
  registerPipedriveWebhook(app, deps);
  registerGooglePush(app, deps);
  if (deps.codec) {
    registerCodecEndpoint(app, {
      ...deps.codec,
      uiUrl: deps.codec.uiUrl ?? deps.temporalUiUrl,
      secureCookies: deps.codec.secureCookies ?? deps.web?.publicUrl.startsWith('https:') ?? false,
    });
  }
  registerAdminRoutes(app, deps);
  if (deps.web) {
    const sessions = new Sessions(deps.db, deps.web.sessionSecret, deps.web.publicUrl.startsWith('https:'));
    registerOAuthRoutes(app, { web: deps.web, sessions, sync: deps.sync });
    registerSettingsApi(app, { web: deps.web, sessions, sync: deps.sync });
    registerSettingsPage(app);
  }
  return app;
}

export async function startHttpServer(deps: HttpServerDeps, port = 0, host = '127.0.0.1'): Promise<RunningHttpServer> {
  const log = deps.log ?? createLogger({ name: 'web' });
  const app = await buildHttpServer({ ...deps, log });
  await app.listen({ port, host });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const relay = startInboxRelay({ db: deps.db, sync: deps.sync, log }, deps.relayIntervalMs);
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${boundPort}`,
    async close() {
      // In-flight requests finish first (each stores before it answers 200); new ones get 503 meanwhile.
      await app.close();
      await relay.stop();
    },
  };
}

function startPage(temporalUiUrl: string | undefined): string {
  const ui = temporalUiUrl
    ? `<p>Temporal Web UI: <a href="${encodeURI(temporalUiUrl)}">${encodeURI(temporalUiUrl)}</a></p>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pipedrive ⇄ Google Calendar sync</title></head>
<body><main><h1>Pipedrive ⇄ Google Calendar sync</h1><p>The sync service is running.
<a href="/settings">Open your sync settings</a>.</p>${ui}</main></body></html>`;
}
