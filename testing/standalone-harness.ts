/**
 * The real stack outside vitest, for scripts and benchmarks: its own Temporal dev server and throwaway
 * Postgres (migrated), plus the harness on top. `stop()` tears down whatever was started, also after a
 * failed start, so no dev server or Postgres outlives the script.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../adapters/store/migrate.js';
import { freePort } from '../scripts/provision/free-port.js';
import { ensurePostgres } from '../scripts/provision/postgres.js';
import { startDevServer } from '../scripts/provision/temporal-server.js';
import { startHarness, type Harness, type HarnessOptions } from './sync-harness.js';

export interface StandaloneHarness {
  h: Harness;
  stop(): Promise<void>;
}

export async function startStandaloneHarness(
  name: string,
  opts: Omit<HarnessOptions, 'addresses'> = {},
  log: (msg: string) => void = console.log,
): Promise<StandaloneHarness> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `${name}-`));
  const stops: Array<() => Promise<unknown>> = [() => rm(tmp, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => console.error(err));
  };
  try {
    const temporal = await startDevServer({ log });
    stops.push(() => temporal.stop());
    const postgres = await ensurePostgres({
      dataDir: path.join(tmp, 'pg'),
      port: await freePort(),
      database: name.replace(/[^a-z0-9_]/gi, '_'),
      ephemeral: true,
    });
    stops.push(() => postgres.stop());
    await migrate(postgres.url);
    const h = await startHarness({
      ...opts,
      addresses: { temporalAddress: temporal.address, databaseUrl: postgres.url },
    });
    stops.push(() => h.close());
    return { h, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
