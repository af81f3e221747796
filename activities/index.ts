/**
 * Every side effect of the sync, built from injected dependencies so tests, benchmarks and the worker wire
 * the same code to different databases and API endpoints. Each activity is idempotent: Temporal may run it
 * again after a crash or a timeout, and the second run changes nothing that the first one finished.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { parseSettings, type SyncSettings } from '../sync-rules/settings.js';
import { writeAudit } from '../adapters/store/audit-log.js';
import { createBackfillActivities } from './backfill/activities.js';
import { takeOutOfUploads } from '../adapters/store/upload-items.js';
import { ensurePipedriveWebhooks, removePipedriveWebhooks } from './feeds/pipedrive-webhooks.js';
import { reconcilePipedrive, type ReconcileResult } from './feeds/reconcile.js';
import { channelIsLive, startWatchChannel, stopWatchChannels, type ChannelInfo } from './feeds/watch-channel.js';
import { getConnection, saveSettings } from '../adapters/store/connections.js';
import { clearSyncState } from '../adapters/store/google-sync-state.js';
import type { NamedEntity } from '../adapters/store/names.js';
import type { SyncDeps } from '../adapters/sync-deps.js';
import { loadSyncContext } from './sync/context.js';
import { refreshLinkedEntity } from './sync/entity-rename.js';
import { pullGoogleChanges, type PullSummary } from './sync/google-to-pipedrive.js';
import { withPullLease } from './sync/pull-lease.js';
import type { SyncOutcome } from './sync/outcome.js';
import { syncActivityToGoogle } from './sync/pipedrive-to-google.js';
import { relocateEvents, type RelocateResult } from './sync/relocate.js';

export type { SyncDeps as ActivityDeps } from '../adapters/sync-deps.js';
export type { SyncOutcome } from './sync/outcome.js';
export type { PullSummary } from './sync/google-to-pipedrive.js';
export type { RelocateResult } from './sync/relocate.js';
export type { ChannelInfo } from './feeds/watch-channel.js';
export type { ReconcileResult } from './feeds/reconcile.js';
export type { BatchReport, ScannedPage, UploadCounts, UploadFilter, UploadReport } from './backfill/activities.js';

export interface FeedsCheck {
  /** Pipedrive webhooks that were missing and have been registered again. */
  webhooksCreated: number;
  /** False when the workflow's Google channel is gone, stopped, expired or for another calendar. */
  channelLive: boolean;
}

/** What one batch of Pipedrive activity syncs did (`syncPipedriveActivities`). */
export interface ActivityBatchResult {
  /** One outcome per id synced, in the order given. */
  outcomes: SyncOutcome[];
  /**
   * The id whose sync failed, where the batch stopped; null when every id was synced. The workflow syncs it again
   * on its own (`syncPipedriveActivity`), with that step's retries and failure bookkeeping.
   */
  failedId: number | null;
  /** Why it failed (for the log; the single step's own failure is what gets recorded). */
  failure: string | null;
  /** The ids after the failed one, not tried: they go back to the front of the queue. */
  untried: number[];
}

export interface ConnectionSummary {
  settings: SyncSettings;
  pipedriveUserId: number | null;
  pipedriveCompanyId: number | null;
  googleEmail: string | null;
}

