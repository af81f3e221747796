/**
 * The production worker (`worker/main.ts`) as a child process, configured through the environment exactly as a
 * deployment configures it, so a test can kill it for real (SIGKILL: no graceful shutdown, in-flight activities
 * are simply abandoned), stop it as a platform does (SIGTERM: it drains within its shutdown bound) and start a
 * fresh one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
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
