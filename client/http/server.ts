/**
 * The HTTP server: the single entry point from the outside world into the sync (webhook ingress, Google
 * push ingress, OAuth callbacks, the settings page and the admin API grow here). It holds no sync state of
 * its own: it validates, persists and hands over to the user's workflow.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { SyncClient } from '../sync-client.js';

export interface HttpServerDeps {
  db: pg.Pool;
  sync: SyncClient;
  /** Shown on the start page so a sandbox user finds the Temporal Web UI. */
  temporalUiUrl?: string;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

export async function startHttpServer(deps: HttpServerDeps, port = 0, host = '127.0.0.1'): Promise<RunningHttpServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      deps.db
        .query('SELECT 1')
        .then(() => sendJson(res, 200, { ok: true }))
        .catch(() => sendJson(res, 503, { ok: false, error: 'database unreachable' }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(startPage(deps.temporalUiUrl));
      return;
    }
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function startPage(temporalUiUrl: string | undefined): string {
  const ui = temporalUiUrl ? `<p>Temporal Web UI: <a href="${temporalUiUrl}">${temporalUiUrl}</a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pipedrive ⇄ Google Calendar sync</title></head>
<body><main><h1>Pipedrive ⇄ Google Calendar sync</h1><p>The sync service is running.</p>${ui}</main></body></html>`;
}
