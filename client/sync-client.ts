/**
 * Talking to users' sync workflows from outside Temporal: the HTTP server, the admin CLI, tests and
 * benchmarks use this. Every message starts the user's workflow if it is not running (signal-with-start,
 * update-with-start), so callers never need to know whether it exists.
 */
import { Client, Connection, WithStartWorkflowOperation, type WorkflowStartOptions } from '@temporalio/client';
import type { PipedriveChange } from '../activities/pipedrive-change.js';
import type { SyncSettings } from '../sync-rules/settings.js';
import {
  calendarSync,
  configure,
  googleChanged,
  pause,
  pipedriveChanged,
  resume,
  status,
  type CalendarSyncInput,
  type GoogleNotification,
  type SyncStatus,
} from '../workflows/calendar-sync.js';
import { workflowIdFor } from '../workflows/names.js';
import { CONNECTION_ID, SYNC_STATE } from '../workflows/search-attributes.js';
import type { TemporalSettings } from '../worker/config.js';

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect(settings.connectionOptions);
  return new Client({ connection, namespace: settings.namespace });
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

  async status(connectionId: string): Promise<SyncStatus> {
    return this.client.workflow.getHandle(workflowIdFor(connectionId)).query(status);
  }
}
