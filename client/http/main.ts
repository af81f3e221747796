/**
 * The HTTP server process (production entry point): connects to Temporal and Postgres and serves until
 * SIGINT/SIGTERM.
 */
import { createHash } from 'node:crypto';
import { migrate } from '../../adapters/store/migrate.js';
import { requireEnv, temporalSettings } from '../../lib/config.js';
import { payloadCodecFromEnv, syncDepsFromEnv } from '../../adapters/sync-deps.js';
import { connectClient, SyncClient } from '../sync-client.js';
import { createLogger } from '../../lib/logger.js';
import { codecEndpointFromEnv } from './codec-endpoint.js';
import { allowedApiOriginsFromEnv } from './pipedrive-api-domain.js';
import { startHttpServer } from './server.js';

async function main(): Promise<void> {
  const temporal = temporalSettings();
  const databaseUrl = requireEnv('DATABASE_URL');
  await migrate(databaseUrl);
  // The same dependencies as the worker's activities: the settings page reads calendars and activity types.
  const deps = syncDepsFromEnv();
  const db = deps.db;
  const publicUrl = requireEnv('PUBLIC_URL').replace(/\/+$/, '');
  const payloadCodec = payloadCodecFromEnv();
  const client = await connectClient(temporal, payloadCodec);
  const port = Number(process.env.PORT ?? 3000);
  const log = createLogger({ name: 'web' });
  const server = await startHttpServer(
    {
      db,
      log,
      sync: new SyncClient(client, temporal.taskQueue),
      secrets: deps.secrets,
      codec: codecEndpointFromEnv(payloadCodec, temporal.namespace),
      // Without it the admin API (and so the CLI) is disabled.
      adminToken: process.env.CALENDAR_SYNC_ADMIN_TOKEN || undefined,
      web: {
        deps,
        publicUrl,
        // Emulators only (the sandbox and tests); production leaves it unset: docs/security.md.
        allowedPipedriveApiOrigins: allowedApiOriginsFromEnv(process.env.PIPEDRIVE_ALLOWED_API_ORIGINS),
        sessionSecret: process.env.CALENDAR_SYNC_SESSION_SECRET
          ? Buffer.from(process.env.CALENDAR_SYNC_SESSION_SECRET, 'base64')
          : // Derived from the credential keys, so a deployment works without one more secret.
            createHash('sha256')
              .update(`session:${requireEnv('CALENDAR_SYNC_ENCRYPTION_KEYS')}`)
              .digest(),
      },
    },
    port,
    process.env.HOST ?? '0.0.0.0',
  );
  log.info({ url: server.url }, 'web service listening');
  const stop = async () => {
    // Stop accepting, let in-flight requests finish (a delivery answered 200 is stored), then disconnect.
    log.info('shutting down');
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
