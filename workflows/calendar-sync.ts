/**
 * The per-user sync: one long-lived workflow per connection, id `calendar-sync:<connectionId>`.
 *
 * Changes arrive as messages (declared first, below): Pipedrive webhooks and reconciliation hits, Google
 * channel notifications, settings and pause/resume from the settings page or the admin API. They become work
 * items in one serial queue, so two changes to the same user's calendar never race; an item already waiting
 * absorbs duplicates (a burst of webhooks for one activity is one sync; many Google notifications are one
 * pull). Every side effect is an activity; this file only orders work and keeps the status.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { ActivityBatchResult, ChannelInfo, createActivities, SyncOutcome } from '../activities/index.js';
import { checkSettings, parseSettings, type SyncSettings } from '../sync-rules/settings.js';
import type { SyncState } from './search-attributes.js';
import { recordConnectionIds, SearchAttributeWriter } from './search-attribute-writer.js';
import { uploadFinished } from './upload-unsynced.js';
import { DeadlineTimer } from './deadline-timer.js';
import { UploadTracker } from './upload-tracker.js';
import { checkUploadOptions } from './upload-options.js';
import { keyOf, WorkQueue, workItemFor, type ActivityItem, type WorkItem } from './work-queue.js';
import { DEFAULT_SAFETY_NET_BOUND_SECONDS, SafetyNetSchedule, safetyNetQuery } from './safety-net.js';
import { describeItem, manualRetryItemFor, retryItemFor } from './work-item-subjects.js';
import { SyncHealth } from './sync-health.js';
import { localFirst } from './local-first.js';
import {
  configure,
  disconnect,
  invalidInput,
  INVALID_SETTINGS,
  INVALID_UPLOAD_OPTIONS,
  NOT_RETRYABLE,
  SYNC_NOT_RUNNING,
  googleChanged,
  pause,
  pipedriveChanged,
  resume,
  resyncNow,
  retryFailure,
  status,
  uploadUnsynced,
  type CalendarSyncInput,
  type CarriedState,
  type ResyncStarted,
  type SyncStatus,
  type UnresolvedFailure,
} from './contract.js';

const RECENT_OUTCOMES = 20;
/** Unresolved failures kept for the status (the audit log has all of them). */
const UNRESOLVED_KEPT = 50;

/** Versioning marker of the relocation after a calendar switch (runs that switched before it keep replaying). */
const RELOCATE_PATCH = 'relocate-events-after-calendar-switch';
/** Versioning marker of the real mutex around work items and settings changes (see `exclusive`). */
const MUTEX_PATCH = 'exclusive-is-a-mutex';
/** Versioning marker of disconnect stopping a running upload before it returns. */
const DISCONNECT_STOPS_UPLOAD_PATCH = 'disconnect-stops-upload';
/**
 * Versioning marker of the feed checks: re-sent settings re-establish the feeds, and every continue-as-new and
 * safety-net pass verifies them.
 */
const VERIFY_FEEDS_PATCH = 'verify-feeds';
/** Versioning marker of the safety net retrying the activities and renames that failed for good. */
const RETRY_UNRESOLVED_PATCH = 'safety-net-retries-unresolved';
/** Versioning marker of a spent Pipedrive budget holding the queue until it returns (and showing in the status). */
const BUDGET_PAUSE_PATCH = 'pipedrive-budget-pause-in-status';
/**
 * Versioning marker of the adaptive safety net (workflows/safety-net.ts): passes between the base interval and the
 * bound, spread by connection, the webhook check only when needed.
 */
const ADAPTIVE_SAFETY_NET_PATCH = 'adaptive-safety-net';
/** Versioning marker of the last sync per direction and the latest resync travelling over continue-as-new. */
const CARRY_HEALTH_PATCH = 'carry-sync-health';
/** Versioning marker of waiting Pipedrive activity changes synced together by one activity (`takeWork`). */
const BATCH_PATCH = 'batch-pipedrive-activity-syncs';
/** Versioning marker of a waiting Google pull letting the waiting Pipedrive activity changes go first. */
const PULL_AFTER_CHANGES_PATCH = 'google-pull-after-waiting-changes';
/**
 * Versioning marker of the single Pipedrive activity sync and the Google pull run first as a local activity, then,
 * when that attempt fails, as the regular activity they always were (workflows/local-first.ts).
 */
