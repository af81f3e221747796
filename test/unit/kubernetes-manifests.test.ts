import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateKubernetesManifests, type KubeValidation } from '../../scripts/provision/kube-validator.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import { SHUTDOWN_FORCE_MARGIN_MS } from '../../lib/config.js';

const manifests = path.join(projectRoot, 'deploy', 'kubernetes');

interface Container {
  name: string;
  command?: string[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { limits?: { memory?: string } };
}
interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec: { containers: Container[]; terminationGracePeriodSeconds?: number };
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: { template?: PodTemplate; replicas?: number };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

async function load(file: string): Promise<Manifest[]> {
  const text = await readFile(path.join(manifests, file), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Manifest);
}

let validation: KubeValidation;
let all: Manifest[];
const tmpDirs: string[] = [];

beforeAll(async () => {
  validation = await validateKubernetesManifests(manifests);
  all = (
    await Promise.all(
      ['namespace.yaml', 'configmap.yaml', 'secret.yaml', 'migrate-job.yaml', 'worker.yaml', 'web.yaml'].map(load),
    )
  ).flat();
}, 300_000);

afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

const named = (kind: string, name: string) => {
  const m = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`${kind} ${name} not in the manifests`);
  return m;
};
const container = (m: Manifest) => m.spec!.template!.spec.containers[0]!;

/** A copy of the manifests with one file changed, for the validator's negative cases. */
async function brokenCopy(file: string, edit: (text: string) => string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kube-'));
  tmpDirs.push(dir);
  await cp(manifests, dir, { recursive: true });
  const target = path.join(dir, file);
  const before = await readFile(target, 'utf8');
  const after = edit(before);
  expect(after, `the edit of ${file} changed nothing`).not.toBe(before);
  await writeFile(target, after);
  return dir;
}

describe('deploy/kubernetes', () => {
  it('decodes strictly into the Kubernetes API types: worker, web, its Service, the migrations Job, config', () => {
    expect(validation.objects).toEqual([
      'apps/v1/Deployment calendar-sync-web',
      'apps/v1/Deployment calendar-sync-worker',
      'batch/v1/Job calendar-sync-migrate',
      'v1/ConfigMap calendar-sync-config',
      'v1/Namespace calendar-sync',
      'v1/Secret calendar-sync-secrets',
      'v1/Service calendar-sync-web',
    ]);
  });

  it('probes the worker on /healthz and /readyz of its metrics port, which Prometheus is told to scrape', () => {
    const worker = named('Deployment', 'calendar-sync-worker');
    const c = container(worker);
    const port = c.ports!.find((p) => p.name === c.livenessProbe!.httpGet!.port)!;
    expect(c.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: port.name });
    expect(String(port.containerPort)).toBe(named('ConfigMap', 'calendar-sync-config').data!.WORKER_HTTP_PORT);
    expect(worker.spec!.template!.metadata!.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port.containerPort),
      'prometheus.io/path': '/metrics',
    });
    expect(worker.spec!.replicas).toBeGreaterThan(1);
  });

  it('gives a stopping worker longer than its shutdown bound before Kubernetes kills it', () => {
    const grace = Number(named('ConfigMap', 'calendar-sync-config').data!.WORKER_SHUTDOWN_GRACE_SECONDS);
    // Activities are started with a start-to-close timeout of 1 minute: a grace of that much lets any step finish.
    expect(grace).toBeGreaterThanOrEqual(60);
    const bound = grace + SHUTDOWN_FORCE_MARGIN_MS / 1000;
    const termination = named('Deployment', 'calendar-sync-worker').spec!.template!.spec.terminationGracePeriodSeconds!;
    expect(termination).toBeGreaterThan(bound);
  });

  it('caches no more workflows than fit the worker memory limit', () => {
    const cached = Number(named('ConfigMap', 'calendar-sync-config').data!.WORKER_MAX_CACHED_WORKFLOWS);
    const limit = container(named('Deployment', 'calendar-sync-worker')).resources!.limits!.memory!;
    const limitMb = (Number(/^(\d+)Mi$/.exec(limit)![1]) * 1024 * 1024) / 1e6;
    // Measured with bench/scale (docs/operations.md, "Scaling"): about 400 MB + 0.36 MB per cached workflow, and
    // ~25 % headroom on top of that.
    expect(cached).toBeGreaterThan(0);
    expect((400 + 0.36 * cached) * 1.25).toBeLessThanOrEqual(limitMb);
  });

  it('serves the web service behind a Service with readiness on /readyz and liveness on /healthz', () => {
    const c = container(named('Deployment', 'calendar-sync-web'));
    expect(c.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(c.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(named('Service', 'calendar-sync-web')).toBeTruthy();
  });

  it('runs entry points the image builds, the migrations as a Job of their own', async () => {
    const dockerfile = await readFile(path.join(projectRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm run build/);
    const commands = [
      'Deployment calendar-sync-worker',
      'Deployment calendar-sync-web',
      'Job calendar-sync-migrate',
    ].map((k) => container(named(k.split(' ')[0]!, k.split(' ')[1]!)).command);
    expect(commands).toEqual([
      ['node', 'dist/worker/main.js'],
      ['node', 'dist/client/http/main.js'],
      ['node', 'dist/worker/migrate.js'],
    ]);
  });

  it('configures Temporal the SDK way and keeps every secret in the Secret, as placeholders', () => {
    const config = named('ConfigMap', 'calendar-sync-config').data!;
    expect(Object.keys(config)).toEqual(expect.arrayContaining(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']));
    const secret = named('Secret', 'calendar-sync-secrets').stringData!;
    for (const name of [
      'DATABASE_URL',
      'CALENDAR_SYNC_ENCRYPTION_KEYS',
      'CALENDAR_SYNC_PAYLOAD_KEYS',
      'GOOGLE_CLIENT_SECRET',
    ]) {
      expect(secret[name], name).toMatch(/REPLACE_ME/);
      expect(config[name], `${name} is not in the ConfigMap`).toBeUndefined();
    }
  });

  it.each([
    [
      'an unknown field',
      'worker.yaml',
      (t: string) => t.replace('  replicas: 2', '  replicas: 2\n  replica: 3'),
      /unknown field "spec.replica"/,
    ],
    [
      'a wrong type',
      'worker.yaml',
      (t: string) => t.replace('terminationGracePeriodSeconds: 90', 'terminationGracePeriodSeconds: ninety'),
      /terminationGracePeriodSeconds/,
    ],
    [
      'a probe on a port the container does not have',
      'web.yaml',
      (t: string) => t.replace('path: /readyz, port: http }', 'path: /readyz, port: web }'),
      /port "web" is not a named port/,
    ],
    [
      'a Secret no manifest defines',
      'migrate-job.yaml',
      (t: string) => t.replace('name: calendar-sync-secrets', 'name: calendar-sync-secret'),
      /Secret "calendar-sync-secret" is not defined/,
    ],
    [
      'a resource that does not exist',
      'kustomization.yaml',
      (t: string) => t.replace('  - web.yaml', '  - web.yaml\n  - ingress.yaml'),
      /ingress.yaml/,
    ],
  ])('rejects manifests with %s', async (_what, file, edit, message) => {
    const dir = await brokenCopy(file, edit);
    await expect(validateKubernetesManifests(dir)).rejects.toThrow(message);
  });
});
