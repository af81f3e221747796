/**
 * Sync latency under a steady load, on the stack as deployed (`bench/process-stack.ts`): this process holds both
 * API emulators and the load generator; the production worker (`worker/main.ts`) and web service
 * (`client/http/main.ts`) run as child processes configured by environment; Temporal's dev server and a Postgres
 * as for the tests. With `--path=webhook` (the default) changes reach the product through real change feeds
 * (Pipedrive webhooks, Google push channels) to the web service. `--processes=single` runs the old in-process
 * harness instead (everything of ours in this process), to compare with figures measured that way.
 *
 *   npm run bench:sync-latency -- --users=100 --rate=50 --duration=60 --warmup=10 --path=webhook|signal|both --direction=both
 *   (or BENCH_USERS, BENCH_RATE, BENCH_DURATION, BENCH_WARMUP, BENCH_MODE, BENCH_PATH, BENCH_DIRECTION, …)
 *
 * Two phases, each an open-loop load of R changes per second spread round-robin over the users:
 *
 * - Pipedrive → Google: a new subject and time on one activity, made in the Pipedrive emulator as the user would
 *   in the app. With `--path=webhook` the emulator delivers the v2 webhook over HTTP to `/webhooks/pipedrive/:id`
 *   and nothing else is done; with `--path=signal` the bench sends the `pipedriveChanged` signal itself (the
 *   engine alone, no ingress). Start = `Date.now()` right before the emulator change (Pipedrive's `update_time`
 *   has second precision); end = the Google emulator's `updated` stamp (ms) of the write carrying the subject.
 * - Google → Pipedrive (two-way only): a new summary on the linked event, made in the Google emulator as the user
 *   would in the Calendar UI. With `--path=webhook` the emulator POSTs the push notification to
 *   `/webhooks/google`; with `--path=signal` the bench sends `googleChanged`. Start = the event's `updated` stamp;
 *   end = the commit time (ms) of the API write that put the summary into the activity's subject, from the
 *   Pipedrive emulator's change log (`control.changes()`).
 *
 * Everything is read from the emulators' memory after the run (no polling load while it runs). Each activity is
 * changed at most once per phase when there are enough of them (the default); when one is changed again, the
 * previous change is observed right before, so it is still measured (or counted as superseded).
 */
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { Connection } from '@temporalio/client';
import { register } from 'prom-client';
import type { PipedriveChange } from '../adapters/pipedrive/change.js';
import type { ChangeRecord } from '../emulators/pipedrive/index.js';
import { eventIdFor } from '../sync-rules/event-id.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../sync-rules/settings.js';
import type { SyncStatus } from '../workflows/contract.js';
import { workflowIdFor } from '../workflows/names.js';
import { localActivityMarker } from '../testing/activity-runs.js';
import { benchArgs, onOff } from './args.js';
import { countersOf, SDK_LATENCIES, startProcessStack, storeBenchUser, type BenchStack } from './process-stack.js';
import { findProcess, startUsageSampler, type Usage } from './proc-usage.js';

/** A connected user as the bench needs it (it acts through the emulators' control, not a Google client). */
interface BenchUser {
  connectionId: string;
  pipedriveUserId: number;
  apiToken: string;
  email: string;
  calendarId: string;
}

// ── Options ──────────────────────────────────────────────────────────────────────────────────────────────

type Direction = 'pipedrive-to-google' | 'google-to-pipedrive';
type BenchPath = 'webhook' | 'signal';

interface Options {
  users: number;
  /** Pipedrive changes per second, over all users. */
  rate: number;
  /** Google changes per second, over all users (Google → Pipedrive phase). */
  googleRate: number;
  /** Measured seconds (after the warm-up), per phase. */
  duration: number;
  warmup: number;
  mode: SyncSettings['mode'];
  /** `webhook`: changes reach the workflow through the emulators' deliveries to our HTTP server. */
  path: BenchPath;
  /** `both`: the whole run on the webhook path, then on the signal path (a fresh stack each), and their ratio. */
  paths: BenchPath[];
  /**
   * `separate` (default): worker and web service as production processes beside the driver. `single`: the old
   * in-process harness (worker, HTTP server, emulators and load in one Node process), to compare with figures
   * measured that way.
   */
  processes: 'separate' | 'single';
  directions: Direction[];
  activitiesPerUser: number;
  /** Google per-user quota (requests/min) while measuring; the set-up runs with it raised. */
  googleQuota: number;
  /** Activities created per second in the set-up (webhook path: each one is a webhook delivery). */
  setupRate: number;
  /**
   * `shared`: every user in one Pipedrive company (the harness's). Pipedrive delivers a change to every webhook
   * of the company whose user may see the record, so each change fans out to all N connections' webhooks.
   * `per-user`: each user in a company of their own — one delivery per change.
   */
  company: 'shared' | 'per-user';
  /** How long to wait for the backlog to drain after the window, seconds. */
  drainTimeout: number;
  /** The Temporal server's eager activity dispatch (`--eager-activities=off` to measure without it). */
  eagerActivities: boolean;
  /**
   * `--rates=20,40,60`: the webhook path, Pipedrive → Google, at each offered rate in turn on one stack (fresh
   * activities per rate), one line per rate and the highest rate whose p99 stays within `P99_BOUND_MS`.
   */
  rates: number[];
}

/** The latency bound of the `--rates` sweep. */
const P99_BOUND_MS = 1000;

function options(): Options {
  const { get, num } = benchArgs();
  const users = Math.floor(num('users', 100));
  const rate = num('rate', 50);
  const googleRate = num('google-rate', rate);
  const duration = num('duration', 60);
  const warmup = Number(get('warmup', '10'));
  const mode = get('mode', 'two-way');
  if (mode !== 'two-way' && mode !== 'pipedrive-to-google') throw new Error('--mode is two-way or pipedrive-to-google');
  const pathOpt = get('path', 'webhook');
  if (pathOpt !== 'webhook' && pathOpt !== 'signal' && pathOpt !== 'both')
    throw new Error('--path is webhook, signal or both');
  const processes = get('processes', 'separate');
  if (processes !== 'separate' && processes !== 'single') throw new Error('--processes is separate or single');
  const companyOpt = get('company', 'per-user');
  if (companyOpt !== 'shared' && companyOpt !== 'per-user') throw new Error('--company is shared or per-user');
  const direction = get('direction', 'both');
  const directions: Direction[] =
    direction === 'both'
      ? mode === 'two-way'
        ? ['pipedrive-to-google', 'google-to-pipedrive']
        : ['pipedrive-to-google']
      : direction === 'pipedrive-to-google' || direction === 'pipedrive'
        ? ['pipedrive-to-google']
        : direction === 'google-to-pipedrive' || direction === 'google'
          ? ['google-to-pipedrive']
          : [];
  if (directions.length === 0) throw new Error('--direction is pipedrive-to-google, google-to-pipedrive or both');
  const rates = get('rates', '')
    .split(',')
    .filter((x) => x.trim() !== '')
    .map((x) => Number(x));
  if (rates.some((r) => !Number.isFinite(r) || r <= 0))
    throw new Error('--rates is a comma-separated list of positive changes/s, e.g. 20,40,60');
  if (directions.includes('google-to-pipedrive') && mode !== 'two-way')
    throw new Error('--direction=google-to-pipedrive needs --mode=two-way');
  // Enough activities that each is changed once per phase: every change then has a write of its own to measure.
  const maxRate = Math.max(rate, directions.includes('google-to-pipedrive') ? googleRate : 0);
  const needed = Math.ceil((maxRate * (duration + warmup)) / users);
  return {
    users,
    rate,
    googleRate,
    duration,
    warmup,
    mode,
    path: pathOpt === 'both' ? 'webhook' : pathOpt,
    paths: pathOpt === 'both' ? ['webhook', 'signal'] : [pathOpt],
    processes,
    directions,
    activitiesPerUser: Math.floor(num('activities-per-user', Math.min(Math.max(needed, 1), 60))),
    googleQuota: num('google-quota', 600),
    setupRate: num('setup-rate', 50),
    company: companyOpt,
    drainTimeout: num('drain-timeout', 60),
    eagerActivities: onOff(get('eager-activities', 'on'), 'eager-activities'),
    rates,
  };
}

