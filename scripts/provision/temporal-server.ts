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
  log?: (msg: string) => void;
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
      extraArgs: opts.extraArgs ?? [],
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
