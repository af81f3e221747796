/**
 * The one builder of Pipedrive webhook v2 payloads for tests, benchmarks and scripts: what Pipedrive sends for a
 * change (`meta`, `data`, `previous`), with the delivery id that deduplicates redeliveries.
 */
import type { PipedriveChange } from '../adapters/pipedrive/change.js';

export interface WebhookSpec {
  action?: PipedriveChange['meta']['action'];
  /** Default `activity`. */
  entity?: string;
  entityId: number | string;
  /** `meta.id`: unique per delivery. */
  delivery: string;
  /** `meta.change_source` (`app` for a user's edit); left out when not given. */
  changeSource?: string;
  data?: Record<string, unknown> | null;
  previous?: Record<string, unknown> | null;
}

export function pipedriveWebhook(spec: WebhookSpec): PipedriveChange {
  return {
    meta: {
      action: spec.action ?? 'change',
      entity: spec.entity ?? 'activity',
      entity_id: String(spec.entityId),
      id: spec.delivery,
      ...(spec.changeSource !== undefined ? { change_source: spec.changeSource } : {}),
    },
    data: spec.data ?? null,
    previous: spec.previous ?? null,
  };
}
