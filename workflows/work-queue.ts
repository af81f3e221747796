/**
 * The per-user work queue: ordered, and keyed so that an item already waiting absorbs duplicates. Work items
 * name *what* to sync, never a payload: the activity reads the current state, so coalescing is always safe.
 */
import type { PipedriveChange } from '../adapters/pipedrive/change.js';

/** A Pipedrive activity to sync to its Google event. */
export type ActivityItem = { kind: 'activity'; id: number };

export type WorkItem =
  | ActivityItem
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

  /** The item next in line, left in place. */
  peek(): WorkItem | undefined {
    return this.pending.values().next().value;
  }

  /** How many Pipedrive activities wait, wherever they are in line. */
  get activities(): number {
    let n = 0;
    for (const item of this.pending.values()) if (item.kind === 'activity') n++;
    return n;
  }

  /**
   * Takes up to `max` waiting Pipedrive activities in their order: those at the front of the line, up to the
   * first other item — or, with `passing`, from wherever they wait (to let them pass the item at the front).
   * Each one reads its current state, so passing other kinds of work does not change what any of them writes.
   */
  takeActivities(max: number, passing = false): ActivityItem[] {
    const taken: ActivityItem[] = [];
    for (const [key, item] of this.pending) {
      if (taken.length >= max) break;
      if (item.kind !== 'activity') {
        if (passing) continue;
        break;
      }
      this.pending.delete(key);
      taken.push(item);
    }
    return taken;
  }

  /**
   * Puts items taken but not processed back at the front of the line, in their order; a copy that arrived
   * meanwhile is absorbed (the item keeps its earlier place).
   */
  putBack(items: WorkItem[]): void {
    if (items.length === 0) return;
    const rest = [...this.pending];
    this.pending.clear();
    for (const item of items) this.add(item);
    for (const [key, item] of rest) if (!this.pending.has(key)) this.pending.set(key, item);
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
