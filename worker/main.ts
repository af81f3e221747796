/**
 * The worker process: connects to Temporal and Postgres, applies migrations, serves `/healthz`, `/readyz` and
 * `/metrics` (worker/health-server.ts), and runs workflows and activities until SIGINT/SIGTERM. Then it stops
 * polling, lets in-flight activities finish for `WORKER_SHUTDOWN_GRACE_SECONDS`, cancels those still running,
 * and exits at the latest 10 s later: what it could not finish, Temporal retries on another worker.
 */
import { GracefulShutdownPeriodExpiredError, NativeConnection, type Worker } from '@temporalio/worker';
import { migrate } from '../adapters/store/migrate.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { collectProcessMetrics, countConnectionsWith } from '../lib/metrics.js';
import { requireEnv, temporalSettings, workerProcessSettings } from '../lib/config.js';
import { countConnectionsByState } from './metrics-queries.js';
import { createSyncWorker } from './create-worker.js';
import { startHealthServer } from './health-server.js';
import { payloadCodecFromEnv, syncDepsFromEnv } from '../adapters/sync-deps.js';
import { installRuntime } from './telemetry.js';
import { workerTuningFromEnv } from './tuning.js';

export async function runWorker(
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger({ name: 'worker' }),
) {
  const temporal = temporalSettings(env);
  const databaseUrl = requireEnv('DATABASE_URL', env);
  const processSettings = workerProcessSettings(env);
  const tuning = workerTuningFromEnv(env);
  // The runtime's own SIGINT/SIGTERM handlers shut the worker down gracefully (worker.run() then resolves).
  installRuntime({ logger, sdkMetricsAddress: processSettings.sdkMetricsAddress });
  collectProcessMetrics();

  await migrate(databaseUrl, (msg) => logger.warn({ component: 'migrations' }, msg));
  const deps = syncDepsFromEnv(env);
  countConnectionsWith(() => countConnectionsByState(deps.db));
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  let worker: Worker | undefined;
  const health = await startHealthServer({
    port: processSettings.httpPort,
    host: processSettings.httpHost,
    sdkMetricsAddress: processSettings.sdkMetricsAddress,
    running: () => worker?.getState() === 'RUNNING',
    checks: {
      postgres: () => deps.db.query('SELECT 1'),
      temporal: () => connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({})),
    },
  });
  try {
    const bundlePath = env.WORKFLOW_BUNDLE_PATH;
    worker = await createSyncWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      deps,
      payloadCodec: payloadCodecFromEnv(env),
      workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
      overrides: {
        ...tuning,
        shutdownGraceTime: processSettings.shutdownGraceMs,
        shutdownForceTime: processSettings.shutdownForceMs,
      },
    });
    logger.info(
      {
        taskQueue: temporal.taskQueue,
        namespace: temporal.namespace,
        address: temporal.connectionOptions.address,
        httpPort: health.port,
        ...(Object.keys(tuning).length ? { tuning } : {}),
      },
      `worker: polling task queue "${temporal.taskQueue}" in namespace "${temporal.namespace}" at ${temporal.connectionOptions.address}; health and metrics on port ${health.port}`,
    );
    await worker.run();
    logger.info('worker: stopped');
  } finally {
    await health.close();
    await connection.close();
    await deps.db.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const logger = createLogger({ name: 'worker' });
  runWorker(process.env, logger).then(
    () => process.exit(0),
    (err: unknown) => {
      // Past the force bound the SDK gives up on what is still running: exit now, Temporal retries it elsewhere.
      const forced = err instanceof GracefulShutdownPeriodExpiredError;
      logger.error({ err }, forced ? 'worker: shutdown bound reached, exiting' : 'worker failed');
      logger.flush();
      process.exit(1);
    },
  );
}
