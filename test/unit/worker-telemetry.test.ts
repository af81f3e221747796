import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { countConnectionsWith, register } from '../../lib/metrics.js';
import { recordRateLimit, recordResult } from '../../worker/activity-metrics-interceptor.js';
import { workerProcessSettings } from '../../lib/config.js';
import { startHealthServer, type HealthServer } from '../../worker/health-server.js';
import { outcomesOf, parseTime, sourceKey, sourceTimes } from '../../worker/sync-metrics.js';
import { temporalLogger } from '../../worker/telemetry.js';
import { parsePrometheusText, sample } from '../support/prometheus-text.js';

const T = Date.parse('2026-12-01T10:00:00Z');

describe('what the sync metrics read from results and answers', () => {
  const created = { direction: 'pipedrive-to-google', subject: 'activity:7', result: 'created' } as const;

  it('finds outcomes in a single outcome, a list, and a { outcomes } summary; nothing in other results', () => {
    expect(outcomesOf(created)).toEqual([created]);
    expect(outcomesOf([created, { nope: 1 }])).toEqual([created]);
    expect(outcomesOf({ outcomes: [created], failures: [] })).toEqual([created]);
    expect(outcomesOf({ activityIds: [1, 2], scanned: 2 })).toEqual([]);
    expect(outcomesOf(null)).toEqual([]);
  });

  it('takes source times from Pipedrive activity reads and Google event reads, linked events under their activity', () => {
    const pd = sourceTimes({
      service: 'pipedrive',
      operation: 'GET /api/v2/activities',
      status: 200,
      data: {
        data: [
          { id: 7, update_time: '2026-12-01T10:00:00Z' },
          { id: 8, update_time: '2026-12-01 10:00:05' },
        ],
      },
    });
    expect(Object.fromEntries(pd)).toEqual({
      [sourceKey('pipedrive-to-google', 'activity:7')]: T,
      [sourceKey('pipedrive-to-google', 'activity:8')]: T + 5000,
    });
    const g = sourceTimes({
      service: 'google',
      operation: 'events.list',
      status: 200,
      data: {
        items: [
          { id: 'e1', updated: '2026-12-01T10:00:00.000Z' },
          {
            id: 'e2',
            updated: '2026-12-01T10:00:01.000Z',
            extendedProperties: { private: { pdActivityId: '9', pdConnectionId: 'c' } },
          },
        ],
      },
    });
    expect(Object.fromEntries(g)).toEqual({
      [sourceKey('google-to-pipedrive', 'event:e1')]: T,
      [sourceKey('google-to-pipedrive', 'event:e2')]: T + 1000,
      [sourceKey('google-to-pipedrive', 'activity:9')]: T + 1000,
    });
  });

  it('ignores failed calls, writes and unparseable times', () => {
    expect(sourceTimes({ service: 'pipedrive', operation: 'GET /api/v2/activities/:id', status: 404 }).size).toBe(0);
    const write = {
      service: 'google',
      operation: 'events.insert',
      status: 200,
      data: { id: 'e', updated: 'x' },
    } as const;
    expect(sourceTimes(write).size).toBe(0);
    expect(parseTime('not a time')).toBeUndefined();
    expect(parseTime(42)).toBeUndefined();
  });

  it('observes latency for written changes with a known source time only, and counts every outcome', async () => {
    const before = parsePrometheusText(await register.metrics());
    const scope = new Map([[sourceKey('pipedrive-to-google', 'activity:7'), T - 4000]]);
    recordResult('syncPipedriveActivity', created, scope, T);
    recordResult('syncPipedriveActivity', { ...created, result: 'echo' }, scope, T);
    recordResult('syncPipedriveActivity', { ...created, subject: 'activity:8' }, scope, T);
    const after = parsePrometheusText(await register.metrics());
    const d = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    const p2g = { direction: 'pipedrive-to-google' };
    expect(d('calendar_sync_changes_total', { ...p2g, result: 'created' })).toBe(2);
    expect(d('calendar_sync_changes_total', { ...p2g, result: 'echo' })).toBe(1);
    expect(d('calendar_sync_change_latency_seconds_count', p2g)).toBe(1);
    expect(d('calendar_sync_change_latency_seconds_sum', p2g)).toBeCloseTo(4);
  });

  it('records the wait a rate-limited failure asks for, by service, and nothing for other failures', async () => {
    const before = parsePrometheusText(await register.metrics());
    recordRateLimit(ApplicationFailure.create({ type: 'GoogleRateLimited', message: 'quota', nextRetryDelay: '30s' }));
    recordRateLimit(ApplicationFailure.create({ type: 'PipedriveRateLimited', message: '429', nextRetryDelay: 2000 }));
    recordRateLimit(ApplicationFailure.create({ type: 'GoogleUnavailable', message: '503', nextRetryDelay: 1000 }));
    recordRateLimit(new Error('plain'));
    const after = parsePrometheusText(await register.metrics());
    const d = (name: string, service: string) => sample(after, name, { service }) - sample(before, name, { service });
    expect(d('calendar_sync_rate_limit_wait_seconds_sum', 'google')).toBe(30);
    expect(d('calendar_sync_rate_limit_wait_seconds_count', 'google')).toBe(1);
    expect(d('calendar_sync_rate_limit_wait_seconds_sum', 'pipedrive')).toBe(2);
  });
});

