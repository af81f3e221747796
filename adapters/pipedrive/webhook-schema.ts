/**
 * The one schema of a Pipedrive webhook v2 delivery, and the part of it we keep. The web service's ingress validates
 * every body with `webhookV2Schema` and stores only its `storedMeta` in the inbox; the inbox relay signals the stored
 * meta as it is, so nothing downstream parses a webhook body again.
 */
import { z } from 'zod';
import type { PipedriveChange } from './change.js';

const id = z.union([z.string().min(1).max(200), z.number().int().nonnegative()]).transform(String);

/**
 * What makes a body a webhook v2 delivery: a `meta` with the delivery id, entity and action. Everything else
 * is optional and loosely typed, because the guide's tables and examples differ (e.g. `timestamp` as a
 * 10-character Unix time or an ISO string; `previous` absent or null; `data` null on delete; a reduced
 * `data` with `busy_flag`, `custom_fields` and times as `{timezone_id, value}`).
 */
export const webhookV2Schema = z.object({
  meta: z.object({
    id,
    entity: z.string().min(1).max(100),
    action: z.string().min(1).max(100),
    entity_id: id.optional(),
    change_source: z.string().max(100).optional().catch(undefined),
    timestamp: z.union([z.string(), z.number()]).optional().catch(undefined),
  }),
  data: z.record(z.string(), z.unknown()).nullish().catch(null),
  previous: z.record(z.string(), z.unknown()).nullish().catch(null),
});

export type WebhookV2 = z.infer<typeof webhookV2Schema>;

const ACTIONS = ['create', 'change', 'delete'] as const;

/**
 * The part of a delivery we keep: the documented `meta` fields the sync uses. `null` for a delivery we do
 * not sync (an action we do not know, or no entity id).
 */
export function storedMeta(payload: WebhookV2): PipedriveChange['meta'] | null {
  const { meta } = payload;
  const action = ACTIONS.find((a) => a === meta.action);
  if (!action || meta.entity_id === undefined) return null;
  const timestamp = normalisedTimestamp(meta.timestamp);
  return {
    action,
    entity: meta.entity,
    entity_id: meta.entity_id,
    id: meta.id,
    ...(meta.change_source !== undefined ? { change_source: meta.change_source } : {}),
    ...(timestamp ? { timestamp } : {}),
  };
}

/** A Unix time in seconds (the guide's 10-character form) or milliseconds, or a date string, as ISO 8601. */
function normalisedTimestamp(value: string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  const date = Number.isFinite(n) ? new Date(n < 1e11 ? n * 1000 : n) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
