/**
 * "Upload unsynced activities": a child of the user's sync workflow, id `calendar-sync:<connectionId>:upload`,
 * that gives every existing Pipedrive activity of the user without a calendar event its event.
 *
 * It first scans the user's activities page by page (500 per page, the largest Pipedrive serves; each page is
 * stored in Postgres by the scan activity, so no activity data enters this history), then writes the events in
 * small batches through the live sync's idempotent path (deterministic event ids, the link table). Google's
 * per-user quota is the limit on its speed, so this workflow paces the batches with durable timers to just under
 * the quota and slows down when Google answers with rate limits. It continues-as-new for large accounts, carrying
 * its cursor and pacing, and reports its outcome to the parent when it ends (completed, cancelled or failed).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchReport, createActivities, UploadCounts, UploadFilter, UploadReport } from '../activities/index.js';
import { workflowIdFor } from './names.js';
import { Pacer, type PacerState } from './pacer.js';
import { DEFAULT_QUOTA_PER_MINUTE, type UploadOptions } from './upload-options.js';

export { parseUploadOptions, type UploadOptions } from './upload-options.js';

// ── Message API ──────────────────────────────────────────────────────────────────────────────────────────

/** How far the upload is: counters, rate, estimated time left. */
export const progress = defineQuery<UploadProgress>('progress');

/** Stops the upload after the batch in flight; it then reports `cancelled`. */
export const cancelUpload = defineSignal('cancelUpload');

/** Sent by the upload to its parent (by workflow id, so it reaches the parent's current run) when it ends. */
export const uploadFinished = defineSignal<[UploadFinished]>('uploadFinished');

export interface UploadFinished extends UploadReport {
  workflowId: string;
  runId: string;
}

export interface UploadProgress {
  uploadId: string;
  state: 'scanning' | 'uploading' | 'backing-off' | 'completed' | 'cancelled' | 'failed';
  /** Activities found within the filters, so far (final once `scanComplete`). */
  total: number;
  scanComplete: boolean;
  /** Events written. */
  done: number;
  /** Activities that had an event already (or got one from the live sync meanwhile). */
  skipped: number;
  /** Activities the settings keep out of the calendar (type, private, no due date…). */
  excluded: number;
  failed: number;
  pending: number;
  /** The latest failures, newest last. */
  failures: { activityId: number; reason: string }[];
  /** Events written per minute since the upload started. */
  eventsPerMinute: number;
  /** The pace the upload currently aims at (Google requests per minute). */
  targetPerMinute: number;
  quotaPerMinute: number;
  /** Rate-limit answers Google gave so far. */
  rateLimited: number;
  estimatedSecondsLeft: number | null;
  startedAt: string;
}

export interface UploadUnsyncedInput {
  connectionId: string;
  options: UploadOptions;
  /** Continue-as-new after this many batches even if the server does not suggest it (tests). */
  batchesBeforeContinue?: number;
  carried?: UploadCarried;
}

interface UploadCarried {
  uploadId: string;
  startedAt: number;
  cursor: string | null;
  scanComplete: boolean;
  counts: UploadCounts;
  failures: UploadProgress['failures'];
  written: number;
  rateLimited: number;
  pacer: PacerState;
  cancelled: boolean;
}

const RECENT_FAILURES = 20;

export function uploadWorkflowIdFor(connectionId: string): string {
  return `${workflowIdFor(connectionId)}:upload`;
}

// ── Activities ───────────────────────────────────────────────────────────────────────────────────────────

const retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 12,
} as const;

const steps = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '2 minutes', retry });

// ── The upload ───────────────────────────────────────────────────────────────────────────────────────────

export async function uploadUnsynced(input: UploadUnsyncedInput): Promise<UploadReport> {
  const upload = new Upload(input);
  setHandler(progress, () => upload.progress());
  setHandler(cancelUpload, () => upload.cancel());
  return upload.run();
}

class Upload {
  private readonly uploadId: string;
  private readonly startedAt: number;
  private readonly pacer: Pacer;
  private cursor: string | null;
  private scanComplete: boolean;
  private counts: UploadCounts;
  private failures: UploadProgress['failures'];
  private written: number;
  private rateLimited: number;
  private cancelled: boolean;
  private state: UploadProgress['state'];
  private batchesThisRun = 0;

  constructor(private readonly input: UploadUnsyncedInput) {
    const c = input.carried;
    this.uploadId = c?.uploadId ?? workflowInfo().runId;
    this.startedAt = c?.startedAt ?? Date.now();
    this.pacer = new Pacer(input.options.quotaPerMinute ?? DEFAULT_QUOTA_PER_MINUTE, c?.pacer);
    this.cursor = c?.cursor ?? null;
    this.scanComplete = c?.scanComplete ?? false;
    this.counts = c?.counts ?? { found: 0, pending: 0, done: 0, skipped: 0, excluded: 0, failed: 0 };
    this.failures = c?.failures ?? [];
    this.written = c?.written ?? 0;
    this.rateLimited = c?.rateLimited ?? 0;
    this.cancelled = c?.cancelled ?? false;
    this.state = this.scanComplete ? 'uploading' : 'scanning';
  }

