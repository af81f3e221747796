/**
 * Starts a real Temporal server — the CLI's dev server, with its Web UI — for the sandbox and the tests.
 * The SDK's test environment manages the process (start, health check, shutdown); we only hand it the binary
 * found by `findTemporalCli` instead of letting it download one.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { findTemporalCli, toExecutable, type TemporalCli } from './temporal-cli.js';

export interface DevServerOptions {
  port?: number;
  /** Web UI port; the UI is off when undefined. */
  uiPort?: number;
  /** Keeps workflows across restarts (sandbox); in memory when undefined (tests). */
  dbFilename?: string;
  extraArgs?: string[];
  /** Eager activity dispatch (see `serverDynamicConfig`); on unless a run measures without it. */
  eagerActivities?: boolean;
  log?: (msg: string) => void;
}

/**
 * Server settings every dev server here runs with, as a deployment should (docs/operations.md, "Temporal server
 * settings"). `system.enableActivityEagerExecution`: when a workflow task schedules an activity on its own task
 * queue and the worker has a free slot, the server hands the activity back in the task's reply instead of through
 * a poll, which saves a matching round trip per sync step. The server's default is off.
 */
export function serverDynamicConfig(opts: { eagerActivities?: boolean } = {}): string[] {
  const eager = opts.eagerActivities ?? true;
  return ['--dynamic-config-value', `system.enableActivityEagerExecution=${eager}`];
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  cli: TemporalCli;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const cli = await findTemporalCli(opts.log);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: toExecutable(cli),
      ip: '127.0.0.1',
      port: opts.port,
      ui: opts.uiPort !== undefined,
      uiPort: opts.uiPort,
      dbFilename: opts.dbFilename,
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'warn' },
      extraArgs: [...serverDynamicConfig(opts), ...(opts.extraArgs ?? [])],
    },
  });
  const address = env.connection.options.address;
  return {
    address,
    uiUrl: opts.uiPort !== undefined ? `http://localhost:${opts.uiPort}` : undefined,
    cli,
    env,
    stop: () => env.teardown(),
  };
}
