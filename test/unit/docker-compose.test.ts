import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  findComposeValidator,
  type ComposeProject,
  type ComposeValidator,
} from '../../scripts/provision/compose-validator.js';
import { projectRoot } from '../../scripts/provision/paths.js';

const composeFile = path.join(projectRoot, 'docker-compose.yml');

describe('docker-compose.yml', () => {
  let validator: ComposeValidator;
  let project: ComposeProject;

  beforeAll(async () => {
    validator = await findComposeValidator();
    project = await validator.load(composeFile);
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

  it('configures the worker and the web server the SDK way, through TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE', () => {
    for (const name of ['worker', 'web']) {
      const env = project.services[name]!.environment ?? {};
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.TEMPORAL_NAMESPACE).toBe('default');
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/sync:.+@postgres:5432\/calendar_sync$/);
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