const LOCAL_FIRST_PATCH = 'local-first-steps';
/** Pipedrive activities synced by one batch at most: a batch holds the queue until it is done. */
const ACTIVITY_BATCH_MAX = 20;
/** The activities' failure type for a spent Pipedrive daily budget (adapters/pipedrive/errors.ts). */
const PIPEDRIVE_BUDGET_SPENT = 'PipedriveBudgetSpent';

// ── Activities ───────────────────────────────────────────────────────────────────────────────────────────

/** Failures the activities classify as permanent are not retried; everything else is, with backoff. */
const retry = {
  initialInterval: '200 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 12,
} as const;

const steps = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '1 minute', retry });

/**
 * Work items see a spent Pipedrive budget at once instead of in a retry hours later: the workflow then holds the
 * queue until the budget returns and the status says so (settings changes and disconnects keep waiting it out).
 */
const itemRetry = { ...retry, nonRetryableErrorTypes: [PIPEDRIVE_BUDGET_SPENT] };
const itemSteps = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: itemRetry,
});
/**
 * A batch of Pipedrive activity syncs: each id takes about what a single sync takes, so the bound is the single
 * step's times the batch; the heartbeat after each id lets a batch lost with its worker be retried soon.
 */
const batchSteps = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: itemRetry,
});
/** The pulls run only as work items. */
const pulls = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: itemRetry,
});

/**
 * The first attempt of a local-first step: one attempt, no local retries (the regular activity after it has the
 * retry policy), and a bound of a few seconds — a single sync or an incremental pull takes well under a second, and
 * a step that takes longer (a long pull, a slow API) is better off as the regular activity with its heartbeats.
 */
const localAttempt = proxyLocalActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});

// ── The sync ─────────────────────────────────────────────────────────────────────────────────────────────

export async function calendarSync(input: CalendarSyncInput): Promise<void> {
  const sync = new CalendarSync(input);
  setHandler(pipedriveChanged, (change) => {
    const item = workItemFor(change);
    sync.safetyNetSawWebhook(item);
    sync.enqueue(item);
  });
  setHandler(googleChanged, () => {
    sync.safetyNet.googleDelivered();
    sync.enqueue({ kind: 'google' });
  });
  setHandler(configure, (settings) => sync.configure(settings), { validator: validateSettings });
  setHandler(pause, () => sync.setPaused(true));
  setHandler(resume, () => sync.setPaused(false));
  setHandler(disconnect, () => sync.disconnect());
  setHandler(uploadUnsynced, (options) => sync.uploads.start(options), { validator: validateUploadOptions });
  setHandler(uploadFinished, (report) => sync.uploads.ended(report));
  setHandler(resyncNow, () => sync.resyncNow(), { validator: () => sync.checkRunning('resync') });
  setHandler(retryFailure, (subject) => sync.retryFailure(subject), {
    validator: (subject) => sync.checkRetryable(subject),
  });
  setHandler(status, () => sync.status());
  setHandler(safetyNetQuery, () => (sync.adaptiveSafetyNet ? sync.safetyNet.view() : null));
  await sync.run();
}

/** Rejects bad settings before they enter history: the caller gets a clear message, nothing changes. */
function validateSettings(settings: unknown): void {
  const checked = checkSettings(settings);
  if (!checked.ok) throw invalidInput(INVALID_SETTINGS, checked.issues);
}

/** Rejects bad upload options before they enter history: nothing starts. */
function validateUploadOptions(options: unknown): void {
  const checked = checkUploadOptions(options);
  if (!checked.ok) throw invalidInput(INVALID_UPLOAD_OPTIONS, checked.issues);
}

