/**
 * The HTTP server: the single entry point from the outside world into the sync — webhook ingress, Google
 * push ingress (and, as the product grows here, OAuth callbacks, the settings page and the admin API). It
 * holds no sync state of its own: it validates, persists and hands over to the user's workflow.
 */
import type pg from 'pg';
import type { SecretBox } from '../../activities/store/secret-box.js';
import { registerAdminRoutes } from '../admin/routes.js';
import { Router, serve, type RunningServer } from '../../lib/http-server.js';
import type { SyncClient } from '../sync-client.js';
import { mountCodecEndpoint, type CodecEndpointOptions } from './codec-endpoint.js';
import { handleGooglePush } from './google-push.js';
import { registerOAuthRoutes } from './oauth-routes.js';
import { Sessions } from './session.js';
import { registerSettingsApi } from './settings-api.js';
import { registerSettingsPage } from './settings-page.js';
import type { WebConfig } from './web-config.js';
import { startInboxRelay } from './inbox-relay.js';
import { jsonLogger, type Logger } from './log.js';
import { handlePipedriveWebhook } from './pipedrive-webhook.js';

export interface HttpServerDeps {
  db: pg.Pool;
  sync: SyncClient;
  secrets: SecretBox;
  log?: Logger;
  /** Shown on the start page so a sandbox user finds the Temporal Web UI. */
  temporalUiUrl?: string;
  /** The codec endpoint for the Temporal UI (`/codec/decode|encode`); not served without it. */
  codec?: CodecEndpointOptions;
  /** How often stored webhook deliveries are retried into Temporal (default 2 s). */
  relayIntervalMs?: number;
  /** OAuth, sessions and the settings page; only the ingress (and admin API) is served without it. */
  web?: WebConfig;
  /** Bearer token of the admin API (`CALENDAR_SYNC_ADMIN_TOKEN`); without it the admin API answers 503. */
  adminToken?: string;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

/** Webhook bodies are small JSON documents; anything larger is refused before it is read whole. */
const MAX_BODY_BYTES = 256 * 1024;

export async function startHttpServer(deps: HttpServerDeps, port = 0, host = '127.0.0.1'): Promise<RunningHttpServer> {
  const log = deps.log ?? jsonLogger();
  const router = new Router()
    .on('GET', '/healthz', async () => {
      try {
        await deps.db.query('SELECT 1');
        return { status: 200, body: { ok: true } };
      } catch {
        return { status: 503, body: { ok: false, error: 'database unreachable' } };
      }
    })
    .on('GET', '/', () => ({
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: startPage(deps.temporalUiUrl),
    }))
    .on('POST', '/webhooks/pipedrive/:connectionId', (req) => handlePipedriveWebhook({ ...deps, log }, req))
    .on('POST', '/webhooks/google', (req) => handleGooglePush({ ...deps, log }, req));
  if (deps.codec) mountCodecEndpoint(router, deps.codec);
  registerAdminRoutes(router, { ...deps, log });
  if (deps.web) {
    const sessions = new Sessions(deps.web.sessionSecret, deps.web.publicUrl.startsWith('https:'));
    registerOAuthRoutes(router, { web: deps.web, sessions, log });
    registerSettingsApi(router, { web: deps.web, sessions, sync: deps.sync, log });
    registerSettingsPage(router);
  }

  const server: RunningServer = await serve(router, {
    port,
    host,
    maxBodyBytes: MAX_BODY_BYTES,
    notFound: (req) => ({ status: 404, body: { error: `no route for ${req.method} ${req.path}` } }),
    onError: (err, req) => {
      log.log('error', 'request failed', { method: req.method, path: req.path, error: (err as Error).message });
      return { status: 500, body: { error: 'internal error' } };
    },
  });
  const relay = startInboxRelay({ db: deps.db, sync: deps.sync, log }, deps.relayIntervalMs);
  return {
    url: server.url.replace('127.0.0.1', host === '0.0.0.0' ? '127.0.0.1' : host),
    async close() {
      await relay.stop();
      await server.close();
    },
  };
}

function startPage(temporalUiUrl: string | undefined): string {
  const ui = temporalUiUrl ? `<p>Temporal Web UI: <a href="${temporalUiUrl}">${temporalUiUrl}</a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pipedrive ⇄ Google Calendar sync</title></head>
<body><main><h1>Pipedrive ⇄ Google Calendar sync</h1><p>The sync service is running.
<a href="/settings">Open your sync settings</a>.</p>${ui}</main></body></html>`;
}
