/**
 * What the user sees of the sync's health beyond its failures: when each direction last synced without a failure,
 * and the latest "Resync now" — what it queued and whether that has run. Plain state the workflow feeds with each
 * finished work item; it emits no commands.
 */
import { keyOf, type WorkItem } from './work-queue.js';

export type SyncDirection = 'pipedriveToGoogle' | 'googleToPipedrive';

/** When a work item of each direction last completed without failure (ISO time), null before the first. */
export type LastSyncedAt = Record<SyncDirection, string | null>;

export interface ResyncStatus {
  /** When the user (or an operator) asked; a second request while this one runs joins it. */
  requestedAt: string;
  /** When the last item of the pass finished; null while some are waiting or running. */
  finishedAt: string | null;
  /** Queue keys of the pass's items not finished yet. */
  pending: string[];
  /** Items of the pass that failed (they show among the unresolved failures). */
  failed: number;
}

export interface CarriedHealth {
  lastSyncedAt: LastSyncedAt;
  resync: ResyncStatus | null;
}

/**
 * Which direction a work item syncs: Pipedrive changes, the reconciliation and the relocation write to Google;
 * the Google pull writes to Pipedrive; the feeds are neither.
 */
export function directionOf(item: WorkItem): SyncDirection | null {
  switch (item.kind) {
    case 'activity':
    case 'entity':
    case 'reconcile':
    case 'relocate':
      return 'pipedriveToGoogle';
    case 'google':
      return 'googleToPipedrive';
    case 'feeds':
    case 'verify-feeds':
      return null;
  }
}

export class SyncHealth {
  private readonly lastSyncedAt: LastSyncedAt;
  private resync: ResyncStatus | null;

  constructor(carried?: CarriedHealth) {
    this.lastSyncedAt = { pipedriveToGoogle: null, googleToPipedrive: null, ...carried?.lastSyncedAt };
    this.resync = carried?.resync ?? null;
  }

  /** A resync pass was queued (`keys`: every item of it, queued now or already waiting). */
  resyncRequested(keys: string[], now: number): void {
    if (this.resync && this.resync.finishedAt === null) {
      // Still running: the new request joins it (a step already done is queued again and awaited too).
      this.resync.pending = [...new Set([...this.resync.pending, ...keys])];
      return;
    }
    this.resync = {
      requestedAt: new Date(now).toISOString(),
      finishedAt: null,
      pending: [...new Set(keys)],
      failed: 0,
    };
  }

  /**
   * A work item finished (`ok`: without any failure). `stillQueued` says whether the same item waits in the queue
   * again: an item that was already running when the resync was asked does not count for it, the queued one does.
   */
  itemDone(item: WorkItem, ok: boolean, stillQueued: (key: string) => boolean, now: number): void {
    const direction = directionOf(item);
    if (ok && direction) this.lastSyncedAt[direction] = new Date(now).toISOString();
    const r = this.resync;
    const key = keyOf(item);
    if (!r || r.finishedAt !== null || !r.pending.includes(key) || stillQueued(key)) return;
    r.pending = r.pending.filter((k) => k !== key);
    if (!ok) r.failed++;
    if (r.pending.length === 0) r.finishedAt = new Date(now).toISOString();
  }

  /** For the status (copies: a query result must not alias workflow state). */
  view(): CarriedHealth {
    return {
      lastSyncedAt: { ...this.lastSyncedAt },
      resync: this.resync && { ...this.resync, pending: [...this.resync.pending] },
    };
  }
}