class CalendarSync {
  private readonly connectionId: string;
  private readonly queue: WorkQueue;
  private paused: boolean;
  private settings: SyncSettings | null;
  private counters: CarriedState['counters'];
  private lastError: SyncStatus['lastError'];
  private needsReconnect: SyncStatus['needsReconnect'] = null;
  /** Until when the Pipedrive daily budget is spent (epoch ms), as the latest work item found it. */
  private budgetPausedUntil: number | null;
  private recent: SyncOutcome[];
  private readonly unresolved: Map<string, UnresolvedFailure>;
  private readonly searchAttributes = new SearchAttributeWriter();
  /** True while a work item or a settings change runs (under `lock`): the two never interleave. */
  private busy = false;
  /** The lock behind `exclusive`: one holder at a time, waiters served first come, first served. */
  private readonly lock = new Mutex();
  /** The Google pull next in line let waiting activity changes go first once (`takeWork`); next time it runs. */
  private pullPassed = false;
  /**
   * The sync wrote to Google since the latest pull began: a pull waiting now may be there for nothing but the
   * echoes of those writes (a notification does not say what changed, so it cannot be skipped — only merged).
   */
  private unpulledGoogleWrites = false;
  /** The latest work item failed permanently. */
  private failing = false;
  private channel: ChannelInfo | null;
  private nextSafetyNetAt: number | null;
  private disconnected = false;
  /** The upload of unsynced activities this workflow started, and its report. */
  readonly uploads: UploadTracker;
  /** The one durable timer for the next deadline (renewal or safety net); replaced only when that moves. */
  private readonly deadline = new DeadlineTimer();
  /** When the safety net runs, adapted to the feeds' health (used once `adaptiveSafetyNet` is on). */
  readonly safetyNet: SafetyNetSchedule;
  /** Whether this run schedules the safety net adaptively (decided, behind its patch, at the first scheduling). */
  adaptiveSafetyNet = false;
  /** The last sync per direction and the latest resync, for the user. */
  private readonly health: SyncHealth;

  constructor(private readonly input: CalendarSyncInput) {
    const carried = input.carried;
    this.connectionId = input.connectionId;
    this.queue = new WorkQueue(carried?.queue);
    this.paused = carried?.paused ?? false;
    this.settings = carried?.settings ?? null;
    this.counters = carried?.counters ?? { processed: 0, echoes: 0, failures: 0 };
    this.lastError = carried?.lastError ?? null;
    this.recent = carried?.recent ?? [];
    this.unresolved = new Map((carried?.unresolved ?? []).map((f) => [f.subject, f]));
    this.channel = carried?.channel ?? null;
    this.nextSafetyNetAt = carried?.nextSafetyNetAt ?? null;
    this.uploads = new UploadTracker(this.connectionId, carried?.upload ?? null);
    this.budgetPausedUntil = carried?.pipedriveBudgetPausedUntil ?? null;
    this.safetyNet = new SafetyNetSchedule(this.connectionId, this.safetyNetConfig(), carried?.safetyNet, Date.now());
    this.health = new SyncHealth(carried?.health);
  }

  enqueue(item: WorkItem | null): void {
    if (item) this.queue.add(item);
  }

  async configure(input: unknown): Promise<SyncSettings> {
    const checked = checkSettings(input);
    if (!checked.ok) throw invalidInput(INVALID_SETTINGS, checked.issues);
    const parsed = { settings: checked.value };
    return this.exclusive(async () => {
      // Read before the await: run() may fill `this.settings` from the database meanwhile (already the new ones).
      const previous = this.settings;
      await steps.applySettings(this.connectionId, previous, parsed.settings);
      const wasEnabled = previous?.enabled ?? false;
      const calendarChanged = previous !== null && previous.calendarId !== parsed.settings.calendarId;
      this.settings = parsed.settings;
      if (parsed.settings.enabled !== wasEnabled || (parsed.settings.enabled && calendarChanged)) {
        // Switch the change feeds on (or off), and listen to the new calendar.
        this.queue.add({ kind: 'feeds' });
      } else if (parsed.settings.enabled && patched(VERIFY_FEEDS_PATCH)) {
        // Saved again (even unchanged): what a user does when live sync seems dead, and what the sandbox does
        // after a restart. Google has no way to ask whether a channel still exists, so the feeds are established
        // anew: webhooks checked against Pipedrive's list, a new channel opened, the old one stopped.
        this.queue.add({ kind: 'feeds' });
      }
      if (parsed.settings.enabled && (!wasEnabled || calendarChanged)) {
        // A fresh baseline of the (new) calendar: only what changes from now on is synced.
        this.queue.add({ kind: 'google' });
        this.scheduleSafetyNet();
      }
      if (parsed.settings.enabled && calendarChanged && patched(RELOCATE_PATCH)) {
        // The events written to the old calendar follow, in batches after the baseline.
        this.queue.add({ kind: 'relocate' });
      }
      return parsed.settings;
    });
  }

  async disconnect(): Promise<SyncStatus> {
    return this.exclusive(async () => {
      // First the upload: once this update returns, nothing of this sync may write to the user's calendar.
      if (patched(DISCONNECT_STOPS_UPLOAD_PATCH)) await this.uploads.stop();
      await steps.stopWatch(this.connectionId);
      await steps.removeWebhooks(this.connectionId);
      const off = { ...(this.settings ?? (await steps.loadConnection(this.connectionId))?.settings), enabled: false };
      const parsed = parseSettings(off);
      if (parsed.ok) {
        await steps.applySettings(this.connectionId, this.settings, parsed.settings);
        this.settings = parsed.settings;
      }
      this.channel = null;
      this.nextSafetyNetAt = null;
      this.disconnected = true;
      return this.status();
    });
  }

