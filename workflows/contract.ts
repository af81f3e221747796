/**
 * The message contract of the per-user sync workflow (`calendar-sync.ts`): its signals, updates and query and the
 * types they carry. Clients (the web service, the admin API, the CLI) import this module, never the workflow.
 */
import { ApplicationFailure } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChannelInfo, SyncOutcome } from '../activities/index.js';
import type { PipedriveChange } from '../adapters/pipedrive/change.js';
import type { SyncSettings } from '../sync-rules/settings.js';
import type { ValidationIssue } from '../sync-rules/validation.js';
import type { SyncState } from './search-attributes.js';
import type { CarriedHealth, LastSyncedAt, ResyncStatus } from './sync-health.js';
export type { LastSyncedAt, ResyncStatus };
import type { UploadOptions } from './upload-options.js';
import { uploadFinished, type UploadFinished } from './upload-unsynced.js';
import type { WorkItem } from './work-queue.js';
import type { SafetyNetState } from './safety-net.js';

// ── Message API ──────────────────────────────────────────────────────────────────────────────────────────

/** A Pipedrive webhook (v2 payload) for this user, or the same shape from the `updated_since` reconciliation. */
export const pipedriveChanged = defineSignal<[PipedriveChange]>('pipedriveChanged');

/** A Google push notification for the user's calendar: something changed, pull to find out what. */
export const googleChanged = defineSignal<[GoogleNotification]>('googleChanged');

/** Replaces the user's settings (validated first: bad input is rejected and changes nothing). */
export const configure = defineUpdate<SyncSettings, [unknown]>('configure');

/** Stops processing changes; they keep queueing (and coalescing) until `resume`. */
export const pause = defineUpdate<SyncStatus>('pause');
export const resume = defineUpdate<SyncStatus>('resume');

/**
 * Ends the user's sync: stops the Google channel, removes the Pipedrive webhooks, switches the sync off and
 * completes the workflow. Links and the audit log stay (a later reconnect starts from a fresh baseline).
 */
export const disconnect = defineUpdate<SyncStatus>('disconnect');

/**
 * "Upload unsynced activities" (`{from?, to?, includeDone?, quotaPerMinute?}`, validated: bad input starts
 * nothing): starts the child workflow that gives every existing activity without an event its event
 * (`upload-unsynced.ts`). The child's id is deterministic and this workflow tracks the running one, so pressing
 * the button twice answers the running upload instead of starting another.
 */
export const uploadUnsynced = defineUpdate<UploadStarted, [unknown]>('uploadUnsynced');

/**
 * "Resync now": the safety-net pass for this user at once — the Google pull, the Pipedrive reconciliation, the feed
 * check and a retry of every unresolved failure — and the safety-net timer starts over from now. Idempotent: what
 * is already waiting is not queued twice, and a request while a pass runs joins it (`status().resync`). Refused
 * (`SyncNotRunning`, nothing queued) while the sync is off or disconnected.
 */
export const resyncNow = defineUpdate<ResyncStarted>('resyncNow');

/**
 * Retry of one unresolved failure (its `subject`) now: the change, or the housekeeping step that failed. Refused
 * (`SyncNotRunning`, `NotRetryable`: nothing queued) while the sync is off, for a subject that is not failing, and
 * for one nothing can retry alone (a Google event: it is seen again when it changes, or by Resync now).
 */
export const retryFailure = defineUpdate<SyncStatus, [string]>('retryFailure');

/** The upload's outcome, sent by the child when it ends; shown in `status().upload`. */
export { uploadFinished };

/** What the sync is doing and what it did recently. */
export const status = defineQuery<SyncStatus>('status');

export interface GoogleNotification {
  channelId?: string;
  resourceState?: string;
  messageNumber?: number;
  /** The web service's request id of the push, so the signal can be traced to its log lines. */
  requestId?: string;
}

export interface ResyncStarted {
  /** Work items this request added to the queue (0: the whole pass was waiting already). */
  added: number;
  status: SyncStatus;
}

export interface UploadStarted {
  workflowId: string;
  /** The first run of the upload (it continues-as-new for large accounts). */
  runId: string;
  /** False when an upload was running already: this is that one. */
  started: boolean;
}

/** The latest upload of unsynced activities, as this workflow knows it (progress: the child's `progress` query). */
export interface UploadStatus {
  workflowId: string;
  runId: string;
  state: 'running' | UploadFinished['state'];
  options: UploadOptions;
  startedAt: string;
  finishedAt: string | null;
  counts: UploadFinished['counts'] | null;
  message: string | null;
}

