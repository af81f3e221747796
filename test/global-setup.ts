/**
 * Integration tests share one real Temporal dev server and one real Postgres per run, and one workflow
 * bundle built once; this starts them and hands their addresses to the test files through `inject()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../adapters/store/migrate.js';
import { freePort } from '../scripts/provision/free-port.js';
import { ensurePostgres } from '../scripts/provision/postgres.js';
import { startDevServer } from '../scripts/provision/temporal-server.js';
import { bundleSyncWorkflows } from '../worker/create-worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundleCode: string;
    payloadKeys: string;
  }
}

export default async function setup(project: TestProject) {
  const log = (msg: string) => console.log(`[global-setup] ${msg}`);
  const t0 = Date.now();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'calendar-sync-test-'));
  const [temporal, postgres, bundle] = await Promise.all([
    startDevServer({ log }),
    ensurePostgres({
      dataDir: path.join(tmp, 'pg'),
      port: await freePort(),
      database: 'calendar_sync_test',
      ephemeral: true,
      log,
    }),
    bundleSyncWorkflows(),
  ]);
  await migrate(postgres.url);
  log(
    `Temporal ${temporal.address} (${temporal.cli.kind === 'path' ? temporal.cli.path : 'SDK download'}), Postgres ${postgres.url}, ready in ${Date.now() - t0} ms`,
  );

  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', postgres.url);
  project.provide('workflowBundleCode', bundle.code);
  project.provide('payloadKeys', `test:${randomBytes(32).toString('base64')}`);

  return async () => {
    await temporal.stop();
    await postgres.stop();
    await rm(tmp, { recursive: true, force: true });
  };
}