  /** Refuses `resyncNow` / `retryFailure` (before anything enters history) while there is no sync to run them. */
  checkRunning(verb: 'resync' | 'retry'): void {
    if (this.disconnected)
      throw ApplicationFailure.nonRetryable(`the sync is disconnected: connect again to ${verb}`, SYNC_NOT_RUNNING);
    if (!this.settings?.enabled)
      throw ApplicationFailure.nonRetryable(`the sync is off: switch it on to ${verb}`, SYNC_NOT_RUNNING);
  }

  checkRetryable(subject: unknown): void {
    this.checkRunning('retry');
    if (typeof subject !== 'string' || !this.unresolved.has(subject))
      throw ApplicationFailure.nonRetryable(`nothing to retry: ${String(subject)} is not failing`, NOT_RETRYABLE);
    if (!manualRetryItemFor(subject))
      throw ApplicationFailure.nonRetryable(
        `${subject} cannot be retried alone: it syncs again when it changes in Google, or with Resync now`,
        NOT_RETRYABLE,
      );
  }

  /**
   * The safety-net pass, now: the same work as the timer's pass, and the timer starts over from here. What is
   * waiting already absorbs its duplicate (WorkQueue), so asking twice queues nothing more.
   */
  resyncNow(): ResyncStarted {
    const items: WorkItem[] = [{ kind: 'google' }, { kind: 'reconcile' }, { kind: 'verify-feeds' }];
    for (const f of this.unresolved.values()) {
      const retry = retryItemFor(f.subject);
      if (retry) items.push(retry);
    }
    const before = this.queue.size;
    for (const item of items) this.queue.add(item);
    this.health.resyncRequested(items.map(keyOf), Date.now());
    this.scheduleSafetyNet();
    return { added: this.queue.size - before, status: this.status() };
  }

  /** One unresolved failure tried again now (validated by `checkRetryable`). */
  retryFailure(subject: string): SyncStatus {
    this.enqueue(manualRetryItemFor(subject));
    return this.status();
  }

  setPaused(paused: boolean): SyncStatus {
    this.paused = paused;
    this.updateState();
    return this.status();
  }

  status(): SyncStatus {
    return {
      connectionId: this.connectionId,
      state: this.currentState(),
      queued: this.queue.size,
      ...this.counters,
      lastError: this.lastError,
      unresolved: [...this.unresolved.values()],
      needsReconnect: this.needsReconnect,
      pipedriveBudgetPausedUntil:
        this.budgetPausedUntil === null ? null : new Date(this.budgetPausedUntil).toISOString(),
      recent: this.recent,
      settings: this.settings,
      channel: this.channel,
      nextSafetyNetAt: this.nextSafetyNetAt === null ? null : new Date(this.nextSafetyNetAt).toISOString(),
      ...this.health.view(),
      upload: this.uploads.latest,
    };
  }

