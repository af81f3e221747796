import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../activities/pipedrive-change.js';
import { SyncClient } from '../../client/sync-client.js';
import { workflowIdFor } from '../../workflows/names.js';
import { CONNECTION_ID, SYNC_STATE } from '../../workflows/search-attributes.js';
import { connectStack, eventually, type Stack } from '../support/stack.js';

function change(id: string, entityId = '7'): PipedriveChange {
  return {
    meta: { action: 'change', entity: 'activity', entity_id: entityId, id, change_source: 'app' },
    data: { id: Number(entityId) },
    previous: null,
  };
}

describe('the per-user calendarSync workflow', () => {
  let stack: Stack;
  let sync: SyncClient;
  let running: { worker: Worker; done: Promise<void> };

  beforeAll(async () => {
    stack = await connectStack();
    sync = new SyncClient(stack.client, stack.taskQueue);
    running = await stack.startWorker();
  });

  afterAll(async () => {
    running.worker.shutdown();
    await running.done;
    await stack.close();
  });

  it('is started by signal-with-start and its activity writes the change to Postgres', async () => {
    const connectionId = `conn-${randomUUID()}`;
    await sync.pipedriveChanged(connectionId, change('delivery-1'));

    const row = await eventually(
      async () => {
        const { rows } = await stack.db.query('SELECT * FROM audit_log WHERE connection_id = $1', [connectionId]);
        return rows[0];
      },
      15_000,
      'the audit row',
    );
    expect(row).toMatchObject({
      direction: 'pipedrive-to-google',
      action: 'pipedrive-change-received',
      subject: 'activity:7',
      outcome: 'ok',
    });

    // The workflow goes back to idle after the activity completes, a moment after the row is written.
    const description = await eventually(async () => {
      const d = await stack.client.workflow.getHandle(workflowIdFor(connectionId)).describe();
      return d.typedSearchAttributes.get(SYNC_STATE) === 'idle' ? d : undefined;
    });
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(CONNECTION_ID)).toBe(connectionId);
  });

  it('delivers a second change to the running workflow instead of starting another', async () => {
    const connectionId = `conn-${randomUUID()}`;
    await sync.pipedriveChanged(connectionId, change('a'));
    await sync.pipedriveChanged(connectionId, change('b'));
    await eventually(async () => ((await sync.status(connectionId)).processed === 2 ? true : undefined));

    const runs = await stack.client.workflow.count(`WorkflowId = '${workflowIdFor(connectionId)}'`);
    expect(runs.count).toBe(1);
  });

  it('answers the status query with what it has processed', async () => {
    const connectionId = `conn-${randomUUID()}`;
    for (const id of ['x', 'y', 'z']) await sync.pipedriveChanged(connectionId, change(id));
    const status = await eventually(async () => {
      const s = await sync.status(connectionId);
      return s.processed === 3 ? s : undefined;
    });
    expect(status).toEqual({ connectionId, state: 'idle', queued: 0, processed: 3 });
  });

  it('records a redelivered webhook once, because the activity is idempotent', async () => {
    const connectionId = `conn-${randomUUID()}`;
    await sync.pipedriveChanged(connectionId, change('same-delivery'));
    await sync.pipedriveChanged(connectionId, change('same-delivery'));
    await eventually(async () => ((await sync.status(connectionId)).processed === 2 ? true : undefined));
    const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM audit_log WHERE connection_id = $1', [
      connectionId,
    ]);
    expect(rows[0].n).toBe(1);
  });
});
