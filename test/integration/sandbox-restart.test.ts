/**
 * A sandbox restart keeps the story coherent: with the same data directory, the demo workflow survives in
 * Temporal while both emulators start empty, and live sync (the Pipedrive webhooks and a Google channel) is back
 * within seconds of the restart — not at the channel's renewal days later.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/provision/free-port.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import { postgresDataDir } from '../../scripts/provision/postgres.js';

interface Sandbox {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startSandbox(env: NodeJS.ProcessEnv): Sandbox {
  const child = spawn(
    process.execPath,
    [path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/dev.ts'],
    { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function ready(s: Sandbox): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!s.output().includes('[sandbox] ready')) {
    if (s.child.exitCode !== null || Date.now() > deadline) throw new Error(`sandbox did not start:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The demo connection's live feeds in the emulators: its webhooks and its open Google channels. */
async function liveFeeds(ports: Record<string, number>) {
  const hooks = (await (
    await fetch(`http://127.0.0.1:${ports.PIPEDRIVE_EMULATOR_PORT}/_emulator/webhooks`)
  ).json()) as { subscription_url: string }[];
  const channels = (await (
    await fetch(`http://127.0.0.1:${ports.GOOGLE_EMULATOR_PORT}/_emulator/channels`)
  ).json()) as {
    stopped: boolean;
  }[];
  return {
    webhooks: hooks.filter((w) => w.subscription_url.endsWith('/webhooks/pipedrive/demo')).length,
    channels: channels.filter((c) => !c.stopped).length,
  };
}

async function feedsBack(ports: Record<string, number>, withinMs: number) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const feeds = await liveFeeds(ports);
    if ((feeds.webhooks === 4 && feeds.channels === 1) || Date.now() > deadline) return feeds;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a sandbox restart', () => {
  let current: Sandbox | undefined;
  let dataDir: string;

  afterAll(async () => {
    if (current && current.child.exitCode === null) current.child.kill('SIGKILL');
    if (dataDir) {
      await rm(postgresDataDir(path.join(dataDir, 'postgres')), { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('brings live sync back within seconds, with the same data directory', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sandbox-restart-'));
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

    current = startSandbox(env);
    await ready(current);
    expect(await feedsBack(ports, 15_000)).toEqual({ webhooks: 4, channels: 1 });
    current.child.kill('SIGINT');
    expect(await current.exited).toBe(0);

    current = startSandbox(env);
    await ready(current);
    const readyAt = Date.now();
    // The emulators started empty; the workflow kept its state in .data/temporal.db.
    const feeds = await feedsBack(ports, 10_000);
    expect(feeds).toEqual({ webhooks: 4, channels: 1 });
    console.log(`sandbox restart: live feeds back ${Date.now() - readyAt} ms after "ready"`);
    current.child.kill('SIGINT');
    expect(await current.exited).toBe(0);
  }, 300_000);
});
