/**
 * Structured log lines (JSON, one per line) for the HTTP server. Callers pass fields explicitly; values of
 * keys that can carry secrets are replaced, so a careless field never puts a token in the log.
 */
const SECRET_KEYS = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|code/i;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  return {
    log(level, message, fields = {}) {
      const safe: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) safe[k] = SECRET_KEYS.test(k) ? '[redacted]' : v;
      write(JSON.stringify({ at: new Date().toISOString(), level, message, ...safe }));
    },
  };
}

export const silentLogger: Logger = { log() {} };