  async run(): Promise<void> {
    this.updateState();
    if (!this.input.carried) {
      const saved = await steps.loadConnection(this.connectionId);
      // Started by a webhook or an admin action rather than a settings change, the saved settings apply; a
      // settings change that arrived meanwhile is newer and wins.
      this.settings ??= saved?.settings ?? null;
      if (saved) {
        // For operators in the Temporal UI: ids as search attributes, the Google account in the (encrypted) memo.
        recordConnectionIds(saved);
        if (saved.googleEmail) upsertMemo({ googleAccount: saved.googleEmail });
      }
      if (this.settings?.enabled) {
        this.queue.add({ kind: 'feeds' });
        this.scheduleSafetyNet();
      }
    } else if (this.settings?.enabled && patched(VERIFY_FEEDS_PATCH)) {
      // A new run after continue-as-new: the feeds it inherited may have been lost meanwhile.
      this.queue.add({ kind: 'verify-feeds' });
    }
    for (;;) {
      const ready = () =>
        this.disconnected ||
        this.shouldContinueAsNew() ||
        (!this.paused && this.queue.size > 0 && !this.busy && !this.lock.isLocked() && !this.budgetSpent());
      this.deadline.arm(this.nextTimerAt());
      await condition(() => ready() || this.deadline.fired);
      if (this.disconnected) {
        await condition(() => allHandlersFinished() && !this.busy && !this.lock.isLocked());
        this.updateState();
        return;
      }
      if (this.deadline.fired) {
        this.deadline.clear();
        this.fireDueTimers();
        continue;
      }
      if (this.shouldContinueAsNew()) {
        // Let running handlers (a settings change) finish, so nothing they do is lost in the hand-over.
        await condition(() => allHandlersFinished() && !this.busy && !this.lock.isLocked());
        return continueAsNew<typeof calendarSync>({
          connectionId: this.connectionId,
          continueAsNewAfterEvents: this.input.continueAsNewAfterEvents,
          safetyIntervalSeconds: this.input.safetyIntervalSeconds,
          ...(this.input.safetyNetBoundSeconds !== undefined
            ? { safetyNetBoundSeconds: this.input.safetyNetBoundSeconds }
            : {}),
          carried: {
            queue: this.queue.items(),
            paused: this.paused,
            settings: this.settings,
            counters: this.counters,
            lastError: this.lastError,
            recent: this.recent,
            channel: this.channel,
            nextSafetyNetAt: this.nextSafetyNetAt,
            unresolved: [...this.unresolved.values()],
            upload: this.uploads.latest,
            ...(this.budgetPausedUntil !== null ? { pipedriveBudgetPausedUntil: this.budgetPausedUntil } : {}),
            ...(this.adaptiveSafetyNet ? { safetyNet: this.safetyNet.state() } : {}),
            ...(patched(CARRY_HEALTH_PATCH) ? { health: this.health.view() } : {}),
          },
        });
      }
      const work = this.takeWork();
      await this.exclusive(() => (Array.isArray(work) ? this.processBatch(work) : this.process(work)));
    }
  }

  /**
   * The next work: the first item in line — or, when Pipedrive activity changes wait at the front of the line, up
   * to `ACTIVITY_BATCH_MAX` of them together (up to the first other item, which keeps its place) (one activity task and one round of workflow tasks instead of one each). A Google pull
   * next in line lets the waiting activity changes go first: it then also sees the echoes of the writes they
   * make (their push notifications are absorbed by the pull still waiting) instead of a pull of its own for
   * them. It waits one batch at most: once it is next and no activity change waits, it runs.
   */
  private takeWork(): WorkItem | ActivityItem[] {
    const head = this.queue.peek()!;
    const waiting = this.queue.activities;
    if (
      head.kind === 'google' &&
      waiting > 0 &&
      this.unpulledGoogleWrites &&
      !this.pullPassed &&
      patched(PULL_AFTER_CHANGES_PATCH)
    ) {
      this.pullPassed = true;
      return waiting === 1 ? this.queue.takeActivities(1, true)[0]! : this.batchOrSingle(true);
    }
    if (head.kind === 'activity' && waiting > 1 && patched(BATCH_PATCH)) return this.batchOrSingle(false);
    const item = this.queue.take()!;
    if (item.kind === 'google') {
      // This pull sees every write made before it.
      this.pullPassed = false;
      this.unpulledGoogleWrites = false;
    }
    return item;
  }

  /** The activity changes next in line (`passing`: those behind the item at the front, which they pass). */
  private batchOrSingle(passing: boolean): WorkItem | ActivityItem[] {
    if (!patched(BATCH_PATCH)) return this.queue.takeActivities(1, passing)[0]!;
    const batch = this.queue.takeActivities(ACTIVITY_BATCH_MAX, passing);
    return batch.length === 1 ? batch[0]! : batch;
  }

  /**
   * Several Pipedrive activity changes synced by one activity. Each synced id is booked as its single item
   * would be; the batch stops at a failure, and the id that failed is processed again on its own (`process`),
   * so its retries, its permanent-failure bookkeeping and a spent Pipedrive budget behave exactly as for a
   * single change; the ids after it go back to the front of the queue.
   */
  private async processBatch(items: ActivityItem[]): Promise<void> {
    let result: ActivityBatchResult;
    try {
      result = await batchSteps.syncPipedriveActivities(
        this.connectionId,
        items.map((i) => i.id),
      );
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // The batch as a whole failed (e.g. the connection could not be loaded): each change on its own, as before.
      result = { outcomes: [], failedId: items[0]!.id, failure: null, untried: items.slice(1).map((i) => i.id) };
    }
    // One outcome per id synced, in the batch's order.
    result.outcomes.forEach((outcome, i) => {
      this.record([outcome]);
      this.succeeded(items[i]!, this.counters.failures);
    });
    if (result.failedId !== null) await this.process({ kind: 'activity', id: result.failedId });
    this.queue.putBack(result.untried.map((id) => ({ kind: 'activity', id })));
  }

