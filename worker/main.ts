/**
 * The worker process: connects to Temporal and Postgres, applies migrations, and runs workflows and
 * activities until SIGINT/SIGTERM, then drains in-flight work and exits.
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { migrate } from '../activities/store/migrate.js';
import { requireEnv, temporalSettings } from './config.js';
import { createSyncWorker } from './create-worker.js';
import { payloadCodecFromEnv, syncDepsFromEnv } from './sync-deps.js';

export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const temporal = temporalSettings(env);
  const databaseUrl = requireEnv('DATABASE_URL', env);
  // The SDK's runtime installs its own SIGINT/SIGTERM handlers that shut workers down gracefully.
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });

  await migrate(databaseUrl);
  const deps = syncDepsFromEnv(env);
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  try {
    const bundlePath = env.WORKFLOW_BUNDLE_PATH;
    const worker = await createSyncWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      deps,
      payloadCodec: payloadCodecFromEnv(env),
      workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
    });
    console.log(
      `worker: polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connectionOptions.address}`,
    );
    await worker.run();
  } finally {
    await connection.close();
    await deps.db.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runWorker().catch((err) => {
    console.error('worker failed:', err);
    process.exit(1);
  });
}