/** Activities per user so that each is changed once per phase at `rate` (at most 60). */
function activitiesPerUserFor(rate: number, duration: number, warmup: number, users: number): number {
  return Math.min(Math.max(Math.ceil((rate * (duration + warmup)) / users), 1), 60);
}

// ── Bookkeeping ──────────────────────────────────────────────────────────────────────────────────────────

interface Target {
  user: BenchUser;
  activityId: number;
  eventId: string;
  /** The change last made to this activity in the current phase, to measure before it is overwritten. */
  last?: Change;
}

interface Change {
  seq: number;
  target: Target;
  subject: string;
  measured: boolean;
  /** When the change was made at the source (ms). */
  sentAt: number;
  /** When the write carrying this change happened at the other side (ms), if it did. */
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

const snapshot = async (h: BenchStack) => {
  const [apiCalls, deliveries, sdkLatencies] = await Promise.all([h.apiCalls(), h.deliveries(), h.sdkLatencies()]);
  const google = h.google.control.stats();
  const pipedrive = h.pipedrive.control.stats();
  return {
    apiCalls,
    deliveries,
    sdkLatencies,
    google: google.requests.byOperation,
    googleRateLimited: google.rateLimited,
    push: { ...google.push } as Record<string, number>,
    pipedrive,
    webhooks: { ...pipedrive.webhooks } as Record<string, number>,
  };
};

const isGoogleWrite = (key: string) => /^google events\.(insert|update|patch|delete|import|move) /.test(key);
const isPipedriveWrite = (key: string) => /^pipedrive (POST|PATCH|PUT|DELETE) /.test(key);
const sum = (r: Record<string, number>, pred: (k: string) => boolean = () => true) =>
  Object.entries(r).reduce((n, [k, v]) => (pred(k) ? n + v : n), 0);

/** Pipedrive → Google: reads the event from the emulator's memory and credits the change it carries. */
function observeGoogle(h: BenchStack, change: Change): void {
  const { user, eventId } = change.target;
  try {
    const { event } = h.google.control.inspectEvent(user.email, user.calendarId, eventId);
    if (event.summary === change.subject) change.writtenAt = Date.parse(event.updated);
  } catch {
    // not there: never written
  }
}

/**
 * Google → Pipedrive: the first API write of the activity's subject at or after the change, provided the
 * activity carries this change's subject (a later write of another subject means it was superseded).
 */
function observePipedrive(h: BenchStack, change: Change, log?: ChangeRecord[]): void {
  const a = h.pipedrive.control.getActivity(change.target.activityId) as { subject?: string } | undefined;
  if (a?.subject !== change.subject) return;
  const records =
    log ??
    h.pipedrive.control.changes({
      entity: 'activity',
      entityId: change.target.activityId,
      changeSource: 'api',
      sinceMs: change.sentAt,
    });
  const write = records.find(
    (r) =>
      r.entityId === change.target.activityId &&
      r.changeSource === 'api' &&
      r.atMs >= change.sentAt &&
      r.changedFields.includes('subject'),
  );
  if (write) change.writtenAt = write.atMs;
}

/** Sum of the feed counters: when it stops moving and every queue is empty, nothing is in flight any more. */
const feedActivity = (h: BenchStack) => {
  const g = h.google.control.stats().push;
  const p = h.pipedrive.control.stats().webhooks;
  return g.attempts + g.dropped + p.sent + p.dropped + p.lostToBan;
};

/** Every user settled and no webhook or push delivery started for `quietMs` (deliveries are detached). */
async function quiesce(h: BenchStack, users: BenchUser[], timeoutMs: number, quietMs = 750): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let ok = true;
  for (;;) {
    const before = feedActivity(h);
    await inBatches(users, 20, (u) =>
      settled(h, u.connectionId, Math.max(1000, deadline - Date.now())).catch(() => {
        ok = false;
      }),
    );
    await sleep(quietMs);
    if (feedActivity(h) === before) {
      const busy = await inBatches(users, 20, async (u) => {
        const s = await statusOf(h, u.connectionId);
        return s.queued > 0 || s.state === 'syncing';
      });
      if (!busy.some(Boolean)) return ok;
    }
    if (Date.now() > deadline) return false;
  }
}

/**
 * The user's status, asked again a few times when Temporal cannot answer yet: on an overloaded machine a workflow
 * task can time out, and until its retry runs a query is refused ("Workflow Task in failed state").
 */
async function statusOf(h: BenchStack, connectionId: string): Promise<SyncStatus> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h.sync.status(connectionId);
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(500 * Math.min(attempt, 6));
    }
  }
}