  private async process(item: WorkItem): Promise<void> {
    const failuresBefore = this.counters.failures;
    try {
      switch (item.kind) {
        case 'activity':
          this.record([await this.syncActivity(item.id)]);
          break;
        case 'entity':
          this.record(await itemSteps.refreshPipedriveEntity(this.connectionId, item.entity, item.id));
          break;
        case 'google': {
          const summary = await this.pullGoogle();
          this.safetyNetStepDone(this.safetyNet.googlePulled(summary.outcomes.some(wroteSomething)));
          this.record(summary.outcomes);
          for (const f of summary.failures) this.fail(f.subject, f.message);
          break;
        }
        case 'reconcile': {
          const found = await pulls.reconcile(this.connectionId);
          this.safetyNetStepDone(this.safetyNet.reconciled(found.activityIds, found.updatedAt));
          for (const id of found.activityIds) this.queue.add({ kind: 'activity', id });
          if (found.relocationPending) this.queue.add({ kind: 'relocate' });
          // Pipedrive deletes webhooks after long failure streaks; put ours back (the feed check does it since).
          if (!patched(VERIFY_FEEDS_PATCH)) await steps.ensureWebhooks(this.connectionId);
          break;
        }
        case 'feeds':
          await this.refreshFeeds();
          break;
        case 'verify-feeds': {
          const check = await itemSteps.verifyFeeds(this.connectionId, this.channel?.channelId ?? null);
          if (!check.channelLive) this.queue.add({ kind: 'feeds' });
          break;
        }
        case 'relocate': {
          const batch = await itemSteps.relocateEvents(this.connectionId);
          this.record(batch.outcomes);
          // The rest after whatever arrived meanwhile: live changes do not wait for a long relocation.
          if (batch.more) this.queue.add({ kind: 'relocate' });
          break;
        }
      }
      this.succeeded(item, failuresBefore);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const budgetReturnsAt = budgetSpentUntil(err);
      if (budgetReturnsAt !== null && patched(BUDGET_PAUSE_PATCH)) {
        // Not a failure of this item: it waits in the queue, with everything else, until the budget returns.
        this.budgetPausedUntil = budgetReturnsAt;
        this.queue.add(item);
        return;
      }
      // Retries are exhausted or the failure is permanent: record it and move on — the queue must not stall.
      // The periodic reconciliation picks the item up again later.
      if (item.kind === 'google' || item.kind === 'reconcile')
        this.safetyNetStepDone(this.safetyNet.stepFailed(item.kind));
      const subject = describeItem(item);
      const message = err.cause?.message ?? err.message;
      const authType = err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
      if (authType === 'GoogleAuthFailed' || authType === 'PipedriveAuthFailed')
        this.needsReconnect = authType === 'GoogleAuthFailed' ? 'google' : 'pipedrive';
      this.fail(subject, message);
      this.itemDone(item, false);
      await steps.recordFailure(this.connectionId, subject, message).catch(() => undefined);
    }
  }

  /** One Pipedrive activity → Google: local first for runs past its patch (workflows/local-first.ts). */
  private syncActivity(activityId: number): Promise<SyncOutcome> {
    const regular = () => itemSteps.syncPipedriveActivity(this.connectionId, activityId);
    if (!patched(LOCAL_FIRST_PATCH)) return regular();
    return localFirst(() => localAttempt.syncPipedriveActivity(this.connectionId, activityId), regular);
  }

  /** The Google pull: local first for runs past its patch (workflows/local-first.ts). */
  private pullGoogle(): ReturnType<typeof pulls.pullGoogle> {
    const regular = () => pulls.pullGoogle(this.connectionId);
    if (!patched(LOCAL_FIRST_PATCH)) return regular();
    return localFirst(() => localAttempt.pullGoogle(this.connectionId), regular);
  }

  /** For the health the user sees: the last sync of the item's direction, and the resync it belongs to. */
  private itemDone(item: WorkItem, ok: boolean): void {
    this.health.itemDone(item, ok, (key) => this.queue.items().some((i) => keyOf(i) === key), Date.now());
  }

