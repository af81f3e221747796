/**
 * What the sync's metrics read out of activity results and API answers, as pure functions: the outcomes an
 * activity reports, and the modification times (a Pipedrive activity's `update_time`, a Google event's
 * `updated`) of the records it read, which are the start of a change's end-to-end latency.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import type { SyncOutcome } from '../activities/sync/outcome.js';
import type { ApiCall } from '../lib/metrics.js';
import { readEventLinkProperties } from '../sync-rules/event-properties.js';

type Direction = SyncOutcome['direction'];

/** The outcomes an activity's result carries: one outcome, a list, or `{ outcomes }` (pull, relocation). */
export function outcomesOf(result: unknown): SyncOutcome[] {
  if (isOutcome(result)) return [result];
  if (Array.isArray(result)) return result.filter(isOutcome);
  const outcomes = (result as { outcomes?: unknown } | null)?.outcomes;
  return Array.isArray(outcomes) ? outcomes.filter(isOutcome) : [];
}

function isOutcome(v: unknown): v is SyncOutcome {
  const o = v as Partial<SyncOutcome> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    (o.direction === 'pipedrive-to-google' || o.direction === 'google-to-pipedrive') &&
    typeof o.result === 'string' &&
    typeof o.subject === 'string'
  );
}

/** Results that wrote the change to the other side (an echo or an ignored change wrote nothing). */
const WRITES: ReadonlySet<SyncOutcome['result']> = new Set(['created', 'updated', 'deleted', 'conflict-resolved']);

export function isWrite(outcome: SyncOutcome): boolean {
  return WRITES.has(outcome.result);
}

/** Key of a source record for the latency of the change it starts, e.g. `pipedrive-to-google activity:42`. */
export function sourceKey(direction: Direction, subject: string): string {
  return `${direction} ${subject}`;
}

/**
 * The source modification times an API answer shows, keyed like outcomes' subjects: Pipedrive activities
 * (single reads and lists) start `pipedrive-to-google` changes; Google events (`events.list`, `events.get`)
 * start `google-to-pipedrive` changes, under their event id and, for events we wrote, their activity id (the
 * subject a pull reports for a linked event).
 */
export function sourceTimes(call: ApiCall): Map<string, number> {
  const times = new Map<string, number>();
  if (call.status < 200 || call.status > 299 || call.data === undefined) return times;
  if (call.service === 'pipedrive' && call.operation.startsWith('GET /api/v2/activities')) {
    const data = (call.data as { data?: unknown } | null)?.data;
    for (const a of Array.isArray(data) ? data : [data]) {
      const activity = a as { id?: unknown; update_time?: unknown } | null;
      const at = parseTime(activity?.update_time);
      if (typeof activity?.id === 'number' && at !== undefined) {
        times.set(sourceKey('pipedrive-to-google', `activity:${activity.id}`), at);
      }
    }
  }
  if (call.service === 'google' && (call.operation === 'events.list' || call.operation === 'events.get')) {
    const data = call.data as calendar_v3.Schema$Events & calendar_v3.Schema$Event;
    for (const event of call.operation === 'events.list' ? (data.items ?? []) : [data]) {
      const at = parseTime(event.updated);
      if (!event.id || at === undefined) continue;
      times.set(sourceKey('google-to-pipedrive', `event:${event.id}`), at);
      const link = readEventLinkProperties(event);
      if (link) times.set(sourceKey('google-to-pipedrive', `activity:${link.activityId}`), at);
    }
  }
  return times;
}

/** RFC 3339 times, and Pipedrive's v1 `YYYY-MM-DD HH:MM:SS` (UTC). */
export function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v) ? `${v.replace(' ', 'T')}Z` : v;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}