export interface SyncStatus {
  connectionId: string;
  state: SyncState;
  queued: number;
  /** Work items done (changes, pulls, reconciliations, feed set-ups; the periodic feed checks are not counted). */
  processed: number;
  /** Our own writes observed again and skipped. */
  echoes: number;
  failures: number;
  lastError: { subject: string; message: string; at: string } | null;
  /**
   * What failed for good (retries exhausted, or refused) and has not succeeded since, latest failure last: what the user
   * should know about. An entry goes once the same subject syncs successfully.
   */
  unresolved: UnresolvedFailure[];
  /** An account whose authorization was revoked or expired (e.g. Google `invalid_grant`): the user must reconnect it. */
  needsReconnect: 'google' | 'pipedrive' | null;
  /**
   * The company's Pipedrive daily API budget is spent: work waits until then (ISO time), and this stays until a
   * work item succeeds after it.
   */
  pipedriveBudgetPausedUntil: string | null;
  /** The latest outcomes, newest last. */
  recent: SyncOutcome[];
  settings: SyncSettings | null;
  /** The Google push channel currently listening, and when it will be renewed. */
  channel: ChannelInfo | null;
  /** When the next safety-net pass (Google pull + Pipedrive reconciliation) runs. */
  nextSafetyNetAt: string | null;
  /** When a work item of each direction last completed without failure (ISO), null before the first one. */
  lastSyncedAt: LastSyncedAt;
  /** The latest Resync now, and whether its pass has finished. */
  resync: ResyncStatus | null;
  upload: UploadStatus | null;
}

export interface UnresolvedFailure {
  /** e.g. `activity:42`, `deal:7`, `event:abc`, `change-feeds` */
  subject: string;
  message: string;
  /** When it failed first, and most recently. */
  firstAt: string;
  at: string;
  /** How many times it failed for good. */
  times: number;
}

export interface CalendarSyncInput {
  connectionId: string;
  /** Continue-as-new after this many history events even if the server does not suggest it (tests). */
  continueAsNewAfterEvents?: number;
  /**
   * Operator override of the safety-net interval (seconds); the user's setting applies otherwise. Alone it fixes
   * the interval; with `safetyNetBoundSeconds` it is the base of the adaptive schedule (workflows/safety-net.ts).
   */
  safetyIntervalSeconds?: number;
  /** Operator override of the safety net's bound, the longest interval (seconds; default 30 minutes). */
  safetyNetBoundSeconds?: number;
  /** State carried over continue-as-new. */
  carried?: CarriedState;
}

/** What one run hands the next over continue-as-new. */
export interface CarriedState {
  queue: WorkItem[];
  paused: boolean;
  settings: SyncSettings | null;
  counters: { processed: number; echoes: number; failures: number };
  lastError: SyncStatus['lastError'];
  recent: SyncOutcome[];
  channel: ChannelInfo | null;
  nextSafetyNetAt: number | null;
  unresolved?: UnresolvedFailure[];
  /** The upload child outlives each run (parent-close policy ABANDON); its id travels on. */
  upload?: UploadStatus | null;
  pipedriveBudgetPausedUntil?: number | null;
  /** The adaptive safety net's schedule (workflows/safety-net.ts). */
  safetyNet?: SafetyNetState;
  /** The last sync per direction and the latest resync. */
  health?: CarriedHealth;
}

/**
 * How `configure` and `uploadUnsynced` reject invalid input: an ApplicationFailure whose type names the input and
 * whose first detail is the list of issues (`ValidationIssue[]`), so a client reads them as data.
 */
export const INVALID_SETTINGS = 'InvalidSettings';
export const INVALID_UPLOAD_OPTIONS = 'InvalidUploadOptions';
/** `resyncNow` and `retryFailure` refused: the sync is off or disconnected. */
export const SYNC_NOT_RUNNING = 'SyncNotRunning';
/** `retryFailure` refused: the subject is not failing, or nothing can retry it alone. */
export const NOT_RETRYABLE = 'NotRetryable';

export function invalidInput(
  type: typeof INVALID_SETTINGS | typeof INVALID_UPLOAD_OPTIONS,
  issues: ValidationIssue[],
): ApplicationFailure {
  const what = type === INVALID_SETTINGS ? 'settings' : 'upload options';
  return ApplicationFailure.nonRetryable(`invalid ${what}: ${issues.map((i) => i.message).join('; ')}`, type, issues);
}