/** Waits until the user's workflow has nothing queued and is not busy, then returns its status. */
async function settled(h: BenchStack, connectionId: string, timeoutMs = 20_000): Promise<SyncStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(h, connectionId);
    if (s.queued === 0 && s.state !== 'syncing') return s;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${connectionId} to settle`);
    await sleep(50);
  }
}

// ── The run ──────────────────────────────────────────────────────────────────────────────────────────────

type Log = (msg: string) => void;

async function main(): Promise<void> {
  const opts = options();
  const log: Log = (msg) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
  log(`options ${JSON.stringify(opts)}`);
  if (opts.rates.length > 0) return sweep(opts, log);
  const byPath: { path: BenchPath; results: PhaseResult[] }[] = [];
  for (const path of opts.paths) {
    const o = { ...opts, path };
    log(
      `── ${path} path, ${opts.processes === 'separate' ? 'worker and web service in processes of their own' : 'all in this process'}`,
    );
    // The set-up (every user's activities inserted at once) runs with the Google quota raised, so it never
    // measures the rate limiter; the measured phases run with `--google-quota` (default 600/min, Google's).
    const h =
      opts.processes === 'separate'
        ? await startProcessStack({
            name: 'bench-sync-latency',
            feeds: path === 'webhook',
            googleQuotaPerMinute: 100_000,
            eagerActivities: opts.eagerActivities,
            log,
          })
        : await startSingleProcess(path === 'webhook', log);
    try {
      h.pipedrive.control.setRateLimits({ dailyTokenBudget: 100_000_000 });
      const results = await run(h, o, log);
      byPath.push({ path, results });
    } finally {
      log('cleaning up');
      await h.close();
    }
  }
  if (byPath.length > 1) compare(byPath, opts.duration);
}

/**
 * The old shape, `--processes=single`: the in-process harness (worker, our HTTP server, both emulators and the
 * load generator in this Node process). Kept to compare with figures measured that way; the product's counters
 * are read from this process's own metric registry.
 */
async function startSingleProcess(feeds: boolean, log: Log): Promise<BenchStack> {
  const { startStandaloneHarness } = await import('../testing/standalone-harness.js');
  // Experiments with worker tuning without editing the worker: BENCH_WORKER_OPTIONS='{"workflowThreadPoolSize":2}'
  // is merged into the options the harness's worker is created with (logged at start).
  const workerOverrides = JSON.parse(process.env.BENCH_WORKER_OPTIONS ?? '{}') as Partial<WorkerOptions>;
  if (Object.keys(workerOverrides).length > 0) {
    const create = Worker.create.bind(Worker);
    Worker.create = (o: WorkerOptions) => create({ ...o, ...workerOverrides });
    log(`worker overrides ${JSON.stringify(workerOverrides)}`);
  }
  // Worker and SDK logs at WARN keep the report readable (installed before the dev server installs its own).
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier path of this run
  }
  const { h, stop } = await startStandaloneHarness('bench-sync-latency', { googleQuotaPerMinute: 100_000, feeds }, log);
  const temporalPort = (h.stack.client.connection as Connection).options.address.split(':').at(-1)!;
  const pool = (h.stack.db as unknown as { options: { port?: number; connectionString?: string } }).options;
  const pgPort = String(pool.port ?? new URL(pool.connectionString ?? 'postgres://x:5432').port);
  const processes = [{ name: 'driver (everything of ours)', pid: process.pid }];
  const temporalPid = findProcess((argv) => argv.includes('start-dev') && argv.includes(temporalPort));
  if (temporalPid) processes.push({ name: 'Temporal dev server', pid: temporalPid });
  const pgPid = findProcess((argv) => /(^|\/)postgres$/.test(argv[0] ?? '') && argv.includes(pgPort));
  if (pgPid) processes.push({ name: 'Postgres (all backends)', pid: pgPid });
  return {
    google: h.google,
    pipedrive: h.pipedrive,
    sync: h.sync,
    db: h.stack.db,
    client: h.stack.client,
    payloadCodec: h.stack.payloadCodec,
    secrets: h.deps.secrets,
    apiCalls: async () => Object.fromEntries(h.apiCalls),
    deliveries: async () =>
      countersOf(await register.metrics(), 'calendar_sync_deliveries_total', ['source', 'result']),
    // The in-process worker runs without the SDK's Prometheus exporter.
    sdkLatencies: async () => ({}),
    processes,
    close: stop,
  };
}

/**
 * `--rates`: the webhook path, Pipedrive → Google, at each offered rate in turn on one stack (the users connected
 * once, fresh activities per rate so each is changed once per phase), one line per rate, and the highest rate
 * whose p99 stayed within the bound.
 */
async function sweep(opts: Options, log: Log): Promise<void> {
  const o: Options = { ...opts, path: 'webhook', paths: ['webhook'], directions: ['pipedrive-to-google'] };
  const h =
    opts.processes === 'separate'
      ? await startProcessStack({
          name: 'bench-sync-latency',
          feeds: true,
          googleQuotaPerMinute: 100_000,
          eagerActivities: opts.eagerActivities,
          log,
        })
      : await startSingleProcess(true, log);
  const lines: { rate: number; p50: number; p99: number; sustained: number; backlog: number; writes: number }[] = [];
  try {
    h.pipedrive.control.setRateLimits({ dailyTokenBudget: 100_000_000 });
    const users = await connectUsers(h, o, log);
    for (const rate of opts.rates) {
      const r = {
        ...o,
        rate,
        googleRate: rate,
        activitiesPerUser: activitiesPerUserFor(rate, o.duration, o.warmup, o.users),
      };
      h.google.control.setQuota(100_000);
      const targets = await setUpActivities(h, r, users, log);
      h.google.control.setQuota(r.googleQuota);
      const result = await phase(h, r, 'pipedrive-to-google', users, targets, log);
      report(r, result);
      const head = headline(result, r.duration);
      const line = {
        rate,
        p50: head['latency p50 (ms)'],
        p99: head['latency p99 (ms)'],
        sustained: head['sustained (changes/s)'],
        backlog: backlogAtEnd(result),
        writes: head['writes per change'],
      };
      lines.push(line);
      log(`rate ${rate}/s: ${JSON.stringify(line)}`);
    }
  } finally {
    log('cleaning up');
    await h.close();
  }
  console.log(
    `\nPipedrive → Google, webhook path, ${opts.users} users, ${opts.duration} s per rate (+${opts.warmup} s warm-up)\n`,
  );
  console.log(
    `  ${'offered/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'sustained/s'.padStart(12)} ${'backlog'.padStart(8)} ${'writes/change'.padStart(14)}`,
  );
  for (const l of lines)
    console.log(
      `  ${String(l.rate).padStart(9)} ${String(l.p50).padStart(8)} ${String(l.p99).padStart(8)} ${String(l.sustained).padStart(12)} ${String(l.backlog).padStart(8)} ${String(l.writes).padStart(14)}`,
    );
  const within = lines.filter((l) => l.p99 <= P99_BOUND_MS).map((l) => l.rate);
  const best = within.length > 0 ? Math.max(...within) : null;
  console.log(
    `\n  highest offered rate with p99 ≤ ${P99_BOUND_MS} ms: ${best === null ? 'none of those tried' : `${best} changes/s`}`,
  );
  console.log(
    '\n' +
      JSON.stringify({
        bench: 'sync-latency-rates',
        users: opts.users,
        duration: opts.duration,
        rates: lines,
        highestWithinP99: best,
      }),
  );
}

/**
 * Users, each connected (two-way or as asked) with its baseline taken and, on the webhook path, its Pipedrive
 * webhooks and Google channel registered.
 */
