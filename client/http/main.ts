/**
 * The HTTP server process (production entry point): connects to Temporal and Postgres and serves until
 * SIGINT/SIGTERM.
 */
import pg from 'pg';
import { migrate } from '../../activities/store/migrate.js';
import { requireEnv, temporalSettings } from '../../worker/config.js';
import { secretBoxFromEnv } from '../../worker/sync-deps.js';
import { connectClient, SyncClient } from '../sync-client.js';
import { startHttpServer } from './server.js';

async function main(): Promise<void> {
  const temporal = temporalSettings();
  const databaseUrl = requireEnv('DATABASE_URL');
  await migrate(databaseUrl);
  const db = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const client = await connectClient(temporal);
  const port = Number(process.env.PORT ?? 3000);
  const server = await startHttpServer(
    { db, sync: new SyncClient(client, temporal.taskQueue), secrets: secretBoxFromEnv() },
    port,
    process.env.HOST ?? '0.0.0.0',
  );
  console.log(`http: listening on ${server.url}`);
  const stop = async () => {
    await server.close();
    await client.connection.close();
    await db.end();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error('http server failed:', err);
  process.exit(1);
});
