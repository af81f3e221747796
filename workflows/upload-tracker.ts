/**
 * The upload of unsynced activities as the per-user workflow tracks it: the child workflow it starts (its id is
 * deterministic, so a second press answers the running upload), the child's final report, and stopping it on
 * disconnect. The child outlives each run of the parent (parent-close policy ABANDON); `latest` travels over
 * continue-as-new.
 */
import { ParentClosePolicy, condition, getExternalWorkflowHandle, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { invalidInput, INVALID_UPLOAD_OPTIONS, type UploadStarted, type UploadStatus } from './contract.js';
import { checkUploadOptions, type UploadOptions } from './upload-options.js';
import {
  cancelUpload,
  uploadUnsynced as uploadUnsyncedWorkflow,
  uploadWorkflowIdFor,
  type UploadFinished,
} from './upload-unsynced.js';

/**
 * How long a disconnect waits for a running upload to stop. The upload stops after the batch in flight, which
 * takes seconds; the bound only keeps a disconnect from hanging on an upload whose worker is gone.
 */
const UPLOAD_STOP_TIMEOUT = '10 minutes';

export class UploadTracker {
  /** Final reports of uploads received (any run): a disconnect waits for the next one after it cancels. */
  private reports = 0;
  /** An upload start in flight: a second press at the same moment waits for it instead of starting another. */
  private starting: Promise<UploadStarted> | null = null;

  constructor(
    private readonly connectionId: string,
    /** The latest upload, as this workflow knows it (progress: the child's `progress` query). */
    public latest: UploadStatus | null,
  ) {}

  async start(input: unknown): Promise<UploadStarted> {
    const checked = checkUploadOptions(input);
    if (!checked.ok) throw invalidInput(INVALID_UPLOAD_OPTIONS, checked.issues);
    const parsed = { options: checked.value };
    if (this.starting) return { ...(await this.starting), started: false };
    if (this.latest?.state === 'running') {
      return { workflowId: this.latest.workflowId, runId: this.latest.runId, started: false };
    }
    this.starting = this.startUploadChild(parsed.options).finally(() => (this.starting = null));
    return this.starting;
  }

  private async startUploadChild(options: UploadOptions): Promise<UploadStarted> {
    const workflowId = uploadWorkflowIdFor(this.connectionId);
    try {
      const child = await startChild(uploadUnsyncedWorkflow, {
        workflowId,
        args: [{ connectionId: this.connectionId, options }],
        // The upload outlives this run: the user's workflow continues-as-new long before a big upload ends.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      this.latest = {
        workflowId,
        runId: child.firstExecutionRunId,
        state: 'running',
        options,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        counts: null,
        message: null,
      };
      return { workflowId, runId: child.firstExecutionRunId, started: true };
    } catch (err) {
      // Running although this workflow did not know (its report was lost): that one is the upload.
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { workflowId, runId: this.latest?.runId ?? '', started: false };
      }
      throw err;
    }
  }

  /**
   * Cancels the upload child if one runs (it outlives this run: parent-close policy ABANDON, so nothing else
   * stops it) and waits for its final report, which it sends only once its batch in flight has ended. The signal
   * goes by workflow id, so it reaches the upload's current run even when this run never knew it.
   */
  async stop(): Promise<void> {
    const reportsBefore = this.reports;
    try {
      await getExternalWorkflowHandle(uploadWorkflowIdFor(this.connectionId)).signal(cancelUpload);
    } catch {
      return; // no upload is running
    }
    // Its report may have arrived just before the cancel (it was finishing anyway): then it has stopped already.
    await condition(
      () => this.reports > reportsBefore || (this.latest !== null && this.latest.state !== 'running'),
      UPLOAD_STOP_TIMEOUT,
    );
  }

  /** The child's final report: the status shows it (the child wrote it to the audit log). */
  ended(report: UploadFinished): void {
    this.reports++;
    if (this.latest && this.latest.runId !== report.runId) return; // a report of an older upload
    this.latest = {
      workflowId: report.workflowId,
      runId: report.runId,
      state: report.state,
      options: this.latest?.options ?? {},
      startedAt: this.latest?.startedAt ?? new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      counts: report.counts,
      message: report.message ?? null,
    };
  }
}
