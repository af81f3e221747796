import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  findComposeValidator,
  type ComposeProject,
  type ComposeValidator,
} from '../../scripts/provision/compose-validator.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import { SHUTDOWN_FORCE_MARGIN_MS } from '../../lib/config.js';

const composeFile = path.join(projectRoot, 'docker-compose.yml');

/** What a user puts in `.env` (see .env.example). */
const secrets = {
  CALENDAR_SYNC_ENCRYPTION_KEYS: 'k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
  CALENDAR_SYNC_PAYLOAD_KEYS: 'p1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=',
  GOOGLE_CLIENT_ID: 'client-id.apps.googleusercontent.com',
  GOOGLE_CLIENT_SECRET: 'client-secret',
};

/** Compose normalizes durations the Go way, e.g. `1m30s`. */
function goDurationSeconds(d: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  if (parts.map((p) => p[0]).join('') !== d) throw new Error(`not a Go duration: ${d}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

describe('docker-compose.yml', () => {
  let validator: ComposeValidator;
  let project: ComposeProject;

  beforeAll(async () => {
    validator = await findComposeValidator();
    project = await validator.load(composeFile, secrets);
  }, 180_000);

  it('is a valid Compose file with the whole production-like stack', () => {
    expect(Object.keys(project.services).sort()).toEqual([
      'postgres',
      'temporal',
      'temporal-setup',
      'temporal-ui',
      'web',
      'worker',
    ]);
  });

  it('runs Temporal on the same Postgres', () => {
    const temporal = project.services.temporal!;
    expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    expect(Object.keys(temporal.depends_on ?? {})).toContain('postgres');
  });

  it('gives the Temporal server the dynamic config the sync is measured with: eager activity dispatch on', async () => {
    const temporal = project.services.temporal!;
    const file = String(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH);
    // The auto-setup image resolves a relative path against /etc/temporal.
    const target = path.posix.join('/etc/temporal', file);
    const mount = (temporal.volumes ?? []).find((v) => v.target === target);
    expect(mount, `a volume mounted at ${target}`).toBeDefined();
    const dynamicConfig = parseYaml(await readFile(mount!.source!, 'utf8')) as Record<string, { value: unknown }[]>;
    expect(dynamicConfig['system.enableActivityEagerExecution']).toEqual([{ value: true }]);
  });

  it('configures the worker and the web server the SDK way, through TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE', () => {
    for (const name of ['worker', 'web']) {
      const env = project.services[name]!.environment ?? {};
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.TEMPORAL_NAMESPACE).toBe('default');
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/sync:.+@postgres:5432\/calendar_sync$/);
      expect(env.CALENDAR_SYNC_PAYLOAD_KEYS).toBe(secrets.CALENDAR_SYNC_PAYLOAD_KEYS);
    }
  });

  it('starts entry points that the image build produces from our sources', async () => {
    const dockerfile = await readFile(path.join(projectRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm run build/);
    for (const name of ['worker', 'web']) {
      const [node, entry] = project.services[name]!.command ?? [];
      expect(node).toBe('node');
      const source = entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(existsSync(path.join(projectRoot, source)), `${entry} is built from ${source}`).toBe(true);
    }
  });

  it('exposes the worker health and metrics port and stops the worker within its shutdown bound', () => {
    const worker = project.services.worker!;
    expect(worker.environment?.WORKER_HTTP_PORT).toBe('9464');
    expect(worker.ports).toEqual([expect.objectContaining({ target: 9464, published: '9464' })]);
    const grace = Number(worker.environment?.WORKER_SHUTDOWN_GRACE_SECONDS);
    expect(goDurationSeconds(String(worker.stop_grace_period))).toBeGreaterThan(
      grace + SHUTDOWN_FORCE_MARGIN_MS / 1000,
    );
    expect(JSON.stringify(worker.healthcheck?.test)).toContain('/readyz');
  });

  it('refuses to start without the secrets, naming each missing variable', async () => {
    const empty = Object.fromEntries(Object.keys(secrets).map((k) => [k, '']));
    const err = await validator.load(composeFile, empty).catch((e: unknown) => e as Error);
    for (const name of Object.keys(secrets)) expect(String(err)).toContain(name);
  });

  it('is checked by a validator that rejects an invalid file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'compose-'));
    const broken = path.join(dir, 'docker-compose.yml');
    await writeFile(
      broken,
      'services:\n  web:\n    image: nginx\n    ports: "not-a-list"\n    depends_on: [missing]\n',
    );
    await expect(validator.load(broken)).rejects.toThrow();
  });
});
