/**
 * The Temporal runtime of the worker process, installed once: its logs (the SDK's, the workflow and activity
 * context loggers', and the native core's, forwarded) go through our pino logger, and the SDK's own worker
 * metrics are served by the core's Prometheus exporter on a loopback address, from where the worker's
 * `/metrics` (worker/health-server.ts) fetches them and serves them with the sync's.
 */
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from '../lib/logger.js';

const PINO_LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The SDK's logger interface on top of pino: metadata becomes fields, so redaction applies to it too. The SDK
 * passes failures as `error`; pino serializes errors (type, message, stack) under `err`, so they move there.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const { error, ...fields } = meta ?? {};
    logger[PINO_LEVELS[level] ?? 'info']({ ...fields, ...(error === undefined ? {} : { err: error }) }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

export interface RuntimeSettings {
  logger: Logger;
  /** host:port of the SDK's Prometheus exporter; none when undefined. */
  sdkMetricsAddress?: string;
  /** Signals on which the runtime shuts the worker down gracefully. */
  shutdownSignals?: NodeJS.Signals[];
}

export function installRuntime(settings: RuntimeSettings): Runtime {
  return Runtime.install({
    logger: temporalLogger(settings.logger),
    shutdownSignals: settings.shutdownSignals ?? ['SIGINT', 'SIGTERM'],
    telemetryOptions: {
      // Core's own lines (connection problems, poller errors) reach the same logger instead of stderr.
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(settings.sdkMetricsAddress
        ? {
            metrics: {
              // Prometheus conventions: `_total` counters, durations in seconds with the unit in the name.
              prometheus: {
                bindAddress: settings.sdkMetricsAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }
        : {}),
    },
  });
}
