/**
 * A Postgres of a test file's own that the test can stop and start again on the same port with the same data —
 * what an operator's restart or a failover looks like to our processes. (The shared Postgres of the global setup
 * must stay up for the other files.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../adapters/store/migrate.js';
import { freePort } from '../../scripts/provision/free-port.js';
import { ensurePostgres, postgresDataDir, type PostgresHandle } from '../../scripts/provision/postgres.js';

export interface RestartablePostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function startRestartablePostgres(database = 'calendar_sync_drill'): Promise<RestartablePostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pg-drill-'));
  const dataDir = path.join(dir, 'pg');
  const port = await freePort();
  const start = async (): Promise<PostgresHandle> => {
    // A DATABASE_URL in the environment would make ensurePostgres reuse that server; this one must be ours.
    const given = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      return await ensurePostgres({ dataDir, port, database });
    } finally {
      if (given !== undefined) process.env.DATABASE_URL = given;
    }
  };
  let handle: PostgresHandle | null = await start();
  const url = handle.url;
  await migrate(url);
  return {
    url,
    async stop() {
      await handle?.stop();
      handle = null;
    },
    async start() {
      if (!handle) handle = await start();
    },
    async destroy() {
      await handle?.stop();
      handle = null;
      await rm(postgresDataDir(dataDir), { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