  /** The bookkeeping of a work item that ran to its end (`failuresBefore`: the failure count when it began). */
  private succeeded(item: WorkItem, failuresBefore: number): void {
    // A feed check is housekeeping (one after every continue-as-new), not a change: it is not counted.
    if (item.kind !== 'verify-feeds') this.counters.processed++;
    this.failing = this.counters.failures > failuresBefore;
    this.unresolved.delete(describeItem(item));
    if (!this.failing) this.needsReconnect = null;
    this.budgetPausedUntil = null;
    this.itemDone(item, !this.failing);
  }

  /**
   * Webhooks registered and a fresh Google channel open when the sync is on; everything torn down when it is
   * off. A new channel is created before the old one is stopped, so notifications never have a gap.
   */
  private async refreshFeeds(): Promise<void> {
    if (!this.settings?.enabled) {
      await steps.stopWatch(this.connectionId);
      await steps.removeWebhooks(this.connectionId);
      this.channel = null;
      return;
    }
    await itemSteps.ensureWebhooks(this.connectionId);
    const channel = await itemSteps.startWatch(this.connectionId, uuid4());
    await steps.stopWatch(this.connectionId, channel?.channelId);
    this.channel = channel;
  }

  private scheduleSafetyNet(): void {
    if (this.useAdaptiveSafetyNet()) {
      this.safetyNet.reconfigure(this.safetyNetConfig());
      this.nextSafetyNetAt = this.safetyNet.nextAt(Date.now());
      return;
    }
    const seconds = this.input.safetyIntervalSeconds ?? this.settings?.safetyIntervalSeconds ?? 300;
    this.nextSafetyNetAt = Date.now() + seconds * 1000;
  }

  /**
   * The adaptive schedule, for runs past its patch. An operator's `safetyIntervalSeconds` without a
   * `safetyNetBoundSeconds` keeps the fixed interval it always meant.
   */
  private useAdaptiveSafetyNet(): boolean {
    const fixed = this.input.safetyIntervalSeconds !== undefined && this.input.safetyNetBoundSeconds === undefined;
    if (!this.adaptiveSafetyNet && !fixed && patched(ADAPTIVE_SAFETY_NET_PATCH)) this.adaptiveSafetyNet = true;
    return this.adaptiveSafetyNet;
  }

  /** The base is the operator's or the user's interval; the bound the operator's, or 30 minutes. */
  private safetyNetConfig() {
    return {
      baseSeconds: this.input.safetyIntervalSeconds ?? this.settings?.safetyIntervalSeconds ?? 300,
      boundSeconds: this.input.safetyNetBoundSeconds ?? DEFAULT_SAFETY_NET_BOUND_SECONDS,
    };
  }

  /** A webhook arrived: the Pipedrive feed works, and the activity it names is not missed if a pass finds it. */
  safetyNetSawWebhook(item: WorkItem | null): void {
    this.safetyNet.pipedriveDelivered(item?.kind === 'activity' ? item.id : null, Date.now());
  }

  /** A pass completed: its verdict set the interval, so the next pass moves to the new interval's slot. */
  private safetyNetStepDone(passCompleted: boolean): void {
    if (passCompleted && this.adaptiveSafetyNet && this.settings?.enabled && this.nextSafetyNetAt !== null)
      this.nextSafetyNetAt = this.safetyNet.nextAt(Date.now());
  }

  /** The Pipedrive budget is spent now: work items wait (a timer wakes the loop when it returns). */
  private budgetSpent(): boolean {
    return this.budgetPausedUntil !== null && Date.now() < this.budgetPausedUntil;
  }

  /** The earliest durable timer: channel renewal, the next safety-net pass, or the spent budget's return. */
  private nextTimerAt(): number | null {
    const budget = this.budgetSpent() ? this.budgetPausedUntil : null;
    if (!this.settings?.enabled) return budget;
    const times = [this.channel ? Date.parse(this.channel.renewAt) : null, this.nextSafetyNetAt, budget].filter(
      (t): t is number => t !== null,
    );
    return times.length ? Math.min(...times) : null;
  }

