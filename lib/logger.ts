/**
 * The one logging library of both processes (pino): JSON lines in production, readable lines in the sandbox
 * (`LOG_FORMAT=pretty`). Secrets, and user data that a sales team would not want in an operator's log
 * (event titles, descriptions, email addresses), are redacted by path wherever they appear in a log object,
 * so a careless field never leaks them.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths (pino's redaction syntax) whose values never reach a log line. */
export const REDACTED_PATHS: string[] = [
  // Secrets
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'apiToken',
  'secret',
  'clientSecret',
  'authorization',
  'cookie',
  'code',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.apiToken',
  '*.api_token',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.authorization',
  '*.cookie',
  '*.code',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-goog-channel-token"]',
  'res.headers["set-cookie"]',
  // User data
  'email',
  'title',
  'subject',
  'summary',
  'description',
  '*.email',
  '*.title',
  '*.subject',
  '*.summary',
  '*.description',
];

export interface LoggerSettings {
  /** pino level (default `LOG_LEVEL` or `info`). */
  level?: string;
  /** `json` (default) or `pretty` (human-readable; the sandbox sets it). */
  format?: 'json' | 'pretty';
  /** Process name added to every line (`worker`, `web`, …). */
  name?: string;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

export function loggerOptions(settings: LoggerSettings = {}): LoggerOptions {
  return {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    name: settings.name,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const format = settings.format ?? (process.env.LOG_FORMAT === 'pretty' ? 'pretty' : 'json');
  const options = loggerOptions(settings);
  if (format === 'pretty' && !settings.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** A logger that writes nothing (tests that do not read logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
