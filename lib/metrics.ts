/**
 * The sync's own Prometheus metrics (prom-client, default registry), shared by the worker and the web
 * service: each process exposes `register` on its `/metrics`. Names follow Prometheus conventions
 * (`calendar_sync_` prefix, `_total` counters, `_seconds` histograms); labels take only bounded values:
 * never a connection id, an email or a title.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';

export { register };

/**
 * Webhook and push deliveries received by the web service, by source and by what was answered:
 * `accepted` (stored, 200), `duplicate` (seen before, 200), `ignored` (authenticated but not ours to sync,
 * 200), `unauthorized` (401), `invalid` (4xx), `unavailable` (503: could not be stored, the sender retries).
 */
export const deliveries = new Counter({
  name: 'calendar_sync_deliveries_total',
  help: 'Webhook (Pipedrive) and push (Google) deliveries received, by result',
  labelNames: ['source', 'result'] as const,
});

export type DeliverySource = 'pipedrive' | 'google';
export type DeliveryResult = 'accepted' | 'duplicate' | 'ignored' | 'unauthorized' | 'invalid' | 'unavailable';

/**
 * Changes the sync applied or decided about, by direction (`pipedrive-to-google`, `google-to-pipedrive`) and
 * result (the sync step's outcome: `created`, `updated`, `moved`, `deleted`, `unlinked`, `echo`, `ignored`,
 * `conflict-resolved`, or `failed` for an event a pull could not apply).
 */
export const changesSynced = new Counter({
  name: 'calendar_sync_changes_total',
  help: 'Changes processed by the sync, by direction and result',
  labelNames: ['direction', 'result'] as const,
});

/**
 * Source change → the other side's write: from the source's own modification time (a Pipedrive activity's
 * `update_time`, a Google event's `updated`) to the end of the activity that wrote the change.
 */
export const changeLatency = new Histogram({
  name: 'calendar_sync_change_latency_seconds',
  help: 'Time from a change in one system to its write in the other, by direction',
  labelNames: ['direction'] as const,
  buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
});

/**
 * HTTP requests to Google and Pipedrive, by service, operation (a bounded route or method name such as
 * `events.insert` or `GET /api/v2/activities/:id`) and status (`0` when no answer arrived).
 */
export const apiRequests = new Counter({
  name: 'calendar_sync_api_requests_total',
  help: 'Requests to the Google Calendar and Pipedrive APIs, by service, operation and HTTP status',
  labelNames: ['service', 'operation', 'status'] as const,
});

/** Rate limits hit, and how long the sync was told (or chose) to wait before the retry, by service. */
export const rateLimitWaits = new Histogram({
  name: 'calendar_sync_rate_limit_wait_seconds',
  help: 'Waits imposed by API rate limits before an activity is retried, by service',
  labelNames: ['service'] as const,
  buckets: [1, 2, 5, 10, 30, 60, 300, 900, 3600, 86400],
});

/** Safety-net passes (the periodic Pipedrive reconciliation) and the changes they found that were missed. */
export const safetyNetPasses = new Counter({
  name: 'calendar_sync_safety_net_passes_total',
  help: 'Safety-net passes run, by side',
  labelNames: ['side'] as const,
});
export const safetyNetFound = new Counter({
  name: 'calendar_sync_safety_net_found_total',
  help: 'Changes found by safety-net passes that no webhook or push had delivered, by side',
  labelNames: ['side'] as const,
});

/** Activity executions by type and outcome (`completed`, `failed`, `cancelled`), counted by the worker. */
export const activityExecutions = new Counter({
  name: 'calendar_sync_activity_executions_total',
  help: 'Temporal activity executions of the sync, by activity type and outcome',
  labelNames: ['activity', 'outcome'] as const,
});
export const activityDuration = new Histogram({
  name: 'calendar_sync_activity_duration_seconds',
  help: 'Duration of the sync activity executions, by activity type',
  labelNames: ['activity'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

export type ConnectionState = 'enabled' | 'disabled' | 'incomplete';
let countConnections: (() => Promise<Partial<Record<ConnectionState, number>>>) | undefined;

/** Connections by state, read from the process's counting function on every scrape (one cheap query). */
export const connections = new Gauge({
  name: 'calendar_sync_connections',
  help: 'Connections by state: enabled, disabled (sync off), incomplete (an account missing)',
  labelNames: ['state'] as const,
  async collect() {
    if (!countConnections) return;
    this.reset();
    // While Postgres is down the scrape still answers (the other series matter most then), without this one.
    const counts = await countConnections().catch(() => undefined);
    if (!counts) return;
    for (const state of ['enabled', 'disabled', 'incomplete'] as const) this.set({ state }, counts[state] ?? 0);
  },
});

/** Where `calendar_sync_connections` gets its numbers (the worker passes a Postgres query). */
export function countConnectionsWith(fn: typeof countConnections): void {
  countConnections = fn;
}

export interface ApiCall {
  service: 'google' | 'pipedrive';
  operation: string;
  status: number;
  /** The parsed answer of a successful call (read by listeners such as the latency tracker, never logged). */
  data?: unknown;
}

const apiCallListeners = new Set<(call: ApiCall) => void>();

/** The transports' one hook: counts the request and tells the listeners. */
export function recordApiCall(call: ApiCall): void {
  apiRequests.inc({ service: call.service, operation: call.operation, status: String(call.status) });
  for (const listener of apiCallListeners) listener(call);
}

/** Listens to every API call of this process; returns the function that stops listening. */
export function onApiCall(listener: (call: ApiCall) => void): () => void {
  apiCallListeners.add(listener);
  return () => apiCallListeners.delete(listener);
}

/** The text a `/metrics` endpoint answers, and its content type. */
export async function metricsResponse(): Promise<{ contentType: string; body: string }> {
  return { contentType: register.contentType, body: await register.metrics() };
}

/** prom-client's process metrics (CPU, memory, event loop lag), once per process (worker and web may share one). */
export function collectProcessMetrics(): void {
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
}
