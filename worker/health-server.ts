/**
 * The worker's small HTTP listener for the platform: `/healthz` (the process is alive), `/readyz` (the worker
 * is running and both Postgres and Temporal answer) and `/metrics` (the sync's metrics from prom-client's
 * default registry, followed by the Temporal SDK's own, fetched from the core's exporter on loopback).
 *
 * Plain `node:http`, not Fastify: three fixed GET routes without bodies on an internal port, nothing to
 * parse or validate, and no second server configuration to keep in step with the web service's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsResponse } from '../lib/metrics.js';

export interface HealthChecks {
  /** Resolves when the dependency answers; the message of a rejection is shown on `/readyz`. */
  [dependency: string]: () => Promise<unknown>;
}

export interface HealthServerOptions {
  port: number;
  host?: string;
  checks: HealthChecks;
  /** Whether the worker is polling (false while starting and draining): `/readyz` answers 503 otherwise. */
  running: () => boolean;
  /** `host:port` of the SDK's Prometheus exporter, appended to `/metrics`. */
  sdkMetricsAddress?: string;
  /** Per check and per SDK scrape (default 2 s): a hung dependency must not hang the probe. */
  timeoutMs?: number;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      void readiness(opts, timeoutMs).then(({ ready, lines }) => send(ready ? 200 : 503, lines.join('\n') + '\n'));
      return;
    }
    if (path === '/metrics') {
      void metricsText(opts.sdkMetricsAddress, timeoutMs).then(
        ({ contentType, body }) => send(200, body, contentType),
        (err: Error) => send(500, `metrics failed: ${err.message}\n`),
      );
      return;
    }
    send(404, 'not found\n');
  });
  // Probes are tiny and the port is internal; still, nothing may hold a socket open for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readiness(opts: HealthServerOptions, timeoutMs: number): Promise<{ ready: boolean; lines: string[] }> {
  const results = await Promise.all(
    Object.entries(opts.checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), timeoutMs);
        return { name, ok: true, detail: 'ok' };
      } catch (err) {
        return { name, ok: false, detail: (err as Error).message || String(err) };
      }
    }),
  );
  const running = opts.running();
  const lines = [`worker: ${running ? 'running' : 'not running'}`, ...results.map((r) => `${r.name}: ${r.detail}`)];
  return { ready: running && results.every((r) => r.ok), lines };
}

/** Our registry, then the SDK's exposition (a comment in its place when the exporter did not answer). */
export async function metricsText(
  sdkMetricsAddress: string | undefined,
  timeoutMs = 2_000,
): Promise<{ contentType: string; body: string }> {
  const own = await metricsResponse();
  if (!sdkMetricsAddress) return own;
  let sdk: string;
  try {
    const res = await fetch(`http://${sdkMetricsAddress}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`status ${res.status}`);
    sdk = await res.text();
  } catch (err) {
    sdk = `# Temporal SDK metrics unavailable from ${sdkMetricsAddress}: ${(err as Error).message}\n`;
  }
  const body = own.body.endsWith('\n') ? own.body : `${own.body}\n`;
  return { contentType: own.contentType, body: body + sdk };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
