/**
 * The sync's own Prometheus metrics (prom-client, default registry), shared by the worker and the web
 * service: each process exposes `register` on its `/metrics`. Names follow Prometheus conventions
 * (`calendar_sync_` prefix, `_total` counters, `_seconds` histograms); labels take only bounded values:
 * never a connection id, an email or a title.
 */
import { Counter, register } from 'prom-client';

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

/** The text a `/metrics` endpoint answers, and its content type. */
export async function metricsResponse(): Promise<{ contentType: string; body: string }> {
  return { contentType: register.contentType, body: await register.metrics() };
}