describe('the worker process settings', () => {
  it('default to port 9464, a loopback SDK exporter and a 30 s grace with a 10 s margin', () => {
    expect(workerProcessSettings({})).toEqual({
      httpPort: 9464,
      httpHost: '0.0.0.0',
      sdkMetricsAddress: '127.0.0.1:9465',
      shutdownGraceMs: 30_000,
      shutdownForceMs: 40_000,
    });
    expect(workerProcessSettings({ WORKER_SDK_METRICS_ADDRESS: 'off' }).sdkMetricsAddress).toBeUndefined();
  });

  it.each([
    ['WORKER_HTTP_PORT', 'http'],
    ['WORKER_HTTP_PORT', '70000'],
    ['WORKER_SHUTDOWN_GRACE_SECONDS', '-1'],
    ['WORKER_SHUTDOWN_GRACE_SECONDS', '1.5'],
    ['WORKER_SDK_METRICS_ADDRESS', 'http://x:1/metrics'],
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(() => workerProcessSettings({ [name]: value })).toThrow(name);
  });
});

describe('the Temporal runtime logger', () => {
  it('writes the SDK lines through pino at their level, with their metadata, redacted', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logger = temporalLogger(createLogger({ name: 'worker', level: 'debug', destination }));
    logger.warn('Activity failed', { sdkComponent: 'activity', activityType: 'pullGoogle', email: 'a@b.example' });
    logger.log('DEBUG', 'polling');
    logger.error('Activity failed', { error: new Error('Google is down'), durationMs: 12 });
    logger.trace('below the level');
    expect(lines).toMatchObject([
      { level: 40, msg: 'Activity failed', sdkComponent: 'activity', activityType: 'pullGoogle', email: '[redacted]' },
      { level: 20, msg: 'polling' },
      { level: 50, msg: 'Activity failed', durationMs: 12, err: { type: 'Error', message: 'Google is down' } },
    ]);
    expect((lines[2]!.err as { stack?: string }).stack).toContain('Google is down');
    expect(lines).toHaveLength(3);
  });
});

describe('the worker health server', () => {
  let health: HealthServer | undefined;
  let exporter: http.Server | undefined;
  afterEach(async () => {
    await health?.close();
    await new Promise((r) => (exporter ? exporter.close(r) : r(undefined)));
    health = exporter = undefined;
  });
  const get = async (p: string) => {
    const res = await fetch(`http://127.0.0.1:${health!.port}${p}`);
    return { status: res.status, text: await res.text() };
  };

  it('is ready only while the worker runs and every dependency answers, and says which one does not', async () => {
    let running = false;
    let postgresUp = true;
    health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      running: () => running,
      checks: {
        postgres: async () => {
          if (!postgresUp) throw new Error('connection refused');
        },
        temporal: () => new Promise(() => {}),
      },
      timeoutMs: 200,
    });
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    const starting = await get('/readyz');
    expect(starting.status).toBe(503);
    expect(starting.text).toContain('worker: not running');
    running = true;
    postgresUp = false;
    const down = await get('/readyz');
    expect(down.status).toBe(503);
    expect(down.text).toContain('postgres: connection refused');
    expect(down.text).toContain('temporal: no answer within 200 ms');
  });

  it('serves the sync metrics followed by the SDK exporter, or says the exporter did not answer', async () => {
    exporter = http.createServer((_req, res) =>
      res.end('# TYPE temporal_worker_start_total counter\ntemporal_worker_start_total 1\n'),
    );
    await new Promise<void>((r) => exporter!.listen(0, '127.0.0.1', () => r()));
    const sdk = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;
    health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      running: () => true,
      checks: {},
      sdkMetricsAddress: sdk,
    });
    const merged = await get('/metrics');
    expect(merged.status).toBe(200);
    expect(merged.text).toMatch(/^# HELP calendar_sync_deliveries_total /m);
    expect(parsePrometheusText(merged.text).get('temporal_worker_start_total')).toBe(1);
    await new Promise((r) => exporter!.close(r));
    exporter = undefined;
    const without = await get('/metrics');
    expect(without.status).toBe(200);
    expect(without.text).toContain(`# Temporal SDK metrics unavailable from ${sdk}`);
  });
});

describe('the connections gauge', () => {
  afterEach(() => countConnectionsWith(undefined));

  it('reads the counts on each scrape, and leaves the series out while they cannot be counted', async () => {
    countConnectionsWith(async () => ({ enabled: 3, incomplete: 1 }));
    const up = parsePrometheusText(await register.metrics());
    expect(sample(up, 'calendar_sync_connections', { state: 'enabled' })).toBe(3);
    expect(up.get('calendar_sync_connections{state="disabled"}')).toBe(0);
    countConnectionsWith(async () => {
      throw new Error('Postgres is down');
    });
    const text = await register.metrics();
    expect(text).toContain('# TYPE calendar_sync_deliveries_total counter');
    expect(parsePrometheusText(text).has('calendar_sync_connections{state="enabled"}')).toBe(false);
  });
});
