/**
 * Regenerates the workflow histories that the replay tests replay (`test/histories/*.json`). Run it after a
 * deliberate, versioned change to a workflow: `npm run capture-histories`. Each scenario drives a real
 * workflow on a throwaway dev server and stores its history as the SDK's `historyToJSON` writes it.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { migrate } from '../activities/store/migrate.js';
import { SyncClient } from '../client/sync-client.js';
import { createSyncWorker } from '../worker/create-worker.js';
import { workflowIdFor } from '../workflows/names.js';
import { projectRoot } from './provision/paths.js';
import { ensurePostgres } from './provision/postgres.js';
import { startDevServer } from './provision/temporal-server.js';

const historiesDir = path.join(projectRoot, 'test', 'histories');

interface Scenario {
  name: string;
  /** Drives one workflow and returns its connection id once the history holds what the scenario wants. */
  run(sync: SyncClient): Promise<string>;
}

const scenarios: Scenario[] = [
  {
    name: 'calendar-sync-three-changes',
    async run(sync) {
      const connectionId = `capture-${randomUUID()}`;
      for (const id of ['1', '2', '3']) {
        await sync.pipedriveChanged(connectionId, {
          meta: { action: 'change', entity: 'activity', entity_id: id, id: `delivery-${id}`, change_source: 'app' },
          data: { id: Number(id) },
          previous: null,
        });
      }
      await until(async () => (await sync.status(connectionId)).processed === 3);
      return connectionId;
    },
  },
];

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'capture-'));
  const temporal = await startDevServer({ log: console.log });
  const postgres = await ensurePostgres({
    dataDir: path.join(tmp, 'pg'),
    port: 54399,
    database: 'capture',
    ephemeral: true,
  });
  await migrate(postgres.url);
  const db = new pg.Pool({ connectionString: postgres.url });
  const connection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createSyncWorker({ connection, namespace: 'default', taskQueue: 'capture', deps: { db } });
  const client: Client = temporal.env.client;
  const sync = new SyncClient(client, 'capture');
  await worker.runUntil(async () => {
    for (const scenario of scenarios) {
      const connectionId = await scenario.run(sync);
      const history = await client.workflow.getHandle(workflowIdFor(connectionId)).fetchHistory();
      const file = path.join(historiesDir, `${scenario.name}.json`);
      await writeFile(file, historyToJSON(history));
      console.log(`wrote ${path.relative(projectRoot, file)} (${history.events?.length ?? 0} events)`);
    }
  });
  await db.end();
  await connection.close();
  await temporal.stop();
  await postgres.stop();
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('scenario timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
