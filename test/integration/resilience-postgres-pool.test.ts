/**
 * A Postgres restart or failover must not take a process down: the pool's idle connections die with an
 * `'error'` event, which without a listener is an uncaught exception. (Vitest fails a file on any uncaught
 * exception, so these tests fail on a plain `pg.Pool`.) After the outage the next query works.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createPool } from '../../adapters/store/pool.js';
import { createLogger } from '../../lib/logger.js';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.js';

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { log: createLogger({ destination: stream, name: 'postgres' }), lines };
}

/** The connection string with a password in it (trust auth ignores it), so we can check it never reaches a log. */
function withPassword(url: string, appName: string): string {
  const u = new URL(url);
  u.password = 'not-for-logs-7f3a';
  u.searchParams.set('application_name', appName);
  return u.toString();
}

/** Opens `n` connections at once and gives them back to the pool, so the pool holds `n` idle clients. */
async function warm(pool: pg.Pool, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  for (const c of clients) c.release();
}

describe('pool survives terminated connections', () => {
  it('logs the dead idle connections without the password and serves the next query', async () => {
    const appName = `pool-test-${randomUUID().slice(0, 8)}`;
    const { log, lines } = capturingLogger();
    const pool = createPool(withPassword(inject('databaseUrl'), appName), { log });
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    try {
      await warm(pool, 3);
      expect(pool.idleCount).toBe(3);
      const { rows } = await admin.query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
        [appName],
      );
      expect(rows.map((r) => r.killed)).toEqual([true, true, true]);
      await expect.poll(() => pool.idleCount).toBe(0);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines.join('\n')).toContain('terminating connection');
      expect(lines.join('\n')).not.toContain('not-for-logs-7f3a');

      const again = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(again.rows[0]!.one).toBe(1);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  it('a checked-out client whose connection dies does not crash the process either', async () => {
    const appName = `pool-test-${randomUUID().slice(0, 8)}`;
    const { log, lines } = capturingLogger();
    const pool = createPool(withPassword(inject('databaseUrl'), appName), { log });
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    const client = await pool.connect();
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        appName,
      ]);
      await expect.poll(() => lines.some((l) => l.includes('in use failed'))).toBe(true);
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      client.release(true);
      await admin.end();
    }
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
    await pool.end();
  });
});

describe('pool survives a Postgres restart', () => {
  let pg2: RestartablePostgres;
  beforeAll(async () => {
    pg2 = await startRestartablePostgres('pool_restart');
  });
  afterAll(async () => {
    await pg2?.destroy();
  });

  it('fails fast while Postgres is down and works again once it is back', async () => {
    const { log, lines } = capturingLogger();
    const pool = createPool(pg2.url, { log, connectionTimeoutMillis: 2_000 });
    try {
      await warm(pool, 2);
      await pg2.stop();
      await expect.poll(() => pool.idleCount).toBe(0);
      expect(lines.join('\n')).toContain('idle Postgres connection failed');

      const t0 = Date.now();
      await expect(pool.query('SELECT 1')).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(5_000);

      await pg2.start();
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