  private fireDueTimers(): void {
    const now = Date.now();
    if (this.channel && Date.parse(this.channel.renewAt) <= now) this.queue.add({ kind: 'feeds' });
    if (this.nextSafetyNetAt !== null && this.nextSafetyNetAt <= now) {
      // Notifications and webhooks are not 100% reliable: look for what they missed.
      this.queue.add({ kind: 'google' });
      this.queue.add({ kind: 'reconcile' });
      if (this.useAdaptiveSafetyNet()) {
        this.safetyNet.reconfigure(this.safetyNetConfig());
        if (this.safetyNet.fire(now).checkFeeds) this.queue.add({ kind: 'verify-feeds' });
      } else if (patched(VERIFY_FEEDS_PATCH)) this.queue.add({ kind: 'verify-feeds' });
      if (patched(RETRY_UNRESOLVED_PATCH)) {
        // What failed for good is tried again: the reconciliation only sees activities changed since its last
        // pass, so an activity that failed and was not touched again would otherwise stay unsynced.
        for (const f of this.unresolved.values()) this.enqueue(retryItemFor(f.subject));
      }
      this.scheduleSafetyNet();
    }
  }

  private record(outcomes: SyncOutcome[]): void {
    for (const o of outcomes) {
      if (o.direction === 'pipedrive-to-google' && GOOGLE_WRITES.has(o.result)) this.unpulledGoogleWrites = true;
      this.unresolved.delete(o.subject); // synced since it failed
      if (o.result === 'echo') this.counters.echoes++;
      if (o.result !== 'echo' && o.result !== 'ignored') this.recent.push(o);
    }
    if (this.recent.length > RECENT_OUTCOMES) this.recent.splice(0, this.recent.length - RECENT_OUTCOMES);
  }

  private fail(subject: string, message: string): void {
    this.failing = true;
    this.counters.failures++;
    const at = new Date().toISOString();
    this.lastError = { subject, message, at };
    const known = this.unresolved.get(subject);
    this.unresolved.delete(subject); // re-inserted: the map stays ordered by latest failure
    this.unresolved.set(subject, {
      subject,
      message,
      firstAt: known?.firstAt ?? at,
      at,
      times: (known?.times ?? 0) + 1,
    });
    while (this.unresolved.size > UNRESOLVED_KEPT) this.unresolved.delete(this.unresolved.keys().next().value!);
  }

  /**
   * Runs `fn` alone: no other work item, settings change or disconnect runs meanwhile, and each one starts from
   * what the previous one left. A flag plus `condition(() => !busy)` is not enough: the SDK unblocks every
   * satisfied condition in one pass, so two waiters would both go ahead with the same `previous` settings.
   */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (patched(MUTEX_PATCH)) return this.lock.runExclusive(() => this.held(fn));
    // The flag-based lock of runs started before the mutex; kept so their histories replay unchanged.
    if (this.busy) await condition(() => !this.busy);
    return this.held(fn);
  }

  /** Runs `fn` with the status saying so (`busy`), once the caller holds the lock. */
  private async held<T>(fn: () => Promise<T>): Promise<T> {
    this.busy = true;
    this.updateState();
    try {
      return await fn();
    } finally {
      this.busy = false;
      this.updateState();
    }
  }

  private shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    const limit = this.input.continueAsNewAfterEvents;
    return info.continueAsNewSuggested || (limit !== undefined && info.historyLength >= limit);
  }

  private currentState(): SyncState {
    if (this.disconnected) return 'disconnected';
    if (this.paused) return 'paused';
    if (this.busy || this.queue.size > 0) return 'syncing';
    return this.failing ? 'failing' : 'idle';
  }

  /** Keeps the `CalendarSyncState` and `CalendarSyncMode` search attributes in step (`SearchAttributeWriter`). */
  private updateState(): void {
    this.searchAttributes.update(this.currentState(), this.failing, this.settings?.mode ?? null);
  }
}

/** Whether a pull's outcome wrote to Pipedrive (an echo of our own write or an ignored event wrote nothing). */
function wroteSomething(o: SyncOutcome): boolean {
  return o.result !== 'echo' && o.result !== 'ignored';
}

/** Outcomes of a Pipedrive → Google sync that wrote to the calendar (and so make Google notify us). */
const GOOGLE_WRITES: ReadonlySet<SyncOutcome['result']> = new Set([
  'created',
  'updated',
  'moved',
  'deleted',
  'conflict-resolved',
]);

/** When a work item's failure says the Pipedrive daily budget returns (epoch ms), or null for any other failure. */
function budgetSpentUntil(err: ActivityFailure): number | null {
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== PIPEDRIVE_BUDGET_SPENT) return null;
  const resumeAt = (cause.details?.[0] as { resumeAt?: unknown } | undefined)?.resumeAt;
  const at = typeof resumeAt === 'string' ? Date.parse(resumeAt) : NaN;
  // No usable time: one burst window, so the queue is not held on a guess.
  return Number.isFinite(at) ? at : Date.now() + 2000;
}
