/**
 * The per-user work queue: ordered, and keyed so that an item already waiting absorbs duplicates. Work items
 * name *what* to sync, never a payload: the activity reads the current state, so coalescing is always safe.
 */
import type { PipedriveChange } from '../adapters/pipedrive/change.js';

export type WorkItem =
  | { kind: 'activity'; id: number }
  | { kind: 'entity'; entity: 'deal' | 'person' | 'organization'; id: number }
  /** An incremental pull of the Google calendar (notification, safety net, or a baseline after enabling). */
  | { kind: 'google' }
  /** The Pipedrive safety net: `updated_since` reconciliation, and webhooks re-registered if Pipedrive dropped them. */
  | { kind: 'reconcile' }
  /** (Re)establish the change feeds: webhooks, and a fresh Google channel replacing any current one. */
  | { kind: 'feeds' }
  /** Check the change feeds: missing webhooks registered again, a lost channel replaced (via a `feeds` item). */
  | { kind: 'verify-feeds' }
  /** After a calendar switch: move a batch of linked events from the old calendar into the chosen one. */
  | { kind: 'relocate' };

export function keyOf(item: WorkItem): string {
  switch (item.kind) {
    case 'activity':
      return `activity:${item.id}`;
    case 'entity':
      return `${item.entity}:${item.id}`;
    case 'google':
    case 'reconcile':
    case 'feeds':
    case 'verify-feeds':
    case 'relocate':
      return item.kind;
  }
}

/** What a Pipedrive change means for the sync, or null when it is not ours to act on. */
export function workItemFor(change: PipedriveChange): WorkItem | null {
  const id = Number(change.meta.entity_id);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  switch (change.meta.entity) {
    case 'activity':
      return { kind: 'activity', id };
    case 'deal':
    case 'person':
    case 'organization':
      // Only a rename matters (titles); creating or deleting one does not change any event by itself.
      return change.meta.action === 'change' ? { kind: 'entity', entity: change.meta.entity, id } : null;
    default:
      return null;
  }
}

export class WorkQueue {
  private readonly pending = new Map<string, WorkItem>();

  constructor(items: WorkItem[] = []) {
    for (const item of items) this.add(item);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Adds an item unless the same item is already waiting (it keeps its place in line). */
  add(item: WorkItem): void {
    const key = keyOf(item);
    if (!this.pending.has(key)) this.pending.set(key, item);
  }

  take(): WorkItem | undefined {
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    this.pending.delete(first.value[0]);
    return first.value[1];
  }

  items(): WorkItem[] {
    return [...this.pending.values()];
  }
}
