/**
 * A Compose-file validator for machines without a Docker engine: `docker compose config` when the Compose
 * plugin is installed, otherwise our small compose-go program (`tools/compose-validate`, the parser that
 * Docker Compose itself uses) built with Go into `.tools/`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths.js';

const run = promisify(execFile);

export interface ComposeValidator {
  name: string;
  /** Resolves with the normalized project (JSON), rejects with the parser's message. `env` fills `${VARS}`. */
  load(file: string, env?: Record<string, string>): Promise<ComposeProject>;
}

export interface ComposeProject {
  name: string;
  services: Record<
    string,
    {
      image?: string;
      build?: unknown;
      command?: string[] | null;
      environment?: Record<string, string | null>;
      depends_on?: Record<string, unknown>;
      ports?: unknown[];
      healthcheck?: { test?: string[] };
      /** Normalized: bind mounts carry an absolute `source`. */
      volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
      stop_grace_period?: string | number;
    }
  >;
  volumes?: Record<string, unknown>;
}

export async function findComposeValidator(): Promise<ComposeValidator> {
  try {
    await run('docker', ['compose', 'version']);
    return {
      name: 'docker compose config',
      load: async (file, env = {}) =>
        JSON.parse(
          (
            await run('docker', ['compose', '-f', file, 'config', '--format', 'json'], {
              env: { ...process.env, ...env },
            })
          ).stdout,
        ),
    };
  } catch {
    // no Compose plugin here; build compose-go
  }
  const source = path.join(projectRoot, 'tools', 'compose-validate');
  const binary = path.join(projectRoot, '.tools', 'compose-validate');
  if (!existsSync(binary)) {
    try {
      await run('go', ['build', '-o', binary, '.'], { cwd: source, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      throw new Error(
        `Validating docker-compose.yml needs Docker Compose or Go (to build tools/compose-validate): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return {
    name: 'compose-go',
    load: async (file, env = {}) => {
      try {
        return JSON.parse(
          (await run(binary, [file], { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } })).stdout,
        );
      } catch (err) {
        throw new Error((err as { stderr?: string }).stderr || (err as Error).message, { cause: err });
      }
    },
  };
}
