/**
 * The production worker (`worker/main.ts`) as a child process, configured through the environment exactly as a
 * deployment configures it, so a test can kill it for real (SIGKILL: no graceful shutdown, in-flight activities
 * are simply abandoned), stop it as a platform does (SIGTERM: it drains within its shutdown bound) and start a
 * fresh one; and the rest of the stack such a test needs (`startWorkerProcessStack`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inject } from 'vitest';
import { SyncClient } from '../client/sync-client.js';
import { startGoogleEmulator, type GoogleEmulator } from '../emulators/google/index.js';
import { startPipedriveEmulator, type PipedriveEmulator } from '../emulators/pipedrive/index.js';
import { SecretBox } from '../lib/secret-box.js';
import { emulatorEnv } from './emulator-env.js';
import { connectStack, type Stack } from './stack.js';
import { enableSync, registerAccounts } from './sync-harness.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** tsx as a loader of this process, not its CLI: the CLI is a parent process that relays signals and may SIGKILL
 * a child that is slow to confirm one, which would hide how the worker itself handles SIGTERM. */
const tsxLoader = path.join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const workerMain = path.join(repo, 'worker', 'main.ts');

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  pid: number;
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGKILL to the worker's whole process group. */
  kill(): Promise<WorkerExit>;
  /** SIGTERM: the worker drains and exits. */
  stop(): Promise<WorkerExit>;
  /** Resolves when the process has exited. */
  exited: Promise<WorkerExit>;
}

export async function startWorkerProcess(env: Record<string, string>, readyTimeoutMs = 30_000): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', pathToFileURL(tsxLoader).href, workerMain], {
    cwd: repo,
    // Tests run in parallel on one machine: a free port for the health listener and no SDK exporter (a fixed
    // port), unless the test asks for them.
    env: { ...process.env, WORKER_HTTP_PORT: '0', WORKER_SDK_METRICS_ADDRESS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a kill reaches anything it started and nothing is left running.
    detached: true,
  });
  let out = '';
  const exited = new Promise<WorkerExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-20_000);
      if (out.includes('worker: polling task queue')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`worker process exited (${code ?? signal}) before polling:\n${out}`)),
    );
  });
  const signalGroup = async (signal: NodeJS.Signals): Promise<WorkerExit> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
    return exited;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`worker process not polling after ${readyTimeoutMs} ms:\n${out}`)),
          readyTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await signalGroup('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    pid: child.pid!,
    output: () => out,
    kill: () => signalGroup('SIGKILL'),
    stop: () => signalGroup('SIGTERM'),
    exited,
  };
}

export interface WorkerProcessStackOptions {
  /** Names the encryption key and the temporary folder (e.g. `crash`). */
  name: string;
  /** Seeds both emulators. */
  seed: number;
  /** The Temporal client's options (e.g. a short safety-net interval for the workflows it starts). */
  syncOptions?: ConstructorParameters<typeof SyncClient>[2];
}

/** A user connected as the product connects one (encrypted credentials), with a two-way sync enabled. */
export interface ConnectedUser {
  connectionId: string;
  email: string;
  pipedriveUserId: number;
  calendarId: string;
}

/**
 * Everything but the worker, for tests that run the production worker as a child process: Postgres and Temporal
 * (from the global set-up), both emulators, a Temporal client of the sync, and the environment a worker process of
 * this stack is started with. No in-process worker competes on the task queue.
 */
export interface WorkerProcessStack {
  stack: Stack;
  google: GoogleEmulator;
  pipedrive: PipedriveEmulator;
  sync: SyncClient;
  secrets: SecretBox;
  /** The worker's environment: the store, Temporal, the workflow bundle, the encryption key, the emulators. */
  env: Record<string, string>;
  /** Starts a worker process with `env` and `extraEnv`; `close` kills it if it is still running. */
  startWorker(extraEnv?: Record<string, string>): Promise<WorkerProcess>;
  connectUser(companyId: number): Promise<ConnectedUser>;
  close(): Promise<void>;
}

export async function startWorkerProcessStack(opts: WorkerProcessStackOptions): Promise<WorkerProcessStack> {
  const stack = await connectStack();
  const google = await startGoogleEmulator({ seed: opts.seed, allowInsecurePushAddresses: true });
  const pipedrive = await startPipedriveEmulator({ seed: opts.seed });
  const key = randomBytes(32);
  const secrets = new SecretBox([{ id: opts.name, key }]);
  const sync = new SyncClient(stack.client, stack.taskQueue, opts.syncOptions);
  const tmp = await mkdtemp(path.join(os.tmpdir(), `${opts.name}-`));
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  await writeFile(bundlePath, inject('workflowBundleCode'));
  const env = {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: stack.taskQueue,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    // The child must decrypt the credentials this process stored: the same key, shared through the environment.
    CALENDAR_SYNC_ENCRYPTION_KEYS: `${opts.name}:${key.toString('base64')}`,
    ...emulatorEnv(google, pipedrive),
  };
  const workers: WorkerProcess[] = [];
  return {
    stack,
    google,
    pipedrive,
    sync,
    secrets,
    env,
    async startWorker(extraEnv = {}) {
      const w = await startWorkerProcess({ ...env, ...extraEnv });
      workers.push(w);
      return w;
    },
    async connectUser(companyId) {
      const { connectionId, email, pd, g } = await registerAccounts({
        db: stack.db,
        secrets,
        google,
        pipedrive,
        companyId,
      });
      await enableSync(sync, connectionId, g.primaryCalendarId, { mode: 'two-way' });
      return { connectionId, email, pipedriveUserId: pd.userId, calendarId: g.primaryCalendarId };
    },
    async close() {
      for (const w of workers) await w.kill();
      await Promise.all([google.close(), pipedrive.close()]);
      await stack.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
