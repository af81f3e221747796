/**
 * An answer other than success, thrown from a route: the status, the JSON body the client sees and any extra
 * headers. The server's error handler sends it as is; every other exception becomes a body-less 500 (or 503
 * when a dependency is unreachable), so no internal message reaches a client.
 */
export class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.error === 'string' ? body.error : `HTTP ${statusCode}`);
  }
}

/** Network-level failures of Postgres or Temporal, and Postgres' "cannot serve now" error classes. */
export function isDependencyUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
  // 08: connection exception, 53: insufficient resources, 57P01-03: admin shutdown / crash shutdown / cannot connect now
  if (/^(08|53|57P0)/.test(code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}
