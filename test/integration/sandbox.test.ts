/**
 * The README's first command: `npm run dev` starts the whole stack with no account and no configuration,
 * shows a calendar-sync workflow with its search attributes, serves both emulators with demo data, and
 * stops cleanly on Ctrl-C (SIGINT). Run on free ports with a throwaway data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { EncryptionCodec, encryptingDataConverter } from '../../lib/payload-codec.js';
import { freePort } from '../../scripts/provision/free-port.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import { postgresDataDir } from '../../scripts/provision/postgres.js';
import { CONNECTION_ID } from '../../workflows/search-attributes.js';

describe('npm run dev (the sandbox)', () => {
  let child: ChildProcess | undefined;
  let dataDir: string;

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dataDir) {
      // As root, the sandbox's Postgres cluster lives outside its data directory (postgres.ts): remove both.
      await rm(postgresDataDir(path.join(dataDir, 'postgres')), { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('starts everything, shows the demo workflow, and stops cleanly on Ctrl-C', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sandbox-'));
    const ports = {
      TEMPORAL_PORT: await freePort(),
      TEMPORAL_UI_PORT: await freePort(),
      PGPORT_SANDBOX: await freePort(),
      PORT: await freePort(),
      GOOGLE_EMULATOR_PORT: await freePort(),
      PIPEDRIVE_EMULATOR_PORT: await freePort(),
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SANDBOX_DATA_DIR: dataDir,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    delete env.DATABASE_URL;
    child = spawn(
      process.execPath,
      [path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/dev.ts'],
      {
        cwd: projectRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

    const deadline = Date.now() + 90_000;
    while (!output.includes('[sandbox] ready')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sandbox did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(output).toContain(`Temporal Web UI   http://localhost:${ports.TEMPORAL_UI_PORT}`);

    // The Web UI answers, and the demo user's workflow is listed with its search attributes.
    const ui = await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`);
    expect(ui.status).toBe(200);
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.TEMPORAL_PORT}` });
    try {
      // The sandbox encrypts payloads (the memo too) with the key it generated into its data dir.
      const codec = EncryptionCodec.fromConfig((await readFile(path.join(dataDir, 'payload-keys'), 'utf8')).trim());
      const client = new Client({ connection, dataConverter: encryptingDataConverter(codec) });
      const description = await client.workflow.getHandle('calendar-sync:demo').describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.typedSearchAttributes.get(CONNECTION_ID)).toBe('demo');
    } finally {
      await connection.close();
    }

    // Both emulators serve demo data.
    const token = /API token ([0-9a-f]+)/.exec(output)?.[1];
    const activities = await fetch(`http://127.0.0.1:${ports.PIPEDRIVE_EMULATOR_PORT}/api/v2/activities`, {
      headers: { 'x-api-token': token! },
    });
    expect(((await activities.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    const health = await fetch(`http://127.0.0.1:${ports.PORT}/healthz`);
    expect(await health.json()).toEqual({ ok: true });

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('[sandbox] stopped');
  }, 150_000);
});
