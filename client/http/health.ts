/**
 * Health of the web service, for orchestrators and monitoring:
 * - `GET /healthz`: the process is alive and serving; it touches no dependency, so a database outage never
 *   gets the process restarted (it recovers by itself when Postgres is back);
 * - `GET /readyz`: Postgres (`SELECT 1`) and Temporal (`GetSystemInfo`) both answer within a short timeout;
 *   503 with the failing parts otherwise, so a load balancer routes around an instance that cannot store;
 * - `GET /metrics`: Prometheus text (prom-client's default registry), behind the admin token like the admin
 *   API (Prometheus sends it with `authorization: { credentials: … }`); 503 without a configured token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { metricsResponse } from '../../lib/metrics.js';
import type { SyncClient } from '../sync-client.js';
import { HttpProblem } from './http-problem.js';

/** Each dependency check gives up after this long. */
export const READINESS_TIMEOUT_MS = 2000;

export interface HealthDeps {
  db: pg.Pool;
  sync: SyncClient;
  adminToken?: string;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function check(work: () => Promise<unknown>): Promise<'ok' | 'unreachable'> {
  try {
    await withTimeout(work(), READINESS_TIMEOUT_MS);
    return 'ok';
  } catch {
    return 'unreachable';
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/healthz', async (_req, reply) => reply.header('cache-control', 'no-store').send({ ok: true }));

  app.get('/readyz', async (_req, reply) => {
    const [postgres, temporal] = await Promise.all([
      check(() => deps.db.query('SELECT 1')),
      check(() =>
        deps.sync.client.withDeadline(Date.now() + READINESS_TIMEOUT_MS, () =>
          deps.sync.client.connection.workflowService.getSystemInfo({}),
        ),
      ),
    ]);
    const ok = postgres === 'ok' && temporal === 'ok';
    return reply
      .code(ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ ok, postgres, temporal });
  });

  const expected = deps.adminToken ? digest(deps.adminToken) : undefined;
  app.get('/metrics', { config: { rateLimit: { max: 120, timeWindow: '1 minute' } } }, async (req, reply) => {
    if (!expected) throw new HttpProblem(503, { error: 'metrics are disabled: set CALENDAR_SYNC_ADMIN_TOKEN' });
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) {
      throw new HttpProblem(401, { error: 'missing token' }, { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    if (!timingSafeEqual(digest(token), expected)) throw new HttpProblem(403, { error: 'wrong token' });
    const { contentType, body } = await metricsResponse();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });
}
