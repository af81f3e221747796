/**
 * Talking to users' sync workflows from outside Temporal: the HTTP server, the admin CLI, tests and
 * benchmarks use this. Every message starts the user's workflow if it is not running (signal-with-start,
 * update-with-start), so callers never need to know whether it exists.
 */
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { encryptingDataConverter } from '../lib/payload-codec.js';
import type { PipedriveChange } from '../adapters/pipedrive/change.js';
import type { SyncSettings } from '../sync-rules/settings.js';
import { calendarSync } from '../workflows/calendar-sync.js';
import {
  configure,
  disconnect,
  googleChanged,
  pause,
  pipedriveChanged,
  resume,
  resyncNow,
  retryFailure,
  status,
  uploadUnsynced,
  type CalendarSyncInput,
  type GoogleNotification,
  type ResyncStarted,
  type SyncStatus,
} from '../workflows/contract.js';
import { workflowIdFor } from '../workflows/names.js';
import {
  cancelUpload,
  progress,
  uploadWorkflowIdFor,
  type UploadOptions,
  type UploadProgress,
} from '../workflows/upload-unsynced.js';
import { CONNECTION_ID, SYNC_STATE } from '../workflows/search-attributes.js';
import type { TemporalSettings } from '../lib/config.js';

/**
 * A Temporal client that encrypts what it sends and decrypts what it reads with the payload codec
 * (lib/payload-codec.ts); every client of the sync workflows must use it, or the worker cannot read them.
 */
export async function connectClient(settings: TemporalSettings, payloadCodec: PayloadCodec): Promise<Client> {
  const connection = await Connection.connect(settings.connectionOptions);
  return new Client({
    connection,
    namespace: settings.namespace,
    dataConverter: encryptingDataConverter(payloadCodec),
  });
}

export interface SyncClientOptions {
  /** Passed to new workflows (tests lower the continue-as-new threshold). */
  workflowInput?: Omit<CalendarSyncInput, 'connectionId' | 'carried'>;
}

export class SyncClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly options: SyncClientOptions = {},
  ) {}

  private startOptions(connectionId: string): WorkflowStartOptions<typeof calendarSync> {
    return {
      workflowId: workflowIdFor(connectionId),
      taskQueue: this.taskQueue,
      args: [{ connectionId, ...this.options.workflowInput }],
      typedSearchAttributes: [
        { key: CONNECTION_ID, value: connectionId },
        { key: SYNC_STATE, value: 'idle' },
      ],
    };
  }

  private withStart(connectionId: string) {
    return new WithStartWorkflowOperation(calendarSync, {
      ...this.startOptions(connectionId),
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  /**
   * Delivers a Pipedrive change to the user's workflow, starting it if it is not running. Signal-with-start
   * is atomic on the server: two deliveries racing for a stopped workflow still start exactly one.
   */
  async pipedriveChanged(connectionId: string, change: PipedriveChange): Promise<void> {
    await this.client.workflow.signalWithStart(calendarSync, {
      ...this.startOptions(connectionId),
      signal: pipedriveChanged,
      signalArgs: [change],
    });
  }

  async googleChanged(connectionId: string, notification: GoogleNotification = {}): Promise<void> {
    await this.client.workflow.signalWithStart(calendarSync, {
      ...this.startOptions(connectionId),
      signal: googleChanged,
      signalArgs: [notification],
    });
  }

  /** Validated by the workflow: bad settings are rejected with the reasons and change nothing. */
  async configure(connectionId: string, settings: SyncSettings | Record<string, unknown>): Promise<SyncSettings> {
    return this.client.workflow.executeUpdateWithStart(configure, {
      args: [settings],
      startWorkflowOperation: this.withStart(connectionId),
    });
  }

  async pause(connectionId: string): Promise<SyncStatus> {
    return this.client.workflow.executeUpdateWithStart(pause, { startWorkflowOperation: this.withStart(connectionId) });
  }

  async resume(connectionId: string): Promise<SyncStatus> {
    return this.client.workflow.executeUpdateWithStart(resume, {
      startWorkflowOperation: this.withStart(connectionId),
    });
  }

  /** Stops the user's sync for good: channel stopped, webhooks removed, sync off; the workflow completes. */
  async disconnect(connectionId: string): Promise<SyncStatus> {
    return this.client.workflow.getHandle(workflowIdFor(connectionId)).executeUpdate(disconnect);
  }

  /**
   * "Resync now": the safety-net pass at once (idempotent). Only a running sync resyncs: the workflow refuses
   * (`SyncNotRunning`) while the sync is off, and a workflow that is not running is not started for it.
   */
  async resyncNow(connectionId: string): Promise<ResyncStarted> {
    return this.client.workflow.getHandle(workflowIdFor(connectionId)).executeUpdate(resyncNow);
  }

  /** Retries one unresolved failure now; refused (`NotRetryable`) for a subject that is not failing or cannot be. */
  async retryFailure(connectionId: string, subject: string): Promise<SyncStatus> {
    return this.client.workflow.getHandle(workflowIdFor(connectionId)).executeUpdate(retryFailure, { args: [subject] });
  }

  async status(connectionId: string): Promise<SyncStatus> {
    return this.client.workflow.getHandle(workflowIdFor(connectionId)).query(status);
  }

  /**
   * "Upload unsynced activities": starts the upload child (or finds the running one) and answers its workflow
   * id. Options are validated by the workflow: bad ones are rejected with the reasons and start nothing.
   */
  async uploadUnsynced(connectionId: string, options: UploadOptions | Record<string, unknown> = {}): Promise<string> {
    const started = await this.client.workflow.executeUpdateWithStart(uploadUnsynced, {
      args: [options],
      startWorkflowOperation: this.withStart(connectionId),
    });
    return started.workflowId;
  }

  /** The latest upload's progress (also after it ended); null when the user never started one. */
  async uploadProgress(connectionId: string): Promise<UploadProgress | null> {
    try {
      return await this.client.workflow.getHandle(uploadWorkflowIdFor(connectionId)).query(progress);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** Stops the running upload after its current batch; it reports `cancelled`. Nothing running: nothing to do. */
  async cancelUpload(connectionId: string): Promise<UploadProgress | null> {
    try {
      await this.client.workflow.getHandle(uploadWorkflowIdFor(connectionId)).signal(cancelUpload);
    } catch (err) {
      // Never started, or ended already: nothing to cancel.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return this.uploadProgress(connectionId);
  }
}
