/**
 * Process configuration from the environment. Temporal is configured the SDK's standard way
 * (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, or a `temporal.toml`
 * profile), read by `@temporalio/envconfig`, so a Temporal Cloud or self-hosted cluster needs no code change.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DEFAULT_TASK_QUEUE } from '../workflows/names.js';

export interface TemporalSettings {
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
  namespace: string;
  taskQueue: string;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
  };
}

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** The worker process's own listener, telemetry and shutdown bounds. */
export interface WorkerProcessSettings {
  /** `/healthz`, `/readyz`, `/metrics` (`WORKER_HTTP_PORT`, default 9464; 0 picks a free port). */
  httpPort: number;
  httpHost: string;
  /** Where the Temporal SDK's Prometheus exporter listens (`WORKER_SDK_METRICS_ADDRESS`; `off` disables it). */
  sdkMetricsAddress: string | undefined;
  /**
   * After SIGTERM: how long in-flight activities may run to completion before they are cancelled
   * (`WORKER_SHUTDOWN_GRACE_SECONDS`, default 30), and the hard bound after which the process exits
   * regardless (grace + 10 s). Activities abandoned then are retried elsewhere after their timeout.
   */
  shutdownGraceMs: number;
  shutdownForceMs: number;
}

export const DEFAULT_WORKER_HTTP_PORT = 9464;
/** Loopback only: the worker's `/metrics` serves what the SDK's exporter shows here. */
export const DEFAULT_SDK_METRICS_ADDRESS = '127.0.0.1:9465';
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 30;
/** Between cancelling the activities still running and giving up on them: time for them to notice. */
export const SHUTDOWN_FORCE_MARGIN_MS = 10_000;

export function workerProcessSettings(env: NodeJS.ProcessEnv = process.env): WorkerProcessSettings {
  const graceSeconds = numberEnv(env, 'WORKER_SHUTDOWN_GRACE_SECONDS', DEFAULT_SHUTDOWN_GRACE_SECONDS, 0, 3600);
  const sdk = env.WORKER_SDK_METRICS_ADDRESS || DEFAULT_SDK_METRICS_ADDRESS;
  if (sdk !== 'off' && !/^[\w.-]+:\d{1,5}$|^\[[\d:a-fA-F]+\]:\d{1,5}$/.test(sdk)) {
    throw new Error(`WORKER_SDK_METRICS_ADDRESS must be host:port or "off", got "${sdk}"`);
  }
  return {
    httpPort: numberEnv(env, 'WORKER_HTTP_PORT', DEFAULT_WORKER_HTTP_PORT, 0, 65535),
    httpHost: env.WORKER_HTTP_HOST || '0.0.0.0',
    sdkMetricsAddress: sdk === 'off' ? undefined : sdk,
    shutdownGraceMs: graceSeconds * 1000,
    shutdownForceMs: graceSeconds * 1000 + SHUTDOWN_FORCE_MARGIN_MS,
  };
}

function numberEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}