export function createActivities(deps: SyncDeps) {
  const context = (connectionId: string) => loadSyncContext(deps, connectionId, Context.current().info.attempt);

  /** Audit rows for applied changes; keyed by the activity execution so a retry does not add them twice. */
  async function audit(connectionId: string, outcomes: SyncOutcome[]): Promise<void> {
    const info = Context.current().info;
    let n = 0;
    for (const o of outcomes) {
      n++;
      await auditOutcome(connectionId, o, `${info.workflowExecution?.runId}/${info.activityId}/${n}`);
    }
  }

  async function auditOutcome(connectionId: string, o: SyncOutcome, idempotencyKey: string): Promise<void> {
    if (o.result === 'echo' || o.result === 'ignored') return;
    await writeAudit(deps.db, {
      connectionId,
      direction: o.direction,
      action: o.result,
      subject: o.subject,
      outcome: o.result === 'skipped' ? 'skipped' : 'ok',
      detail: o.reason ? { reason: o.reason } : {},
      idempotencyKey,
    });
  }

  return {
    ...createBackfillActivities(deps),

    /** One Pipedrive activity → its Google event (create, update, delete, or nothing). */
    async syncPipedriveActivity(connectionId: string, activityId: number): Promise<SyncOutcome> {
      const outcome = await syncActivityToGoogle(await context(connectionId), activityId);
      // Synced from its current state: a running upload must not write the (older) state its scan read.
      await takeOutOfUploads(deps.db, connectionId, activityId);
      await audit(connectionId, [outcome]);
      return outcome;
    },

    /**
     * Several Pipedrive activities → their Google events, one after the other with one connection context: the
     * same work as `syncPipedriveActivity` per id, for one activity task instead of one each. Idempotent per id
     * like the single step (a retry after a partial effect finds the ids already written unchanged and writes
     * nothing for them; each audit row is keyed by this execution and the activity). The batch stops at the
     * first failure instead of failing: what failed is usually the connection or the API as a whole (a rate
     * limit, a spent budget, an outage), and the ids after it would only spend requests refused anyway.
     */
    async syncPipedriveActivities(connectionId: string, activityIds: number[]): Promise<ActivityBatchResult> {
      const ctx = await context(connectionId);
      const info = Context.current().info;
      const outcomes: SyncOutcome[] = [];
      for (const [i, activityId] of activityIds.entries()) {
        try {
          const outcome = await syncActivityToGoogle(ctx, activityId);
          await takeOutOfUploads(deps.db, connectionId, activityId);
          await auditOutcome(
            connectionId,
            outcome,
            `${info.workflowExecution?.runId}/${info.activityId}/${outcome.subject}`,
          );
          outcomes.push(outcome);
        } catch (err) {
          if (err instanceof CancelledFailure) throw err;
          const failure = err instanceof Error ? err.message : String(err);
          return { outcomes, failedId: activityId, failure, untried: activityIds.slice(i + 1) };
        }
        Context.current().heartbeat(i + 1);
      }
      return { outcomes, failedId: null, failure: null, untried: [] };
    },

    /**
     * A deal/person/organization changed: refresh its name and re-title the events that show it. Each event's
     * audit row is written as soon as it changed, keyed by the event's activity, so a retry after a failure half-way
     * neither loses the rows of the events already re-titled nor writes them twice.
     */
    async refreshPipedriveEntity(connectionId: string, entity: NamedEntity, id: number): Promise<SyncOutcome[]> {
      const info = Context.current().info;
      return refreshLinkedEntity(await context(connectionId), entity, id, (o) =>
        auditOutcome(connectionId, o, `${info.workflowExecution?.runId}/${info.activityId}/${o.subject}`),
      );
    },

    /** After a calendar switch: a batch of linked events moved from the old calendar into the chosen one. */
    async relocateEvents(connectionId: string): Promise<RelocateResult> {
      const result = await relocateEvents(await context(connectionId), deps.relocateBatch);
      await audit(connectionId, result.outcomes);
      return result;
    },

    /** Incremental Google pull, each changed event applied to Pipedrive; a baseline when there is no token. */
    async pullGoogle(connectionId: string): Promise<PullSummary> {
      // A local attempt (workflows/local-first.ts) has no heartbeats: the SDK would hand them to a server that
      // never scheduled the attempt (the worker logs each as a failed heartbeat); its short timeout bounds it instead.
      const local = Context.current().info.isLocal;
      return withPullLease(deps.db, connectionId, async () => {
        const summary = await pullGoogleChanges(await context(connectionId), {
          onPage: (page) => (local ? undefined : Context.current().heartbeat(page)),
        });
        await audit(connectionId, summary.outcomes);
        for (const f of summary.failures) {
          await writeAudit(deps.db, {
            connectionId,
            direction: 'google-to-pipedrive',
            action: 'apply-event',
            subject: f.subject,
            outcome: 'failed',
            detail: { message: f.message },
          });
        }
        return summary;
      });
    },

    /**
     * Saves validated settings. Enabling the sync or switching calendars drops the Google sync token, so the
     * next pull takes a fresh baseline: only changes from now on sync.
     */
    async applySettings(connectionId: string, previous: SyncSettings | null, next: SyncSettings): Promise<void> {
      const parsed = parseSettings(next);
      if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.errors.join('; '), 'InvalidSettings');
      await saveSettings(deps.db, connectionId, parsed.settings);
      const enabling = parsed.settings.enabled && !previous?.enabled;
      if (enabling || previous?.calendarId !== parsed.settings.calendarId) await clearSyncState(deps.db, connectionId);
    },

    /**
     * Who the connection is and its saved settings (a workflow started by a webhook has not been told them);
     * null when the connection does not exist.
     */
    async loadConnection(connectionId: string): Promise<ConnectionSummary | null> {
      const c = await getConnection(deps.db, connectionId);
      return c
        ? {
            settings: c.settings,
            pipedriveUserId: c.pipedriveUserId,
            pipedriveCompanyId: c.pipedriveCompanyId,
            googleEmail: c.googleEmail,
          }
        : null;
    },

    /** Creates a Google push channel for the user's calendar (id chosen by the workflow, so it is replay-safe). */
    async startWatch(connectionId: string, channelId: string): Promise<ChannelInfo | null> {
      return startWatchChannel(await context(connectionId), channelId);
    },

    /** Stops the connection's channels except `keep`; an already expired channel counts as stopped. */
    async stopWatch(connectionId: string, keep?: string): Promise<number> {
      return stopWatchChannels(await context(connectionId), keep);
    },

    /** Registers the connection's Pipedrive webhooks that are missing (idempotent). */
    async ensureWebhooks(connectionId: string): Promise<number> {
      return ensurePipedriveWebhooks(await context(connectionId));
    },

    /**
     * Checks the change feeds and repairs what it can at once: the Pipedrive webhooks are compared with Pipedrive's
     * list (`GET /v1/webhooks`) and the missing ones registered; the Google channel is checked against the registry
     * (`channelLive: false` → the workflow opens a new one).
     */
    async verifyFeeds(connectionId: string, channelId: string | null): Promise<FeedsCheck> {
      const ctx = await context(connectionId);
      const webhooksCreated = ctx.settings.enabled ? await ensurePipedriveWebhooks(ctx) : 0;
      return { webhooksCreated, channelLive: await channelIsLive(ctx, channelId) };
    },

    async removeWebhooks(connectionId: string): Promise<number> {
      return removePipedriveWebhooks(await context(connectionId));
    },

    /** The Pipedrive safety net: ids of activities whose change may have been missed. */
    async reconcile(connectionId: string): Promise<ReconcileResult> {
      return reconcilePipedrive(await context(connectionId));
    },

    /** Records a step that failed permanently, so the user sees it in the audit log. */
    async recordFailure(connectionId: string, subject: string, message: string): Promise<void> {
      await writeAudit(deps.db, {
        connectionId,
        direction: 'system',
        action: 'sync-step-failed',
        subject,
        outcome: 'failed',
        detail: { message },
        idempotencyKey: `${Context.current().info.workflowExecution?.runId}/${Context.current().info.activityId}`,
      });
    },
  };
}

export type SyncActivities = ReturnType<typeof createActivities>;
