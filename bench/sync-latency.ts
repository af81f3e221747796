/**
 * Pipedrive → Google sync latency under a steady load, on the real stack: a Temporal dev server, a Postgres,
 * both API emulators and a worker wired like production (`test/support/sync-harness.ts`).
 *
 *   npm run bench:sync-latency -- --users=100 --rate=50 --duration=60 --warmup=10 --mode=two-way
 *   (or BENCH_USERS, BENCH_RATE, BENCH_DURATION, BENCH_WARMUP, BENCH_MODE, BENCH_ACTIVITIES_PER_USER)
 *
 * Workload: N connected users, each with activities created and synced up front; then R Pipedrive changes per
 * second (a new subject and time on one activity, then the `pipedriveChanged` signal), spread round-robin over
 * the users, for a warm-up and then the measured duration. After the run each user gets one `googleChanged`
 * (a pull that sees every write we made): any write in that phase is an echo.
 *
 * Latency is measured from server-side evidence, not by polling: the Google emulator stamps every write with
 * `updated` (ms, same clock as this process). After the run each changed activity's event
 * (`eventIdFor(connection, activity)`) is read from the emulator's memory; its `updated` is the write time of
 * the change whose subject it carries. Each activity is changed at most once when there are enough of them
 * (the default); when one is changed again, its event is read in memory right before, so the previous change
 * is still measured (or counted as superseded if it was not written yet).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { migrate } from '../activities/store/migrate.js';
import type { PipedriveChange } from '../activities/pipedrive-change.js';
import { freePort } from '../scripts/provision/free-port.js';
import { ensurePostgres, type PostgresHandle } from '../scripts/provision/postgres.js';
import { startDevServer } from '../scripts/provision/temporal-server.js';
import { eventIdFor } from '../sync-rules/event-id.js';
import type { SyncSettings } from '../sync-rules/settings.js';
import { startHarness, type Harness, type SyncUser } from '../test/support/sync-harness.js';
import { workflowIdFor } from '../workflows/names.js';

// ── Options ──────────────────────────────────────────────────────────────────────────────────────────────

interface Options {
  users: number;
  /** Pipedrive changes per second, over all users. */
  rate: number;
  /** Measured seconds (after the warm-up). */
  duration: number;
  warmup: number;
  mode: SyncSettings['mode'];
  activitiesPerUser: number;
  /** How long to wait for the backlog to drain after the window, seconds. */
  drainTimeout: number;
}

