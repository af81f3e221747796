/**
 * The one way both processes open a Postgres pool. A plain `pg.Pool` crashes its process when Postgres restarts
 * or fails over: an idle client's "terminating connection due to administrator command" is emitted as an
 * `'error'` event, and an `'error'` event without a listener is an uncaught exception in Node. Here every pool
 * (and every client it creates, also while checked out) has a listener that logs and lets the pool replace the
 * client; the next query simply opens a new connection once Postgres is back.
 *
 * The timeouts make an outage fail fast instead of hanging: a request that cannot reach Postgres gets an error
 * within seconds (so the web service answers 503 well inside Pipedrive's 10 s), and a query that a half-dead
 * connection never answers is abandoned.
 */
import pg from 'pg';
import { createLogger, type Logger } from '../../lib/logger.js';

export interface PoolOptions {
  /** Most connections at once (default 10). */
  max?: number;
  /** How long to wait for a connection, new or from the pool, before failing (default 5 s). */
  connectionTimeoutMillis?: number;
  /** How long an unused connection stays open (default 30 s). */
  idleTimeoutMillis?: number;
  /** Client-side limit for one query (default 30 s); the server-side `statement_timeout` is set to the same. */
  queryTimeoutMillis?: number;
  /** Where connection errors are logged (default a `postgres` logger from `lib/logger.ts`). */
  log?: Logger;
}

export const POOL_DEFAULTS = {
  max: 10,
  connectionTimeoutMillis: 5_000,
  idleTimeoutMillis: 30_000,
  queryTimeoutMillis: 30_000,
} as const;

let defaultLog: Logger | undefined;

export function createPool(connectionString: string, opts: PoolOptions = {}): pg.Pool {
  const log = opts.log ?? (defaultLog ??= createLogger({ name: 'postgres' }));
  const queryTimeout = opts.queryTimeoutMillis ?? POOL_DEFAULTS.queryTimeoutMillis;
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? POOL_DEFAULTS.max,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? POOL_DEFAULTS.connectionTimeoutMillis,
    idleTimeoutMillis: opts.idleTimeoutMillis ?? POOL_DEFAULTS.idleTimeoutMillis,
    query_timeout: queryTimeout,
    statement_timeout: queryTimeout,
    // Notices a dead peer (failover, cable pulled) on an idle connection instead of waiting forever.
    keepAlive: true,
  });
  const target = describeTarget(connectionString);
  pool.on('error', (err) => {
    // The pool has already discarded the client; nothing to do but say so.
    log.warn({ db: target, pgError: errorSummary(err) }, 'idle Postgres connection failed; the pool replaces it');
  });
  pool.on('connect', (client) => {
    // pg-pool listens for errors only while a client is idle. A checked-out client whose connection dies between
    // two queries would emit an unheard 'error'; the next query on it fails with the same error, so logging is
    // all this listener has to do.
    client.on('error', (err) =>
      log.warn({ db: target, pgError: errorSummary(err) }, 'Postgres connection in use failed'),
    );
  });
  return pool;
}

/** `host:port/database` of a connection string — never its user or password. */
export function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return '(unparsable connection string)';
  }
}

/** What is safe to log about a connection error: Postgres' SQLSTATE and message (they carry no credentials). */
function errorSummary(err: Error & { code?: string }): { sqlstate?: string; message: string } {
  return { sqlstate: err.code, message: err.message };
}