async function connectUsers(h: BenchStack, opts: Options, log: Log): Promise<BenchUser[]> {
  const t = Date.now();
  const shared = opts.company === 'shared' ? h.pipedrive.control.createCompany({ name: 'Bench company' }) : undefined;
  const users = await inBatches(
    Array.from({ length: opts.users }, (_, i) => i),
    10,
    () => connectUser(h, opts.mode, shared?.companyId),
  );
  log(`connected ${users.length} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return users;
}

async function run(h: BenchStack, opts: Options, log: Log): Promise<PhaseResult[]> {
  // 1. Users, connected.
  const users = await connectUsers(h, opts, log);
  // 2. Activities created up front and synced (inserts), so that the run measures updates in steady state.
  const targets = await setUpActivities(h, opts, users, log);
  h.google.control.setQuota(opts.googleQuota);

  const results: PhaseResult[] = [];
  for (const direction of opts.directions) {
    for (const x of targets.flat()) x.last = undefined;
    const r = await phase(h, opts, direction, users, targets, log);
    // Printed as soon as the phase ends, so a later phase that fails does not take these figures with it.
    report(opts, r);
    results.push(r);
  }
  return results;
}

/**
 * `opts.activitiesPerUser` new activities per user, created and synced (inserts), so that a phase measures
 * updates in steady state. Paced: on the webhook path each creation is a webhook delivery to our server.
 */
async function setUpActivities(h: BenchStack, opts: Options, users: BenchUser[], log: Log): Promise<Target[][]> {
  const harness = h;
  const t = Date.now();
  const specs = users.flatMap((user) => Array.from({ length: opts.activitiesPerUser }, (_, j) => ({ user, j })));
  const all: Target[] = [];
  for (const [i, { user, j }] of specs.entries()) {
    await sleep(t + (i / opts.setupRate) * 1000 - Date.now());
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: `Bench activity ${j}`,
      type: 'call',
      due_date: '2027-03-01',
      due_time: `${String(8 + (j % 10)).padStart(2, '0')}:00`,
      duration: '00:30',
    }) as { id: number };
    all.push({ user, activityId: a.id, eventId: eventIdFor(user.connectionId, a.id) });
  }
  const targets: Target[][] = users.map((u) => all.filter((x) => x.user === u));
  if (opts.path === 'signal')
    await inBatches(all, 20, (x) =>
      harness.sync.pipedriveChanged(x.user.connectionId, webhook(x.activityId, `c-${x.activityId}`)),
    );
  const setupDeadline = Date.now() + 180_000;
  while (all.some((x) => !exists(h, x)) && Date.now() < setupDeadline) await sleep(250);
  await quiesce(h, users, 120_000);
  const missing = all.filter((x) => !exists(h, x)).length;
  if (missing > 0)
    throw new Error(
      `${missing} activities have no Google event after the set-up ` +
        `(webhooks: ${JSON.stringify(h.pipedrive.control.stats().webhooks)})`,
    );
  const setupHooks = h.pipedrive.control.stats().webhooks;
  log(
    `created and synced ${all.length} activities in ${((Date.now() - t) / 1000).toFixed(1)} s` +
      (opts.path === 'webhook' ? ` (webhooks: ${JSON.stringify(setupHooks)})` : ''),
  );
  if (setupHooks.bans > 0) {
    // An overloaded set-up can time deliveries out and get webhooks banned for 30 minutes, which would make the
    // measured phases run on the safety net alone. The set-up is not what is measured: lift the bans.
    log(`set-up got ${setupHooks.bans} webhook bans (first attempts failed or timed out): lifting them`);
    h.pipedrive.control.unbanWebhooks();
  }
  return targets;
}

interface PhaseResult {
  direction: Direction;
  rate: number;
  changes: Change[];
  windowEnd: number;
  sendLagMs: number;
  drainMs: number;
  drained: boolean;
  stages: Record<string, number[]>;
  /** CPU and memory of each process over the phase (first change → drained). */
  usage: Usage[];
  /** From the users' workflow histories (every run), over the phase: counts of what Temporal did. */
  temporal: TemporalCounts;
  steady: {
    deliveries: Record<string, number>;
    /** Deltas of the worker's SDK latency histograms' `_sum` and `_count` over the phase. */
    sdkLatencies: Record<string, number>;
    apiCalls: Record<string, number>;
    google: Record<string, number>;
    pipedriveCalls: Record<string, number>;
    pipedriveTokens: number;
    rateLimited: { google: number; pipedrive: number };
    webhooks: Record<string, number>;
    push: Record<string, number>;
    echoesSeen: number;
  };
  echo: {
    googleWrites: number;
    pipedriveWrites: number;
    calls: Record<string, number>;
    echoesSeen: number;
    /** Users whose workflow had not processed the echo signal and settled within the echo phase's minute. */
    unsettled: number;
  };
  failures: number;
}

async function phase(
  h: BenchStack,
  opts: Options,
  direction: Direction,
  users: BenchUser[],
  targets: Target[][],
  log: Log,
): Promise<PhaseResult> {
  const harness = h;
  const p2g = direction === 'pipedrive-to-google';
  const rate = p2g ? opts.rate : opts.googleRate;
  const observe = (c: Change) => (p2g ? observeGoogle(h, c) : observePipedrive(h, c));

  // Open loop: change i is made at start + i/R seconds (a slow system does not slow the sender).
  const before = await snapshot(h);
  const sampler = startUsageSampler(h.processes);
  const statusBefore = await inBatches(users, 20, (u) => statusOf(harness, u.connectionId));
  const warmupChanges = Math.round(rate * opts.warmup);
  const total = warmupChanges + Math.round(rate * opts.duration);
  const changes: Change[] = [];
  const inflight = new Set<Promise<void>>();
  const perUserNext = users.map(() => 0);
  const start = Date.now();
  const windowEnd = start + (total / rate) * 1000;
  log(
    `${direction} (${opts.path}): ${total} changes at ${rate}/s (${warmupChanges} warm-up) over ${users.length} users`,
  );
  for (let i = 0; i < total; i++) {
    await sleep(start + (i / rate) * 1000 - Date.now());
    const u = i % users.length;
    const k = perUserNext[u]!;
    perUserNext[u] = k + 1;
    const target = targets[u]![k % opts.activitiesPerUser]!;
    if (target.last) {
      observe(target.last);
      if (target.last.writtenAt === undefined) target.last.superseded = true;
    }
    const change: Change = {
      seq: i,
      target,
      subject: `Bench ${p2g ? 'P' : 'G'} change ${i}`,
      measured: i >= warmupChanges,
      sentAt: Date.now(),
    };
    let signal: (() => Promise<void>) | undefined;
    if (p2g) {
      h.pipedrive.control.updateActivity(
        target.activityId,
        {
          subject: change.subject,
          due_time: `${String(8 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
        },
        { userId: target.user.pipedriveUserId },
      );
      signal = () => harness.sync.pipedriveChanged(target.user.connectionId, webhook(target.activityId, `bench-${i}`));
    } else {
      const event = h.google.control.upsertEvent(target.user.email, target.user.calendarId, {
        id: target.eventId,
        summary: change.subject,
      });
      change.sentAt = Date.parse(event.updated);
      signal = () => harness.sync.googleChanged(target.user.connectionId, { resourceState: 'exists' });
    }
    target.last = change;
    changes.push(change);
    if (opts.path === 'signal') {
      const p = signal()
        .catch((err: unknown) => {
          change.signalError = String(err);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    if (i > 0 && i % Math.round(rate * 10) === 0) log(`sent ${i}/${total}`);
  }
  const sendEnd = Date.now();
  await Promise.all(inflight);

  // Drain: every queue empty and no delivery in flight (on the webhook path the echoes of our own writes arrive
  // as deliveries too, and are part of the steady state).
  const drainStart = Date.now();
  const drained = await quiesce(h, users, opts.drainTimeout * 1000);
  const drainMs = Date.now() - drainStart;
  const usage = sampler.stop();
  const steadyEnd = Date.now();
  const logAfter = p2g
    ? undefined
    : h.pipedrive.control.changes({ entity: 'activity', changeSource: 'api', sinceMs: start });
  const byActivity = new Map<number, ChangeRecord[]>();
  for (const r of logAfter ?? []) byActivity.set(r.entityId, [...(byActivity.get(r.entityId) ?? []), r]);
  for (const c of changes) {
    if (c.target.last !== c || c.writtenAt !== undefined) continue;
    if (p2g) observeGoogle(h, c);
    else observePipedrive(h, c, byActivity.get(c.target.activityId) ?? []);
  }
  const after = await snapshot(h);
  const statusAfter = await inBatches(users, 20, (u) => statusOf(harness, u.connectionId));

  // Echo phase: the other side's notification of every write we made. On the signal path nothing delivers it,
  // so the bench does: Pipedrive → Google gets one `googleChanged` per user (a pull that sees all our event
  // writes), Google → Pipedrive one `pipedriveChanged` per activity we wrote. On the webhook path the feeds
  // already delivered them during the run (counted in the steady state); the extra pull per user is kept so
  // both paths report the same row. Any write in this phase is an echo we failed to recognise.
  const echoBefore = await snapshot(h);
  const echoStatusBefore = await inBatches(users, 20, (u) => statusOf(harness, u.connectionId));
  if (p2g || opts.path === 'webhook') {
    await inBatches(users, 20, (u) => harness.sync.googleChanged(u.connectionId, { resourceState: 'exists' }));
  } else {
    const written = changes.filter((c) => c.writtenAt !== undefined);
    await inBatches(written, 20, (c) =>
      harness.sync.pipedriveChanged(c.target.user.connectionId, webhook(c.target.activityId, `echo-${c.seq}`)),
    );
  }
  // One deadline for all users: a backlog left by the phase must not make this wait per user.
  const echoDeadline = Date.now() + 60_000;
  const echoSettled = await inBatches(users, 20, (u) =>
    // settled() alone could see the state before the signal was processed: wait for the work to be counted.
    waitProcessed(
      harness,
      u.connectionId,
      echoStatusBefore.find((s) => s.connectionId === u.connectionId)!.processed,
      echoDeadline,
    ),
  );
  const echoUnsettled = echoSettled.filter((ok) => !ok).length;
  if (echoUnsettled > 0)
    log(`echo phase: ${echoUnsettled} users had not settled after 60 s (backlog left by the phase)`);
  await quiesce(h, users, 60_000);
  const echoAfter = await snapshot(h);
  const echoStatusAfter = await inBatches(users, 20, (u) => statusOf(harness, u.connectionId));
  const echoCalls = diff(echoAfter.apiCalls, echoBefore.apiCalls);
  const echoesSeen = echoStatusAfter.reduce((n, s, i) => n + s.echoes - echoStatusBefore[i]!.echoes, 0);
  const failures = echoStatusAfter.reduce((n, s, i) => n + s.failures - statusBefore[i]!.failures, 0);

  // Where the time went, from the workflow histories of a few users (read after the run: no load added).
  const sample = users.slice(0, Math.min(users.length, 20));
  const stages = p2g
    ? await explainPipedriveToGoogle(h, opts, sample, changes, start)
    : await explainGoogleToPipedrive(h, sample, changes, start);

  const temporal = await temporalCounts(h, users, start, steadyEnd);

  return {
    direction,
    rate,
    changes,
    usage,
    temporal,
    windowEnd,
    sendLagMs: sendEnd - windowEnd,
    drainMs,
    drained,
    stages,
    steady: {
      deliveries: diff(after.deliveries, before.deliveries),
      sdkLatencies: diff(after.sdkLatencies, before.sdkLatencies),
      apiCalls: diff(after.apiCalls, before.apiCalls),
      google: diff(after.google, before.google),
      pipedriveCalls: diff(after.pipedrive.apiCalls, before.pipedrive.apiCalls),
      pipedriveTokens: sum(after.pipedrive.tokensSpent) - sum(before.pipedrive.tokensSpent),
      rateLimited: {
        google: after.googleRateLimited - before.googleRateLimited,
        pipedrive: after.pipedrive.rateLimited - before.pipedrive.rateLimited,
      },
      webhooks: diff(after.webhooks, before.webhooks),
      push: diff(after.push, before.push),
      echoesSeen: statusAfter.reduce((n, s, i) => n + s.echoes - statusBefore[i]!.echoes, 0),
    },
    echo: {
      googleWrites: sum(echoCalls, isGoogleWrite),
      pipedriveWrites: sum(echoCalls, isPipedriveWrite),
      calls: echoCalls,
      echoesSeen,
      unsettled: echoUnsettled,
    },
    failures,
  };
}

/**
 * A new user in both emulators, connected as the product stores them (connection row, credentials encrypted with
 * the product's keys), sync enabled in `mode` and settled. In a company of their own unless `sharedCompanyId`.
 */
async function connectUser(h: BenchStack, mode: SyncSettings['mode'], sharedCompanyId?: number): Promise<BenchUser> {
  const user = await storeBenchUser(h, sharedCompanyId);
  await h.sync.configure(user.connectionId, {
    ...DEFAULT_SETTINGS,
    enabled: true,
    calendarId: user.calendarId,
    mode,
  });
  await settled(h, user.connectionId);
  return user;
}

function exists(h: BenchStack, x: Target): boolean {
  try {
    h.google.control.inspectEvent(x.user.email, x.user.calendarId, x.eventId);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits (until `deadline`) for the workflow to have processed something since `processedBefore` and settled.
 * Gives up quietly: a backlog that outlasts it is reported by the echo phase's drain, not by failing the run.
 */
async function waitProcessed(
  h: BenchStack,
  connectionId: string,
  processedBefore: number,
  deadline: number,
): Promise<boolean> {
  for (;;) {
    const s = await settled(h, connectionId, Math.max(1000, deadline - Date.now())).catch(() => undefined);
    if (s && s.processed > processedBefore) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

type History = Awaited<ReturnType<ReturnType<BenchStack['client']['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

async function historyOf(h: BenchStack, user: BenchUser): Promise<HistoryEvent[]> {
  const history = await h.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
  return history.events ?? [];
}

/** A payload from history, decrypted with the stack's payload codec (histories hold ciphertext). */
async function fromPayload<T>(h: BenchStack, payload: Payload | null | undefined): Promise<T | undefined> {
  if (!payload) return undefined;
  const [decoded] = await h.payloadCodec.decode([payload as Payload]);
  return defaultPayloadConverter.fromPayload<T>(decoded!);
}

/** When each webhook delivery was stored in our inbox, by connection and activity id (webhook path only). */
async function inboxTimes(h: BenchStack, users: BenchUser[], since: number): Promise<Map<string, number[]>> {
  const { rows } = await h.db.query<{ connection_id: string; entity_id: string; received_at: Date }>(
    `SELECT connection_id, meta->>'entity_id' AS entity_id, received_at FROM webhook_inbox
      WHERE connection_id = ANY($1) AND meta->>'entity' = 'activity' AND received_at >= $2 ORDER BY received_at`,
    [users.map((u) => u.connectionId), new Date(since)],
  );
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${r.connection_id}/${r.entity_id}`;
    out.set(key, [...(out.get(key) ?? []), r.received_at.getTime()]);
  }
  return out;
}

/** The activities that sync Pipedrive activities to Google: one at a time, or a batch of the waiting ones. */
const SYNC_ACTIVITY_TYPES = new Set(['syncPipedriveActivity', 'syncPipedriveActivities']);

/**
 * Splits each measured Pipedrive → Google change's latency using the server's event times: change → (webhook
 * stored in our inbox →) signal recorded → workflow task started → sync activity scheduled (includes waiting
 * behind the user's earlier items) → activity started → Google write → activity completed. A sync that ran as a
 * local activity (workflows/local-first.ts) has no activity task: its marker holds the result (the synced
 * activity), and it ran inside the last workflow task started before the marker, so its rows are workflow task
 * → the local activity's workflow task (waiting behind earlier items) → Google write → marker recorded (the
 * workflow task's completion reaching the server). The marker's own `complete_time` is not used: the SDK
 * records it as the workflow task's start plus the activity's run time, which leaves out any wait before the
 * activity began, so it is no wall-clock time.
 */
async function explainPipedriveToGoogle(
  h: BenchStack,
  opts: Options,
  users: BenchUser[],
  changes: Change[],
  since: number,
): Promise<Record<string, number[]>> {
  const stages: Record<string, number[]> = {
    ...(opts.path === 'webhook'
      ? { 'change → webhook stored (inbox)': [], 'webhook stored → signal recorded': [] }
      : { 'change → signal recorded': [] }),
    'signal → workflow task started': [],
    'workflow task → activity scheduled': [],
    'activity scheduled → started': [],
    'activity started → Google write': [],
    'Google write → activity completed': [],
    'local: workflow task → its workflow task': [],
    'local: workflow task started → Google write': [],
    'local: Google write → marker recorded': [],
  };
  const add = (k: string, ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) stages[k]!.push(Math.round(ms));
  };
  const inbox = opts.path === 'webhook' ? await inboxTimes(h, users, since) : new Map<string, number[]>();
  /** The rows up to the workflow task that saw the signal, the same for a regular and a local sync. */
  const addIngress = (user: BenchUser, entry: { change: Change; signaledAt: number; wftAt?: number }) => {
    const c = entry.change;
    if (opts.path === 'webhook') {
      const stored = (inbox.get(`${user.connectionId}/${c.target.activityId}`) ?? []).find((t) => t >= c.sentAt);
      if (stored !== undefined) {
        add('change → webhook stored (inbox)', stored - c.sentAt);
        add('webhook stored → signal recorded', entry.signaledAt - stored);
      }
    } else add('change → signal recorded', entry.signaledAt - c.sentAt);
    add('signal → workflow task started', entry.wftAt! - entry.signaledAt);
  };
  // The change a signal is about: the latest change of that activity made before the signal was recorded.
  const byActivity = new Map<number, Change[]>();
  for (const c of changes) byActivity.set(c.target.activityId, [...(byActivity.get(c.target.activityId) ?? []), c]);
  const changeFor = (activityId: number, at: number) =>
    (byActivity.get(activityId) ?? []).filter((c) => c.sentAt <= at).at(-1);
  for (const user of users) {
    const events = await historyOf(h, user);
    const byId = new Map(events.map((e) => [String(e.eventId), e]));
    const waiting = new Map<number, { change: Change; signaledAt: number; wftAt?: number }>();
    const scheduled = new Map<string, { change: Change; signaledAt: number; wftAt?: number }[]>();
    let pendingWft: { signaledAt: number; change: Change; wftAt?: number }[] = [];
    let lastWftAt: number | undefined;
    for (const e of events) {
      const marker = localActivityMarker(e);
      const at = tsToMs(e.eventTime);
      if (at < since) continue;
      if (e.workflowExecutionSignaledEventAttributes?.signalName === 'pipedriveChanged') {
        const meta = (
          await fromPayload<PipedriveChange>(h, e.workflowExecutionSignaledEventAttributes.input?.payloads?.[0])
        )?.meta;
        if (meta?.entity !== 'activity') continue;
        const change = changeFor(Number(meta.entity_id), at);
        // Only the first signal of a change (a redelivery or an echo of our own write is not its signal).
        if (
          change?.measured &&
          !waiting.has(change.target.activityId) &&
          ![...scheduled.values()].some((list) => list.some((s) => s.change === change))
        ) {
          const entry = { change, signaledAt: at };
          waiting.set(change.target.activityId, entry);
          pendingWft.push(entry);
        }
      } else if (e.workflowTaskStartedEventAttributes) {
        for (const p of pendingWft) p.wftAt = at;
        pendingWft = [];
        lastWftAt = at;
      } else if (marker && !marker.failed && marker.activity_type === 'syncPipedriveActivity') {
        // A local sync: its result names the activity it synced.
        const outcome = await fromPayload<{ subject?: string }>(
          h,
          e.markerRecordedEventAttributes!.details?.['result']?.payloads?.[0],
        );
        const activityId = Number(/^activity:(\d+)$/.exec(outcome?.subject ?? '')?.[1]);
        const entry = waiting.get(activityId);
        if (!entry || lastWftAt === undefined) continue;
        waiting.delete(activityId);
        addIngress(user, entry);
        add('local: workflow task → its workflow task', lastWftAt - entry.wftAt!);
        const written = entry.change.writtenAt;
        if (written !== undefined) {
          add('local: workflow task started → Google write', written - lastWftAt);
          add('local: Google write → marker recorded', at - written);
        }
      } else if (SYNC_ACTIVITY_TYPES.has(e.activityTaskScheduledEventAttributes?.activityType?.name ?? '')) {
        // One activity id (`syncPipedriveActivity`) or several (`syncPipedriveActivities`, a batch).
        const input = await fromPayload<number | number[]>(
          h,
          e.activityTaskScheduledEventAttributes!.input?.payloads?.[1],
        );
        for (const activityId of input === undefined ? [] : Array.isArray(input) ? input : [input]) {
          const entry = waiting.get(activityId);
          if (!entry) continue;
          waiting.delete(activityId);
          scheduled.set(String(e.eventId), [...(scheduled.get(String(e.eventId)) ?? []), entry]);
          addIngress(user, entry);
          add('workflow task → activity scheduled', at - entry.wftAt!);
        }
      } else if (e.activityTaskStartedEventAttributes) {
        for (const entry of scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) ?? []) {
          const sched = byId.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
          add('activity scheduled → started', at - tsToMs(sched?.eventTime));
          if (entry.change.writtenAt) add('activity started → Google write', entry.change.writtenAt - at);
        }
      } else if (e.activityTaskCompletedEventAttributes) {
        for (const entry of scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) ?? [])
          if (entry.change.writtenAt) add('Google write → activity completed', at - entry.change.writtenAt);
      }
    }
  }
  for (const v of Object.values(stages)) v.sort((a, b) => a - b);
  return stages;
}

/**
 * Splits each measured Google → Pipedrive change's latency: Google write → first `googleChanged` signal
 * recorded after it (push delivery + ingress, or the bench's signal) → the pull that made the Pipedrive write
 * scheduled (a pull already queued absorbs later notifications) → started → Pipedrive write → pull completed.
 * A pull that ran as a local activity is scheduled and started with the workflow task it ran in (the last one
 * started before its marker) and completed when its marker was recorded (the workflow task's completion, an upper
 * bound); it has no "scheduled → started".
 */
async function explainGoogleToPipedrive(
  h: BenchStack,
  users: BenchUser[],
  changes: Change[],
  since: number,
): Promise<Record<string, number[]>> {
  const stages: Record<string, number[]> = {
    'Google write → signal recorded': [],
    'signal → pull scheduled': [],
    'pull scheduled → started': [],
    'pull started → Pipedrive write': [],
    'Pipedrive write → pull completed': [],
    'pull duration': [],
  };
  const add = (k: string, ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) stages[k]!.push(Math.round(ms));
  };
  for (const user of users) {
    const events = (await historyOf(h, user)).filter((e) => tsToMs(e.eventTime) >= since);
    const signals = events
      .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'googleChanged')
      .map((e) => tsToMs(e.eventTime));
    const pulls: { scheduled: number; started?: number; completed?: number; local?: boolean }[] = [];
    const bySched = new Map<string, (typeof pulls)[number]>();
    let lastWftAt: number | undefined;
    for (const e of events) {
      const at = tsToMs(e.eventTime);
      const marker = localActivityMarker(e);
      if (e.workflowTaskStartedEventAttributes) lastWftAt = at;
      if (marker && !marker.failed && marker.activity_type === 'pullGoogle' && lastWftAt !== undefined) {
        pulls.push({ scheduled: lastWftAt, started: lastWftAt, completed: at, local: true });
      } else if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'pullGoogle') {
        const p = { scheduled: at };
        pulls.push(p);
        bySched.set(String(e.eventId), p);
      } else if (e.activityTaskStartedEventAttributes) {
        const p = bySched.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
        if (p) p.started = at;
      } else if (e.activityTaskCompletedEventAttributes) {
        const p = bySched.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
        if (p) p.completed = at;
      }
    }
    for (const c of changes) {
      if (c.target.user !== user || !c.measured || c.writtenAt === undefined) continue;
      const signal = signals.find((s) => s >= c.sentAt);
      const pull = pulls.find(
        (p) => p.started !== undefined && p.started <= c.writtenAt! && (p.completed ?? Infinity) >= c.writtenAt!,
      );
      if (signal !== undefined) add('Google write → signal recorded', signal - c.sentAt);
      if (!pull) continue;
      if (signal !== undefined) add('signal → pull scheduled', pull.scheduled - signal);
      if (!pull.local) add('pull scheduled → started', pull.started! - pull.scheduled);
      add('pull started → Pipedrive write', c.writtenAt - pull.started!);
      if (pull.completed !== undefined) {
        add('Pipedrive write → pull completed', pull.completed - c.writtenAt);
        add('pull duration', pull.completed - pull.started!);
      }
    }
  }
  for (const v of Object.values(stages)) v.sort((a, b) => a - b);
  return stages;
}

interface TemporalCounts {
  workflowTasks: number;
  /** Workflow tasks that failed or timed out (a busy worker, a nondeterminism): each is retried. */
  workflowTaskFailures: number;
  activityTasks: number;
  activityRetries: number;
  /** Local activities (their `core_local_activity` markers), and those whose attempt failed (then run regular). */
  localActivities: number;
  localActivityFailures: number;
  signals: number;
  updates: number;
  historyEvents: number;
  continuedAsNew: number;
}

/**
 * What Temporal did for the users between `since` and `until`, counted in their workflow histories — every run
 * of each workflow (a run that continued as new during the phase counts too). Read after the phase.
 */
async function temporalCounts(
  h: BenchStack,
  users: BenchUser[],
  since: number,
  until: number,
): Promise<TemporalCounts> {
  const n: TemporalCounts = {
    workflowTasks: 0,
    workflowTaskFailures: 0,
    activityTasks: 0,
    activityRetries: 0,
    localActivities: 0,
    localActivityFailures: 0,
    signals: 0,
    updates: 0,
    historyEvents: 0,
    continuedAsNew: 0,
  };
  await inBatches(users, 10, async (u) => {
    const id = workflowIdFor(u.connectionId);
    for await (const run of h.client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      if (run.closeTime && run.closeTime.getTime() < since) continue;
      const history = await h.client.workflow.getHandle(id, run.runId).fetchHistory();
      for (const e of history.events ?? []) {
        const at = tsToMs(e.eventTime);
        if (at < since || at > until) continue;
        n.historyEvents++;
        if (e.workflowTaskStartedEventAttributes) n.workflowTasks++;
        if (e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) n.workflowTaskFailures++;
        if (e.activityTaskStartedEventAttributes) {
          n.activityTasks++;
          if ((e.activityTaskStartedEventAttributes.attempt ?? 1) > 1) n.activityRetries++;
        }
        const marker = localActivityMarker(e);
        if (marker) {
          n.localActivities++;
          if (marker.failed) n.localActivityFailures++;
        }
        if (e.workflowExecutionSignaledEventAttributes) n.signals++;
        if (e.workflowExecutionUpdateAcceptedEventAttributes) n.updates++;
        if (e.workflowExecutionContinuedAsNewEventAttributes) n.continuedAsNew++;
      }
    }
  });
  return n;
}

// ── Report ───────────────────────────────────────────────────────────────────────────────────────────────

function report(opts: Options, r: PhaseResult): void {
  const { changes } = r;
  const p2g = r.direction === 'pipedrive-to-google';
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
  const pipedriveWrites = sum(r.steady.apiCalls, isPipedriveWrite);
  const perChange = (n: number) => +(n / allChanges).toFixed(3);
  const latency = {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    mean: Math.round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
  };
  const sustained = +(inWindow / opts.duration).toFixed(2);
  const totalApiCalls = sum(r.steady.apiCalls);
  // The write the change is for, and the writes it must not cause on the side it came from.
  const [ownWrites, echoWrites] = p2g ? [googleWrites, pipedriveWrites] : [pipedriveWrites, googleWrites];
  const [ownSide, otherSide] = p2g ? ['Google', 'Pipedrive'] : ['Pipedrive', 'Google'];

  const rows: [string, string, string][] = [
    ['path', opts.path, opts.path === 'webhook' ? 'emulator deliveries → our HTTP server' : 'bench sends signals'],
    ['users × activities', `${opts.users} × ${opts.activitiesPerUser}`, ''],
    ['mode', opts.mode, ''],
    ['Pipedrive companies', opts.company === 'shared' ? 'one shared by all users' : 'one per user', ''],
    ['Google quota while measuring', `${opts.googleQuota}/min per user`, ''],
    ['offered load', `${r.rate} changes/s for ${opts.duration} s (+${opts.warmup} s warm-up)`, ''],
    ['changes measured / written', `${measured.length} / ${written.length}`, ''],
    ['latency p50', `${latency.p50} ms`, p2g ? 'target ≤ 150 ms' : ''],
    ['latency p95', `${latency.p95} ms`, ''],
    ['latency p99', `${latency.p99} ms`, p2g ? 'target ≤ 1000 ms' : ''],
    ['latency max', `${latency.max} ms`, ''],
    ['latency mean', `${latency.mean} ms`, ''],
    ['sustained', `${sustained} changes/s`, `offered ${r.rate}/s`],
    ['backlog at window end', `${backlogAtEnd} changes`, ''],
    ['drain after window', `${r.drainMs} ms${r.drained ? '' : ' (timed out)'}`, ''],
    ['sender lag at end', `${r.sendLagMs} ms`, ''],
    ['unwritten / superseded', `${lost} / ${superseded}`, 'target 0 / 0'],
    ['signal errors', String(signalErrors), ''],
    [`${ownSide} writes per change`, String(perChange(ownWrites)), 'target 1'],
    [`${otherSide} (echo) writes in the run`, String(echoWrites), 'target 0'],
    ['echoes recognised in the run', String(r.steady.echoesSeen), ''],
    ['API calls per change (ours)', String(perChange(totalApiCalls)), ''],
    ['Pipedrive tokens per change', String(perChange(r.steady.pipedriveTokens)), ''],
    [
      'Pipedrive webhooks sent / delivered / failed / retried',
      ['sent', 'delivered', 'failed', 'retried'].map((k) => r.steady.webhooks[k] ?? 0).join(' / '),
      '',
    ],
    [
      'Pipedrive webhooks lost to ban / bans / exhausted',
      ['lostToBan', 'bans', 'exhausted'].map((k) => r.steady.webhooks[k] ?? 0).join(' / '),
      'target 0 / 0 / 0',
    ],
    [
      'Google pushes sent / attempts / failed / retried',
      ['sent', 'attempts', 'failed', 'retried'].map((k) => r.steady.push[k] ?? 0).join(' / '),
      '',
    ],
    ['echo phase Google writes', String(r.echo.googleWrites), 'target 0'],
    ['echo phase Pipedrive writes', String(r.echo.pipedriveWrites), 'target 0'],
    ['echo phase echoes recognised', String(r.echo.echoesSeen), ''],
    ['echo phase users not settled in 60 s', String(r.echo.unsettled), 'their echo writes may come later'],
    ['sync failures (all users)', String(r.failures), ''],
    ['rate limited (Google / Pipedrive)', `${r.steady.rateLimited.google} / ${r.steady.rateLimited.pipedrive}`, ''],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  console.log(
    p2g
      ? '\nsync latency: Pipedrive change (emulator, app side) → Google write (emulator `updated`)\n'
      : '\nsync latency: Google change (emulator `updated`) → Pipedrive write (emulator change log, ms)\n',
  );
  for (const [k, v, note] of rows) console.log(`  ${k.padEnd(w0)}  ${v.padEnd(w1)}  ${note}`);
  console.log(`\n  latency by stage (measured changes of ${Math.min(opts.users, 20)} users, from workflow histories):`);
  console.log(`    ${'stage'.padEnd(46)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)}  n`);
  for (const [k, v] of Object.entries(r.stages))
    console.log(
      `    ${k.padEnd(46)} ${String(percentile(v, 50)).padStart(7)} ${String(percentile(v, 95)).padStart(7)} ${String(percentile(v, 99)).padStart(7)}  ${v.length}`,
    );
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
  console.log(
    '\n  CPU and memory per process (first change → drained; CPU % of one core, RSS summed over the process tree):',
  );
  console.log(
    `    ${'process'.padEnd(30)} ${'pid'.padStart(8)} ${'CPU %'.padStart(7)} ${'CPU s'.padStart(8)} ${'peak RSS'.padStart(9)} ${'end RSS'.padStart(9)}  procs`,
  );
  for (const u of r.usage)
    console.log(
      `    ${u.name.padEnd(30)} ${String(u.pid).padStart(8)} ${u.cpuPercent.toFixed(1).padStart(7)} ${u.cpuSeconds.toFixed(1).padStart(8)} ${mb(u.peakRssBytes).padStart(9)} ${mb(u.endRssBytes).padStart(9)}  ${u.processes}`,
    );
  const tc = r.temporal;
  console.log(`\n  Temporal per change (users' workflow histories, all runs, same window, ${allChanges} changes):`);
  for (const [k, v] of [
    ['workflow tasks', tc.workflowTasks],
    ['workflow task failures / timeouts', tc.workflowTaskFailures],
    ['activity tasks', tc.activityTasks],
    ['activity retries (attempt > 1)', tc.activityRetries],
    ['local activities (markers)', tc.localActivities],
    ['local activity attempts failed (then regular)', tc.localActivityFailures],
    ['signals', tc.signals],
    ['updates', tc.updates],
    ['history events', tc.historyEvents],
    ['continued as new (runs)', tc.continuedAsNew],
  ] as const)
    console.log(`    ${k.padEnd(48)} ${(v / allChanges).toFixed(3)}  (${v})`);
  const sdk = r.steady.sdkLatencies;
  if (Object.keys(sdk).length) {
    console.log('  worker SDK latencies over the phase (its /metrics; mean = Δsum ÷ Δcount):');
    for (const name of SDK_LATENCIES) {
      const count = sdk[`${name}_count`] ?? 0;
      const mean = count ? Math.round((1000 * (sdk[`${name}_sum`] ?? 0)) / count) : NaN;
      console.log(`    ${name.replace(/^temporal_|_latency_seconds$/g, '').padEnd(48)} mean ${mean} ms over ${count}`);
    }
  }
  if (Object.keys(r.steady.deliveries).length) {
    console.log('  web service deliveries per change (`calendar_sync_deliveries_total`, source result):');
    for (const [k, v] of Object.entries(r.steady.deliveries).sort())
      console.log(`    ${k.padEnd(48)} ${(v / allChanges).toFixed(3)}`);
  }
  console.log(`\n  API calls per change (ours, worker /metrics, steady state, ${allChanges} changes incl. warm-up):`);
  for (const [k, v] of Object.entries(r.steady.apiCalls).sort())
    console.log(`    ${k.padEnd(48)} ${(v / allChanges).toFixed(3)}`);
  console.log('  Pipedrive emulator calls per change:');
  for (const [k, v] of Object.entries(r.steady.pipedriveCalls).sort())
    console.log(`    ${k.padEnd(48)} ${(v / allChanges).toFixed(3)}`);
  if (Object.keys(r.echo.calls).length) {
    console.log('  echo phase calls:');
    for (const [k, v] of Object.entries(r.echo.calls).sort()) console.log(`    ${k.padEnd(48)} ${v}`);
  }
  console.log(
    '\n' +
      JSON.stringify({
        bench: 'sync-latency',
        direction: r.direction,
        ...opts,
        rate: r.rate,
        changes: measured.length,
        written: written.length,
        latencyMs: latency,
        sustainedPerSec: sustained,
        backlogAtEnd,
        drainMs: r.drainMs,
        unwritten: lost,
        superseded,
        signalErrors,
        writesPerChange: perChange(ownWrites),
        echoWritesInRun: echoWrites,
        apiCallsPerChange: perChange(totalApiCalls),
        pipedriveTokensPerChange: perChange(r.steady.pipedriveTokens),
        webhooks: r.steady.webhooks,
        push: r.steady.push,
        apiCallsByRoutePerChange: Object.fromEntries(
          Object.entries(r.steady.apiCalls).map(([k, v]) => [k, +(v / allChanges).toFixed(3)]),
        ),
        echoGoogleWrites: r.echo.googleWrites,
        echoPipedriveWrites: r.echo.pipedriveWrites,
        failures: r.failures,
        rateLimited: r.steady.rateLimited,
        processes: opts.processes,
        usage: r.usage,
        temporalPerChange: Object.fromEntries(
          Object.entries(r.temporal).map(([k, v]) => [k, +(v / allChanges).toFixed(3)]),
        ),
        sdkMeanMs: Object.fromEntries(
          SDK_LATENCIES.map((n) => [
            n,
            Math.round(
              (1000 * (r.steady.sdkLatencies[`${n}_sum`] ?? 0)) / (r.steady.sdkLatencies[`${n}_count`] || NaN),
            ),
          ]),
        ),
        deliveriesPerChange: Object.fromEntries(
          Object.entries(r.steady.deliveries).map(([k, v]) => [k, +(v / allChanges).toFixed(3)]),
        ),
        stagesP50Ms: Object.fromEntries(Object.entries(r.stages).map(([k, v]) => [k, percentile(v, 50)])),
      }),
  );
}

/** Measured changes not written by the end of the window. */
function backlogAtEnd(r: PhaseResult): number {
  const measured = r.changes.filter((c) => c.measured);
  return measured.length - measured.filter((c) => c.writtenAt !== undefined && c.writtenAt <= r.windowEnd).length;
}

/** A row of figures that both paths report. */
function headline(r: PhaseResult, duration: number) {
  const measured = r.changes.filter((c) => c.measured);
  const written = measured.filter((c) => c.writtenAt !== undefined);
  const latencies = written.map((c) => c.writtenAt! - c.sentAt).sort((a, b) => a - b);
  const n = r.changes.length;
  const ownWrites = sum(r.steady.apiCalls, r.direction === 'pipedrive-to-google' ? isGoogleWrite : isPipedriveWrite);
  const worker = r.usage.find((u) => u.name === 'worker' || u.name.startsWith('driver (everything'));
  const temporal = r.usage.find((u) => u.name === 'Temporal dev server');
  return {
    'latency p50 (ms)': percentile(latencies, 50),
    'latency p99 (ms)': percentile(latencies, 99),
    'sustained (changes/s)': +(written.filter((c) => c.writtenAt! <= r.windowEnd).length / duration).toFixed(2),
    'writes per change': +(ownWrites / n).toFixed(3),
    'API calls per change': +(sum(r.steady.apiCalls) / n).toFixed(3),
    'workflow tasks per change': +(r.temporal.workflowTasks / n).toFixed(3),
    'activity tasks per change': +(r.temporal.activityTasks / n).toFixed(3),
    'local activities per change': +(r.temporal.localActivities / n).toFixed(3),
    'history events per change': +(r.temporal.historyEvents / n).toFixed(3),
    'worker CPU %': worker?.cpuPercent ?? NaN,
    'Temporal CPU %': temporal?.cpuPercent ?? NaN,
  };
}

/** `--path=both`: the webhook path's figures beside the signal path's, per direction, and their ratio. */
function compare(byPath: { path: BenchPath; results: PhaseResult[] }[], duration: number): void {
  const webhook = byPath.find((p) => p.path === 'webhook')!;
  const signal = byPath.find((p) => p.path === 'signal')!;
  for (const w of webhook.results) {
    const s = signal.results.find((x) => x.direction === w.direction);
    if (!s) continue;
    const hw = headline(w, duration);
    const hs = headline(s, duration);
    console.log(`\n${w.direction}: webhook path vs signal path (same options, a fresh stack each)\n`);
    console.log(
      `  ${''.padEnd(28)} ${'webhook'.padStart(10)} ${'signal'.padStart(10)} ${'webhook/signal'.padStart(15)}`,
    );
    for (const k of Object.keys(hw) as (keyof typeof hw)[]) {
      const ratio = hs[k] ? (hw[k] / hs[k]).toFixed(2) : '—';
      console.log(
        `  ${k.padEnd(28)} ${String(hw[k]).padStart(10)} ${String(hs[k]).padStart(10)} ${ratio.padStart(15)}`,
      );
    }
    console.log(
      '\n' + JSON.stringify({ bench: 'sync-latency-compare', direction: w.direction, webhook: hw, signal: hs }),
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
