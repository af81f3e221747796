/**
 * The production web service (`client/http/main.ts`) as a child process, configured through the environment as
 * a deployment configures it — so a drill can take its dependencies away and see whether the process itself
 * survives. Ready when `/healthz` answers 200.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsxCli = path.join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const webMain = path.join(repo, 'client', 'http', 'main.ts');

export interface WebProcess {
  url: string;
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM to the process group, then waits for the exit. */
  stop(): Promise<void>;
}

export async function startWebProcess(
  env: Record<string, string>,
  port: number,
  readyTimeoutMs = 60_000,
): Promise<WebProcess> {
  const child: ChildProcess = spawn(process.execPath, [tsxCli, webMain], {
    cwd: repo,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a stop reaches tsx's child too and nothing is left running.
    detached: true,
  });
  let out = '';
  const onData = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-50_000));
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!alive()) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`web process exited (${child.exitCode ?? child.signalCode}) before ready:\n${out}`);
    const ok = await fetch(`${url}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`web process not ready after ${readyTimeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, output: () => out, alive, stop };
}
