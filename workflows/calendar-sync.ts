/**
 * The per-user sync: one long-lived workflow per connection, id `calendar-sync:<connectionId>`.
 *
 * Changes arrive as messages (declared first, below) and are processed one at a time from a queue, so two
 * changes to the same user's calendar never race. The workflow itself holds only what it needs to order work;
 * every side effect is an activity.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { PipedriveChange } from '../activities/pipedrive-change.js';
import { SYNC_STATE, type SyncState } from './search-attributes.js';

// ── Message API ──────────────────────────────────────────────────────────────────────────────────────────

/** A Pipedrive webhook (v2 payload) for this user, relayed by the ingress. */
export const pipedriveChanged = defineSignal<[PipedriveChange]>('pipedriveChanged');

/** What the sync is doing: its state, the queue length and how much it has processed. */
export const status = defineQuery<SyncStatus>('status');

export interface SyncStatus {
  connectionId: string;
  state: SyncState;
  queued: number;
  processed: number;
}

export interface CalendarSyncInput {
  connectionId: string;
  /** State carried over continue-as-new. */
  carried?: { queue: PipedriveChange[]; processed: number };
}

// ── The sync ─────────────────────────────────────────────────────────────────────────────────────────────

const activities = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function calendarSync(input: CalendarSyncInput): Promise<void> {
  const sync = new CalendarSync(input);
  setHandler(pipedriveChanged, (change) => sync.enqueue(change));
  setHandler(status, () => sync.status());
  await sync.run();
}

class CalendarSync {
  private readonly queue: PipedriveChange[];
  private processed: number;
  private state: SyncState = 'idle';

  constructor(private readonly input: CalendarSyncInput) {
    this.queue = [...(input.carried?.queue ?? [])];
    this.processed = input.carried?.processed ?? 0;
  }

  enqueue(change: PipedriveChange): void {
    this.queue.push(change);
  }

  status(): SyncStatus {
    return {
      connectionId: this.input.connectionId,
      state: this.state,
      queued: this.queue.length,
      processed: this.processed,
    };
  }

  async run(): Promise<never> {
    for (;;) {
      await condition(() => this.queue.length > 0 || workflowInfo().continueAsNewSuggested);
      if (workflowInfo().continueAsNewSuggested) {
        // Let signal handlers finish so nothing they were adding to the queue is lost in the hand-over.
        await condition(allHandlersFinished);
        return continueAsNew<typeof calendarSync>({
          connectionId: this.input.connectionId,
          carried: { queue: this.queue, processed: this.processed },
        });
      }
      this.setState('syncing');
      const change = this.queue.shift()!;
      await activities.recordPipedriveChange(this.input.connectionId, change);
      this.processed++;
      if (this.queue.length === 0) this.setState('idle');
    }
  }

  private setState(state: SyncState): void {
    if (state === this.state) return;
    this.state = state;
    upsertSearchAttributes([{ key: SYNC_STATE, value: state }]);
  }
}