function options(): Options {
  const args = new Map(
    process.argv
      .slice(2)
      .filter((a) => a.startsWith('--'))
      .map((a) => {
        const [k, v] = a.slice(2).split('=');
        return [k!, v ?? 'true'] as const;
      }),
  );
  const get = (name: string, fallback: string) =>
    args.get(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
  const num = (name: string, fallback: number) => {
    const n = Number(get(name, String(fallback)));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  const users = Math.floor(num('users', 100));
  const rate = num('rate', 50);
  const duration = num('duration', 60);
  const warmup = Number(get('warmup', '10'));
  const mode = get('mode', 'two-way');
  if (mode !== 'two-way' && mode !== 'pipedrive-to-google') throw new Error('--mode is two-way or pipedrive-to-google');
  // Enough activities that each is changed once: every change then has a write of its own to measure.
  const needed = Math.ceil((rate * (duration + warmup)) / users);
  return {
    users,
    rate,
    duration,
    warmup,
    mode,
    activitiesPerUser: Math.floor(num('activities-per-user', Math.min(Math.max(needed, 1), 60))),
    drainTimeout: num('drain-timeout', 60),
  };
}

// ── Bookkeeping ──────────────────────────────────────────────────────────────────────────────────────────

interface Target {
  user: SyncUser;
  activityId: number;
  eventId: string;
  /** The change last sent for this activity, to measure before it is overwritten. */
  last?: Change;
}

interface Change {
  seq: number;
  target: Target;
  subject: string;
  measured: boolean;
  sentAt: number;
  /** When the Google write carrying this change happened (emulator `updated`), if it did. */
  writtenAt?: number;
  superseded?: boolean;
  signalError?: string;
}

function webhook(activityId: number, deliveryId: string): PipedriveChange {
  return {
    meta: { action: 'change', entity: 'activity', entity_id: String(activityId), id: deliveryId },
    data: null,
    previous: null,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

const snapshot = (h: Harness) => {
  const google = h.google.control.stats();
  return {
    apiCalls: Object.fromEntries(h.apiCalls),
    google: google.requests.byOperation,
    googleRateLimited: google.rateLimited,
    pipedrive: h.pipedrive.control.stats(),
  };
};

const isGoogleWrite = (key: string) => /^google events\.(insert|update|patch|delete) /.test(key);
const isPipedriveWrite = (key: string) => /^pipedrive (POST|PATCH|PUT|DELETE) /.test(key);
const sum = (r: Record<string, number>, pred: (k: string) => boolean = () => true) =>
  Object.entries(r).reduce((n, [k, v]) => (pred(k) ? n + v : n), 0);

/** Reads the event from the emulator's memory (no HTTP, no load) and credits the change it carries. */
function observe(h: Harness, change: Change): void {
  const { user, eventId } = change.target;
  try {
    const { event } = h.google.control.inspectEvent(user.email, user.calendarId, eventId);
    if (event.summary === change.subject) change.writtenAt = Date.parse(event.updated);
  } catch {
    // not there: never written
  }
}

// ── The run ──────────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const opts = options();
  const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
  log(`options ${JSON.stringify(opts)}`);

  // Experiments with worker tuning without editing the worker: BENCH_WORKER_OPTIONS='{"workflowThreadPoolSize":2}'
  // is merged into the options the harness's worker is created with (logged at start).
  const workerOverrides = JSON.parse(process.env.BENCH_WORKER_OPTIONS ?? '{}') as Partial<WorkerOptions>;
  if (Object.keys(workerOverrides).length > 0) {
    const create = Worker.create.bind(Worker);
    Worker.create = (o: WorkerOptions) => create({ ...o, ...workerOverrides });
    log(`worker overrides ${JSON.stringify(workerOverrides)}`);
  }
  // Worker and SDK logs at WARN keep the report readable (installed before the dev server installs its own).
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-sync-latency-'));
  const temporal = await startDevServer({ log });
  let postgres: PostgresHandle | undefined;
  let h: Harness | undefined;
  try {
    postgres = await ensurePostgres({
      dataDir: path.join(tmp, 'pg'),
      port: await freePort(),
      database: 'bench',
      ephemeral: true,
    });
    await migrate(postgres.url);
    // Each user makes well under 600 Google calls a minute here; the quota is raised so that the set-up burst
    // never measures the rate limiter instead of the sync.
    h = await startHarness({
      addresses: { temporalAddress: temporal.address, databaseUrl: postgres.url },
      googleQuotaPerMinute: 100_000,
    });
    h.pipedrive.control.setRateLimits({ dailyTokenBudget: 100_000_000 });
    await run(h, opts, log);
  } finally {
    log('cleaning up');
    await h?.close().catch((e: unknown) => console.error('harness close failed', e));
    await temporal.stop().catch((e: unknown) => console.error('temporal stop failed', e));
    await postgres?.stop().catch((e: unknown) => console.error('postgres stop failed', e));
    await rm(tmp, { recursive: true, force: true });
  }
}

async function run(h: Harness, opts: Options, log: (msg: string) => void): Promise<void> {
  const harness = h;
  // 1. Users, each connected two-way (or as asked) with its baseline taken.
  let t = Date.now();
  const users = await inBatches(
    Array.from({ length: opts.users }, (_, i) => i),
    10,
    () => harness.connectUser({ mode: opts.mode }),
  );
  log(`connected ${users.length} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // 2. Activities created up front and synced (inserts), so that the run measures updates in steady state.
  t = Date.now();
  const targets: Target[][] = users.map((user) =>
    Array.from({ length: opts.activitiesPerUser }, (_, j) => {
      const a = h.pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: `Bench activity ${j}`,
        type: 'call',
        due_date: '2027-03-01',
        due_time: `${String(8 + (j % 10)).padStart(2, '0')}:00`,
        duration: '00:30',
      }) as { id: number };
      return { user, activityId: a.id, eventId: eventIdFor(user.connectionId, a.id) };
    }),
  );
  const all = targets.flat();
  await inBatches(all, 20, (x) =>
    harness.sync.pipedriveChanged(x.user.connectionId, webhook(x.activityId, `c-${x.activityId}`)),
  );
  await inBatches(users, 20, (u) => harness.settled(u.connectionId, 120_000));
  const missing = all.filter((x) => !exists(h, x)).length;
  if (missing > 0) throw new Error(`${missing} activities have no Google event after the set-up`);
  log(`created and synced ${all.length} activities in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // 3. Steady load: change i is sent at start + i/R seconds (open loop: a slow system does not slow the sender).
  const before = snapshot(h);
  const warmupChanges = Math.round(opts.rate * opts.warmup);
  const total = warmupChanges + Math.round(opts.rate * opts.duration);
  const changes: Change[] = [];
  const inflight = new Set<Promise<void>>();
  const perUserNext = users.map(() => 0);
  const start = Date.now();
  const windowStart = start + (warmupChanges / opts.rate) * 1000;
  const windowEnd = start + (total / opts.rate) * 1000;
  log(`load: ${total} changes at ${opts.rate}/s (${warmupChanges} warm-up) over ${users.length} users`);
  for (let i = 0; i < total; i++) {
    await sleep(start + (i / opts.rate) * 1000 - Date.now());
    const u = i % users.length;
    const k = perUserNext[u]!;
    perUserNext[u] = k + 1;
    const target = targets[u]![k % opts.activitiesPerUser]!;
    if (target.last) {
      observe(h, target.last);
      if (target.last.writtenAt === undefined) target.last.superseded = true;
    }
    const subject = `Bench change ${i}`;
    h.pipedrive.control.updateActivity(
      target.activityId,
      { subject, due_time: `${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}` },
      { userId: target.user.pipedriveUserId },
    );
    const change: Change = { seq: i, target, subject, measured: i >= warmupChanges, sentAt: Date.now() };
    target.last = change;
    changes.push(change);
    const p = harness.sync
      .pipedriveChanged(target.user.connectionId, webhook(target.activityId, `bench-${i}`))
      .catch((err: unknown) => {
        change.signalError = String(err);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (i > 0 && i % Math.round(opts.rate * 10) === 0) log(`sent ${i}/${total}`);
  }
  const sendEnd = Date.now();
  await Promise.all(inflight);

  // 4. Drain: every user settled (the backlog at the window's end is computed from the write times below).
  const drainStart = Date.now();
  let drained = true;
  await inBatches(users, 20, (u) =>
    harness.settled(u.connectionId, opts.drainTimeout * 1000).catch(() => {
      drained = false;
    }),
  );
  const drainMs = Date.now() - drainStart;
  for (const x of all) if (x.last && x.last.writtenAt === undefined) observe(h, x.last);
  const after = snapshot(h);

  // 5. Echo phase: one Google pull per user sees every write we made; none of them may cause a write.
  const echoBefore = snapshot(h);
  const echoStatusBefore = await inBatches(users, 20, (u) => harness.sync.status(u.connectionId));
  await inBatches(users, 20, (u) => harness.sync.googleChanged(u.connectionId, { resourceState: 'exists' }));
  const echoStatusAfter = await inBatches(users, 20, (u) =>
    // settled() alone could see the state before the signal was processed: wait for the pull to be counted.
    waitProcessed(harness, u.connectionId, echoStatusBefore.find((s) => s.connectionId === u.connectionId)!.processed),
  );
  const echoAfter = snapshot(h);
  const echoCalls = diff(echoAfter.apiCalls, echoBefore.apiCalls);
  const echoesSeen = echoStatusAfter.reduce((n, s, i) => n + s.echoes - echoStatusBefore[i]!.echoes, 0);
  const failures = echoStatusAfter.reduce((n, s) => n + s.failures, 0);

  // 6. Where the time went, from the workflow histories of a few users (read after the run: no load added).
  const stages = await explain(h, users.slice(0, Math.min(users.length, 20)), changes);

  report({
    stages,
    opts,
    changes,
    windowStart,
    windowEnd,
    sendLagMs: sendEnd - windowEnd,
    drainMs,
    drained,
    steady: {
      apiCalls: diff(after.apiCalls, before.apiCalls),
      google: diff(after.google, before.google),
      pipedriveCalls: diff(after.pipedrive.apiCalls, before.pipedrive.apiCalls),
      pipedriveTokens: sum(after.pipedrive.tokensSpent) - sum(before.pipedrive.tokensSpent),
      rateLimited: {
        google: after.googleRateLimited - before.googleRateLimited,
        pipedrive: after.pipedrive.rateLimited - before.pipedrive.rateLimited,
      },
    },
    echo: {
      googleWrites: sum(echoCalls, isGoogleWrite),
      pipedriveWrites: sum(echoCalls, isPipedriveWrite),
      calls: echoCalls,
      echoesSeen,
    },
    failures,
  });
}

function exists(h: Harness, x: Target): boolean {
  try {
    h.google.control.inspectEvent(x.user.email, x.user.calendarId, x.eventId);
    return true;
  } catch {
    return false;
  }
}

async function waitProcessed(h: Harness, connectionId: string, processedBefore: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await h.settled(connectionId, 60_000);
    if (s.processed > processedBefore || Date.now() > deadline) return s;
    await sleep(100);
  }
}

/**
 * Splits each measured change's latency into stages using the server's event times: sent → signal recorded →
 * workflow task started → sync activity scheduled (includes waiting behind the user's earlier items) →
 * activity started → Google write → activity completed.
 */
async function explain(h: Harness, users: SyncUser[], changes: Change[]): Promise<Record<string, number[]>> {
  const byDelivery = new Map(changes.map((c) => [`bench-${c.seq}`, c]));
  const stages: Record<string, number[]> = {
    'sent → signal recorded': [],
    'signal → workflow task started': [],
    'workflow task → activity scheduled': [],
    'activity scheduled → started': [],
    'activity started → Google write': [],
    'Google write → activity completed': [],
  };
  const add = (k: string, ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) stages[k]!.push(ms);
  };
  for (const user of users) {
    const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
    const waiting = new Map<number, { change: Change; signaledAt: number; wftAt?: number }>();
    const scheduled = new Map<string, { change: Change; signaledAt: number; wftAt?: number; startedAt?: number }>();
    let pendingWft: { signaledAt: number; change: Change }[] = [];
    for (const e of history.events ?? []) {
      const at = tsToMs(e.eventTime);
      if (e.workflowExecutionSignaledEventAttributes?.signalName === 'pipedriveChanged') {
        const payload = e.workflowExecutionSignaledEventAttributes.input?.payloads?.[0];
        const change = payload
          ? byDelivery.get(defaultPayloadConverter.fromPayload<PipedriveChange>(payload).meta.id)
          : undefined;
        if (change?.measured) {
          const entry = { change, signaledAt: at };
          waiting.set(change.target.activityId, entry);
          pendingWft.push(entry);
        }
      } else if (e.workflowTaskStartedEventAttributes) {
        for (const p of pendingWft) (p as { wftAt?: number }).wftAt = at;
        pendingWft = [];
      } else if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncPipedriveActivity') {
        const input = e.activityTaskScheduledEventAttributes.input?.payloads?.[1];
        const activityId = input ? defaultPayloadConverter.fromPayload<number>(input) : undefined;
        const entry = activityId !== undefined ? waiting.get(activityId) : undefined;
        if (entry) {
          waiting.delete(activityId!);
          scheduled.set(String(e.eventId), entry);
          const c = entry.change;
          add('sent → signal recorded', entry.signaledAt - c.sentAt);
          add('signal → workflow task started', entry.wftAt! - entry.signaledAt);
          add('workflow task → activity scheduled', at - entry.wftAt!);
        }
      } else if (e.activityTaskStartedEventAttributes) {
        const entry = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
        if (entry) {
          entry.startedAt = at;
          const sched = history.events!.find(
            (x) => String(x.eventId) === String(e.activityTaskStartedEventAttributes!.scheduledEventId),
          );
          add('activity scheduled → started', at - tsToMs(sched?.eventTime));
          if (entry.change.writtenAt) add('activity started → Google write', entry.change.writtenAt - at);
        }
      } else if (e.activityTaskCompletedEventAttributes) {
        const entry = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
        if (entry?.change.writtenAt) add('Google write → activity completed', at - entry.change.writtenAt);
      }
    }
  }
  for (const v of Object.values(stages)) v.sort((a, b) => a - b);
  return stages;
}

// ── Report ───────────────────────────────────────────────────────────────────────────────────────────────

interface ReportInput {
  stages: Record<string, number[]>;
  opts: Options;
  changes: Change[];
  windowStart: number;
  windowEnd: number;
  sendLagMs: number;
  drainMs: number;
  drained: boolean;
  steady: {
    apiCalls: Record<string, number>;
    google: Record<string, number>;
    pipedriveCalls: Record<string, number>;
    pipedriveTokens: number;
    rateLimited: { google: number; pipedrive: number };
  };
  echo: { googleWrites: number; pipedriveWrites: number; calls: Record<string, number>; echoesSeen: number };
  failures: number;
}

function report(r: ReportInput): void {
  const { opts, changes } = r;
  const measured = changes.filter((c) => c.measured);
  const written = measured.filter((c) => c.writtenAt !== undefined);
  const latencies = written.map((c) => c.writtenAt! - c.sentAt).sort((a, b) => a - b);
  const inWindow = written.filter((c) => c.writtenAt! <= r.windowEnd).length;
  const backlogAtEnd = measured.length - inWindow;
  const lost = changes.filter((c) => c.writtenAt === undefined && !c.superseded).length;
  const superseded = changes.filter((c) => c.superseded).length;
  const signalErrors = changes.filter((c) => c.signalError).length;
  const allChanges = changes.length; // steady-state call counts cover the warm-up too
  const googleWrites = sum(r.steady.apiCalls, isGoogleWrite);
  const perChange = (n: number) => +(n / allChanges).toFixed(3);
  const latency = {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    mean: Math.round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
  };
  const sustained = +(inWindow / opts.duration).toFixed(2);

  const rows: [string, string, string][] = [
    ['users × activities', `${opts.users} × ${opts.activitiesPerUser}`, ''],
    ['mode', opts.mode, ''],
    ['offered load', `${opts.rate} changes/s for ${opts.duration} s (+${opts.warmup} s warm-up)`, ''],
    ['changes measured / written', `${measured.length} / ${written.length}`, ''],
    ['latency p50', `${latency.p50} ms`, 'target ≤ 150 ms'],
    ['latency p95', `${latency.p95} ms`, ''],
    ['latency p99', `${latency.p99} ms`, 'target ≤ 1000 ms'],
    ['latency max', `${latency.max} ms`, ''],
    ['latency mean', `${latency.mean} ms`, ''],
    ['sustained', `${sustained} changes/s`, `offered ${opts.rate}/s`],
    ['backlog at window end', `${backlogAtEnd} changes`, ''],
    ['drain after window', `${r.drainMs} ms${r.drained ? '' : ' (timed out)'}`, ''],
    ['sender lag at end', `${r.sendLagMs} ms`, ''],
    ['unwritten / superseded', `${lost} / ${superseded}`, 'target 0 / 0'],
    ['signal errors', String(signalErrors), ''],
    ['Google writes per change', String(perChange(googleWrites)), 'target 1'],
    ['Pipedrive tokens per change', String(perChange(r.steady.pipedriveTokens)), ''],
    ['echo phase Google writes', String(r.echo.googleWrites), 'target 0'],
    ['echo phase Pipedrive writes', String(r.echo.pipedriveWrites), 'target 0'],
    ['echo phase echoes recognised', String(r.echo.echoesSeen), ''],
    ['sync failures (all users)', String(r.failures), ''],
    ['rate limited (Google / Pipedrive)', `${r.steady.rateLimited.google} / ${r.steady.rateLimited.pipedrive}`, ''],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  console.log('\nsync latency: Pipedrive change signal → Google write (emulator `updated`)\n');
  for (const [k, v, note] of rows) console.log(`  ${k.padEnd(w0)}  ${v.padEnd(w1)}  ${note}`);
  console.log(`\n  latency by stage (measured changes of ${Math.min(opts.users, 20)} users, from workflow histories):`);
  console.log(`    ${'stage'.padEnd(40)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)}  n`);
  for (const [k, v] of Object.entries(r.stages))
    console.log(
      `    ${k.padEnd(40)} ${String(percentile(v, 50)).padStart(7)} ${String(percentile(v, 95)).padStart(7)} ${String(percentile(v, 99)).padStart(7)}  ${v.length}`,
    );
  console.log(`\n  API calls per change (steady state, ${allChanges} changes incl. warm-up):`);
  for (const [k, v] of Object.entries(r.steady.apiCalls).sort())
    console.log(`    ${k.padEnd(48)} ${(v / allChanges).toFixed(3)}`);
  console.log('  Pipedrive emulator calls per change:');
  for (const [k, v] of Object.entries(r.steady.pipedriveCalls).sort())
    console.log(`    ${k.padEnd(48)} ${(v / allChanges).toFixed(3)}`);
  if (Object.keys(r.echo.calls).length) {
    console.log('  echo phase calls (one pull per user):');
    for (const [k, v] of Object.entries(r.echo.calls).sort()) console.log(`    ${k.padEnd(48)} ${v}`);
  }
  console.log(
    '\n' +
      JSON.stringify({
        bench: 'sync-latency',
        ...opts,
        changes: measured.length,
        written: written.length,
        latencyMs: latency,
        sustainedPerSec: sustained,
        backlogAtEnd,
        drainMs: r.drainMs,
        unwritten: lost,
        superseded,
        signalErrors,
        googleWritesPerChange: perChange(googleWrites),
        pipedriveTokensPerChange: perChange(r.steady.pipedriveTokens),
        apiCallsPerChange: Object.fromEntries(
          Object.entries(r.steady.apiCalls).map(([k, v]) => [k, +(v / allChanges).toFixed(3)]),
        ),
        echoGoogleWrites: r.echo.googleWrites,
        echoPipedriveWrites: r.echo.pipedriveWrites,
        failures: r.failures,
        stagesP50Ms: Object.fromEntries(Object.entries(r.stages).map(([k, v]) => [k, percentile(v, 50)])),
      }),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
