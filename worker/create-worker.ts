/**
 * Builds the sync worker from its parts. The worker process (`worker/main.ts`), the sandbox and the tests
 * all use this, so they run the same registration with different dependencies.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PayloadCodec } from '@temporalio/common';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { encryptingDataConverter, failureConverterPath } from '../lib/payload-codec.js';
import { activityMetricsInterceptor } from './activity-metrics-interceptor.js';
import { linkedEventsUpdated } from './metrics-queries.js';

export const workflowsPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');
/** Modules evaluated once per workflow thread and shared by every workflow (see the module). */
const sharedModulesPath = path.resolve(path.dirname(workflowsPath), 'shared-modules.ts');

export interface SyncWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * Encrypts every payload the worker sends to Temporal (lib/payload-codec.ts). Required, so no worker writes
   * personal data in clear; codecs run outside the workflow sandbox, so the workflow bundle is unaffected.
   */
  payloadCodec: PayloadCodec;
  /** A prebuilt workflow bundle (tests build it once); otherwise the worker bundles `workflows/` at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra worker options (tests lower cache sizes or set identities). */
  overrides?: Partial<WorkerOptions>;
}

export function createSyncWorker(opts: SyncWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    dataConverter: encryptingDataConverter(opts.payloadCodec),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath, bundlerOptions: { preloadModules: [sharedModulesPath] } }),
    ...opts.overrides,
    // The sync's metrics, counted from every activity's result (worker/activity-metrics-interceptor.ts).
    interceptors: {
      ...opts.overrides?.interceptors,
      activity: [
        activityMetricsInterceptor((connectionId, activityIds) =>
          linkedEventsUpdated(opts.deps.db, connectionId, activityIds),
        ),
        ...(opts.overrides?.interceptors?.activity ?? []),
      ],
    },
  });
}

/**
 * Bundles `workflows/` once, for workers started with `workflowBundle` (tests, sandbox, `npm run build`),
 * with the failure converter that encrypts workflow failures. (A worker given `workflowsPath` bundles the
 * same way at start.)
 */
export async function bundleSyncWorkflows(): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath,
    logger: bundlerLogger,
    preloadModules: [sharedModulesPath],
  });
  return { code };
}

/** For `bundleWorkflowCode`: webpack's module listing is noise outside of debugging a bundle. */
export const bundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