  cancel(): void {
    this.cancelled = true;
  }

  progress(): UploadProgress {
    const minutes = (Date.now() - this.startedAt) / 60_000;
    const eventsPerMinute = minutes > 0 ? Math.round((this.counts.done / minutes) * 10) / 10 : 0;
    // Each event costs about one request: what is left, at the pace aimed at.
    const estimatedSecondsLeft =
      this.scanComplete && !this.finished()
        ? Math.ceil((this.counts.pending * 60) / this.pacer.state.ratePerMinute)
        : this.finished()
          ? 0
          : null;
    return {
      uploadId: this.uploadId,
      state: this.state,
      total: this.counts.found,
      done: this.counts.done,
      skipped: this.counts.skipped,
      excluded: this.counts.excluded,
      failed: this.counts.failed,
      pending: this.counts.pending,
      scanComplete: this.scanComplete,
      failures: this.failures,
      eventsPerMinute,
      targetPerMinute: Math.round(this.pacer.state.ratePerMinute),
      quotaPerMinute: this.pacer.quotaPerMinute,
      rateLimited: this.rateLimited,
      estimatedSecondsLeft,
      startedAt: new Date(this.startedAt).toISOString(),
    };
  }

  async run(): Promise<UploadReport> {
    const connectionId = this.input.connectionId;
    try {
      // Scan first: the totals (and the time left) are known early, and a page costs 10 tokens for 500
      // activities. The live sync keeps running meanwhile and takes what it syncs out of the upload.
      while (!this.scanComplete && !this.cancelled) {
        const page = await steps.scanUploadPage(connectionId, this.uploadId, this.filter(), this.cursor);
        this.cursor = page.nextCursor;
        this.scanComplete = page.nextCursor === null;
        this.counts = page.counts;
        if (this.shouldContinueAsNew()) return this.continueAsNew();
      }
      this.state = 'uploading';
      while (!this.cancelled && this.counts.pending > 0) {
        const startedAt = Date.now();
        const report = await steps.uploadBatch(connectionId, {
          uploadId: this.uploadId,
          size: this.pacer.batchSize,
          concurrency: 10,
        });
        this.batchesThisRun++;
        this.absorb(report);
        if (this.counts.pending === 0) break;
        const wait = this.pacer.after(report, startedAt);
        this.state = report.rateLimited > 0 ? 'backing-off' : 'uploading';
        // A durable timer: a worker restart in the middle of the pause resumes it, not the batch.
        if (wait > 0) await condition(() => this.cancelled, wait);
        this.state = 'uploading';
        if (this.shouldContinueAsNew()) return this.continueAsNew();
      }
      this.state = this.cancelled ? 'cancelled' : 'completed';
      return await this.finish();
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      this.state = 'failed';
      const message = err.cause?.message ?? err.message;
      await this.finish(message);
      throw ApplicationFailure.nonRetryable(`upload of unsynced activities failed: ${message}`, 'UploadFailed');
    }
  }

  private filter(): UploadFilter {
    const { from, to, includeDone } = this.input.options;
    return {
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(includeDone !== undefined ? { includeDone } : {}),
    };
  }

  private absorb(report: BatchReport): void {
    this.counts = report.counts;
    this.written += report.written;
    this.rateLimited += report.rateLimited;
    this.failures.push(...report.failures);
    if (this.failures.length > RECENT_FAILURES) this.failures.splice(0, this.failures.length - RECENT_FAILURES);
  }

  private finished(): boolean {
    return this.state === 'completed' || this.state === 'cancelled' || this.state === 'failed';
  }

  /** Audit entry, store cleanup, and the report to the parent (which shows it in its status). */
  private async finish(message?: string): Promise<UploadReport> {
    const report: UploadReport = {
      uploadId: this.uploadId,
      state: this.state as UploadReport['state'],
      counts: this.counts,
      ...(message ? { message } : {}),
    };
    await steps.finishUpload(this.input.connectionId, report).catch(() => undefined);
    const info = workflowInfo();
    try {
      await getExternalWorkflowHandle(workflowIdFor(this.input.connectionId)).signal(uploadFinished, {
        ...report,
        workflowId: info.workflowId,
        runId: info.firstExecutionRunId,
      });
    } catch {
      // The user's sync is not running (disconnected): the audit log has the outcome.
    }
    return report;
  }

  private shouldContinueAsNew(): boolean {
    const limit = this.input.batchesBeforeContinue ?? 400;
    return workflowInfo().continueAsNewSuggested || this.batchesThisRun >= limit;
  }

  private continueAsNew(): Promise<never> {
    return continueAsNew<typeof uploadUnsynced>({
      connectionId: this.input.connectionId,
      options: this.input.options,
      batchesBeforeContinue: this.input.batchesBeforeContinue,
      carried: {
        uploadId: this.uploadId,
        startedAt: this.startedAt,
        cursor: this.cursor,
        scanComplete: this.scanComplete,
        counts: this.counts,
        failures: this.failures,
        written: this.written,
        rateLimited: this.rateLimited,
        pacer: this.pacer.state,
        cancelled: this.cancelled,
      },
    });
  }
}
