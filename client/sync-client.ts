/**
 * Talking to users' sync workflows from outside Temporal: the HTTP server and the admin CLI use these.
 */
import { Client, Connection } from '@temporalio/client';
import type { PipedriveChange } from '../activities/pipedrive-change.js';
import { calendarSync, pipedriveChanged, status, type SyncStatus } from '../workflows/calendar-sync.js';
import { workflowIdFor } from '../workflows/names.js';
import { CONNECTION_ID, SYNC_STATE } from '../workflows/search-attributes.js';
import type { TemporalSettings } from '../worker/config.js';

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect(settings.connectionOptions);
  return new Client({ connection, namespace: settings.namespace });
}

export class SyncClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
  ) {}

  /**
   * Delivers a Pipedrive change to the user's workflow, starting it if it is not running. Signal-with-start
   * is atomic on the server: two deliveries racing for a stopped workflow still start exactly one.
   */
  async pipedriveChanged(connectionId: string, change: PipedriveChange): Promise<void> {
    await this.client.workflow.signalWithStart(calendarSync, {
      workflowId: workflowIdFor(connectionId),
      taskQueue: this.taskQueue,
      args: [{ connectionId }],
      signal: pipedriveChanged,
      signalArgs: [change],
      typedSearchAttributes: [
        { key: CONNECTION_ID, value: connectionId },
        { key: SYNC_STATE, value: 'idle' },
      ],
    });
  }

  async status(connectionId: string): Promise<SyncStatus> {
    return this.client.workflow.getHandle(workflowIdFor(connectionId)).query(status);
  }
}
