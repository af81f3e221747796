/**
 * Many connected users on ONE worker: what they cost while nobody changes anything, and the latency of a background
 * of changes over all of them. The stack is the deployed shape (`bench/process-stack.ts`): the production worker
 * and web service in processes of their own, the emulators and the load in this one, Temporal's dev server and a
 * throwaway Postgres.
 *
 *   npm run bench:scale -- --users=10000 --idle=600 --rate=20 --duration=60
 *   (or BENCH_USERS, BENCH_IDLE, BENCH_RATE, BENCH_DURATION, BENCH_CONCURRENCY, BENCH_SETTLE_TIMEOUT)
 *
 * 1. Set-up: each user is created directly in the emulators (a Pipedrive company and user, a Google account) and in
 *    our store (connection row, encrypted credentials: no OAuth round trip), then enabled through the same update
 *    the settings page sends (`configure`), `--concurrency` at a time. The workflow then registers the user's
 *    Pipedrive webhooks and Google channel against the web service, as in production. Set-up ends when every
 *    webhook and channel exists and the worker has run no activity for 10 s.
 * 2. Idle: `--idle` seconds in which nothing changes. Only the safety net and the feeds' upkeep run. Measured: the
 *    worker's workflow tasks and activity executions (its SDK and sync metrics), API calls (its
 *    `calendar_sync_api_requests_total`), Pipedrive tokens (the emulator's accounting, per company = per user), CPU
 *    and RSS of every process.
 * 3. Background: `--rate` changes per second for `--duration` seconds, each a new activity created in Pipedrive for
 *    the next user of a fixed shuffle (so consecutive changes hit different users). The webhook brings it to the
 *    workflow, which inserts the Google event. Latency = creation (`Date.now()` right before) → the event's `created`
 *    stamp in the Google emulator (ms, same clock). Exactly one Google write per change and no Pipedrive write
 *    (echo) are checked from the worker's API counters.
 */
import os from 'node:os';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { saveSettings } from '../../adapters/store/connections.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { DEFAULT_SETTINGS } from '../../sync-rules/settings.js';
import { calendarSync } from '../../workflows/calendar-sync.js';
import { workflowIdFor } from '../../workflows/names.js';
import { CONNECTION_ID, SYNC_STATE } from '../../workflows/search-attributes.js';
import { DEFAULT_SAFETY_NET_BOUND_SECONDS, safetyNetQuery, type SafetyNetView } from '../../workflows/safety-net.js';
import { benchArgs } from '../args.js';
import {
  countersOf,
  SDK_LATENCIES,
  startProcessStack,
  storeBenchUser,
  type BenchStack,
  type StoredBenchUser,
} from '../process-stack.js';
import { startUsageSampler, type Usage } from '../proc-usage.js';

interface Options {
  users: number;
  idle: number;
  rate: number;
  duration: number;
  concurrency: number;
  /** How users are switched on: `stored` (settings saved, workflow started) or `configure` (the settings update). */
  enable: 'stored' | 'configure';
  /** Seconds the set-up may take to settle after the last user was enabled. */
  settleTimeout: number;
  drainTimeout: number;
}

function options(): Options {
  const { num, int, get } = benchArgs();
  return {
    users: int('users', 10_000),
    idle: num('idle', 300),
    rate: num('rate', 20),
    duration: num('duration', 60),
    concurrency: int('concurrency', 200),
    enable: enableMode(get('enable', 'stored')),
    settleTimeout: num('settle-timeout', 1800),
    drainTimeout: num('drain-timeout', 120),
  };
}

function enableMode(v: string): Options['enable'] {
  if (v === 'stored' || v === 'configure') return v;
  throw new Error(`--enable must be "stored" or "configure", got "${v}"`);
}

type ScaleUser = StoredBenchUser;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function inBatches<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sum = (r: Record<string, number>, pred: (k: string) => boolean = () => true) =>
  Object.entries(r).reduce((n, [k, v]) => (pred(k) ? n + v : n), 0);
const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );

/** The worker's counters that matter here, from one scrape of its `/metrics`. */
async function workerCounters(h: BenchStack) {
  const text = await h.workerMetrics!();
  const one = (name: string) => countersOf(text, name, [])[''] ?? scalar(text, name);
  return {
    apiCalls: countersOf(text, 'calendar_sync_api_requests_total', ['service', 'operation', 'status']),
    activities: countersOf(text, 'calendar_sync_activity_executions_total', ['activity', 'outcome']),
    safetyNetPasses: sum(countersOf(text, 'calendar_sync_safety_net_passes_total', ['side'])),
    workflowTasks: one('temporal_workflow_task_execution_latency_seconds_count'),
    activityTasks: one('temporal_activity_execution_latency_seconds_count'),
    stickyCacheSize: scalar(text, 'temporal_sticky_cache_size'),
    cacheEvictions: one('temporal_sticky_cache_total_forced_eviction_total'),
    // Where the worker's memory is: V8's heap (workflow state, the sandbox) or outside it (the SDK's core).
    memory: {
      rss: scalar(text, 'process_resident_memory_bytes'),
      heapUsed: scalar(text, 'nodejs_heap_size_used_bytes'),
      heapTotal: scalar(text, 'nodejs_heap_size_total_bytes'),
      external: scalar(text, 'nodejs_external_memory_bytes'),
    },
  };
}

/** A series without labels (`name 12`), or the sum over its labelled series. */
function scalar(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(/\s+/).at(-1));
  }
  return total;
}

const isGoogleWrite = (k: string) => /^google events\.(insert|update|patch|delete|import|move) /.test(k);
const isPipedriveWrite = (k: string) => /^pipedrive (POST|PATCH|PUT|DELETE) \/api\/v2\/activities/.test(k);

const tokensSpent = (h: BenchStack) => sum(h.pipedrive.control.stats().tokensSpent as Record<string, number>);

async function main(): Promise<void> {
  const opts = options();
  let stopping: Promise<void> | undefined;
  log(`options ${JSON.stringify(opts)}`);
  const phaseTimes: Record<string, number> = {};
  const t = Date.now();
  const h = await startProcessStack({
    name: 'bench-scale',
    feeds: true,
    googleQuotaPerMinute: 100_000,
    eagerActivities: true,
    log,
  });
  phaseTimes['stack start'] = Date.now() - t;
  // Interrupted (Ctrl-C, a timeout): the worker, web service, Temporal and Postgres it started go with it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      log(`${signal}: stopping the stack`);
      stopping ??= h.close().finally(() => process.exit(130));
    });
  try {
    h.pipedrive.control.setRateLimits({ dailyTokenBudget: 100_000_000 });
    const users = await setUp(h, opts, phaseTimes);
    const idle = await idlePhase(h, opts, users, phaseTimes);
    const background = await backgroundPhase(h, opts, users, phaseTimes);
    report(opts, users.length, idle, background, phaseTimes);
  } finally {
    log('cleaning up');
    await h.close();
  }
}

/** A progress line every 10 s: done so far, rate over the last interval and overall, and the time left at that rate. */
function startProgress(label: string, total: number, done: () => number): () => void {
  const start = Date.now();
  let last = { at: start, n: 0 };
  const timer = setInterval(() => {
    const now = Date.now();
    const n = done();
    const recent = ((n - last.n) / (now - last.at)) * 1000;
    const overall = (n / (now - start)) * 1000;
    const eta = overall > 0 ? (total - n) / overall : NaN;
    log(
      `${label} ${n}/${total}: ${recent.toFixed(1)}/s now, ${overall.toFixed(1)}/s overall, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'}`,
    );
    last = { at: now, n };
  }, 10_000);
  return () => clearInterval(timer);
}

async function setUp(h: BenchStack, opts: Options, phaseTimes: Record<string, number>): Promise<ScaleUser[]> {
  let t = Date.now();
  let created = 0;
  const stopCreated = startProgress('created', opts.users, () => created);
  const users = await inBatches(
    Array.from({ length: opts.users }, (_, i) => i),
    opts.concurrency,
    async () => {
      const u = await storeBenchUser(h);
      created++;
      return u;
    },
  ).finally(stopCreated);
  phaseTimes['users created (emulators + store)'] = Date.now() - t;
  log(`created ${users.length} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // Enabling, either way, leaves each user as the product does: settings saved, the workflow running, four
  // webhooks and a channel registered by the workflow against the web service. `--enable=stored` (the default)
  // saves the settings through the store and starts the workflows, as a restart or a webhook starts one: the
  // workflow reads the saved settings and sets up its feeds; the calendar's baseline is then taken by the first
  // safety-net pass (an empty calendar either way). It skips only the update's round trip (an activity and a
  // workflow task per user before the driver may go on). `--enable=configure` sends the settings page's update.
  t = Date.now();
  let done = 0;
  const stopEnabled = startProgress('enabled', users.length, () => done);
  const enable = async (u: ScaleUser) => {
    const settings = { ...DEFAULT_SETTINGS, enabled: true, calendarId: u.calendarId };
    if (opts.enable === 'configure') return void (await h.sync.configure(u.connectionId, settings));
    await saveSettings(h.db, u.connectionId, settings);
    await h.client.workflow.start(calendarSync, {
      workflowId: workflowIdFor(u.connectionId),
      taskQueue: h.sync.taskQueue,
      args: [{ connectionId: u.connectionId }],
      typedSearchAttributes: [
        { key: CONNECTION_ID, value: u.connectionId },
        { key: SYNC_STATE, value: 'idle' },
      ],
    });
  };
  try {
    await inBatches(users, opts.concurrency, async (u) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await enable(u);
          break;
        } catch (err) {
          // A loaded dev server can time an update out; configure is idempotent (same settings again), and a
          // start that did go through is "already started".
          if (err instanceof WorkflowExecutionAlreadyStartedError) break;
          if (attempt >= 5) throw err;
          await sleep(1000 * attempt);
        }
      }
      done++;
    });
  } finally {
    stopEnabled();
  }
  phaseTimes['users enabled (configure, workflows started)'] = Date.now() - t;
  log(`enabled ${users.length} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // Settled: every user's four webhooks and one live channel registered and every calendar's baseline taken (the
  // worker's own counters), then a sample of workflows with nothing queued and nothing running. Asking all of
  // them would replay every workflow the cache no longer holds: that is the bench measuring itself.
  t = Date.now();
  const deadline = t + opts.settleTimeout * 1000;
  const pulls = async () => {
    const a = countersOf(await h.workerMetrics!(), 'calendar_sync_activity_executions_total', ['activity', 'outcome']);
    return a['pullGoogle completed'] ?? 0;
  };
  for (let round = 0; ; round++) {
    const hooks = h.pipedrive.control.listWebhooks().length;
    const channels = h.google.control.listChannels().filter((c) => !c.stopped).length;
    const baselines = await pulls();
    const baselinesDue = opts.enable === 'configure' ? users.length : 0;
    if (hooks >= 4 * users.length && channels >= users.length && baselines >= baselinesDue) break;
    if (Date.now() > deadline)
      throw new Error(
        `set-up did not settle in ${opts.settleTimeout} s: ${hooks} webhooks, ${channels} channels, ${baselines} baselines`,
      );
    if (round % 5 === 0)
      log(
        `settling: ${hooks}/${4 * users.length} webhooks, ${channels}/${users.length} channels, ${baselines}/${users.length} baselines`,
      );
    await sleep(2_000);
  }
  const sample = users.filter((_, i) => i % Math.max(1, Math.floor(users.length / 100)) === 0);
  await inBatches(sample, 10, async (u) => {
    for (;;) {
      const s = await h.sync.status(u.connectionId);
      if (s.queued === 0 && s.state !== 'syncing') break;
      if (Date.now() > deadline) throw new Error(`${u.connectionId} did not settle in ${opts.settleTimeout} s`);
      await sleep(500);
    }
  });
  phaseTimes['feeds registered, every workflow settled'] = Date.now() - t;
  log(`settled in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return users;
}

interface IdleResult {
  seconds: number;
  usage: Usage[];
  workflowTasks: number;
  activityTasks: number;
  activities: Record<string, number>;
  apiCalls: Record<string, number>;
  tokens: number;
  passes: number;
  intervals: Record<string, number>;
  stickyCacheSize: number;
  cacheEvictions: number;
  memory: WorkerMemory;
  /** The machine's 1, 5 and 15 minute load averages at the end of the phase (2 cores: above 2 is queueing). */
  loadAverage: number[];
}

type WorkerMemory = Awaited<ReturnType<typeof workerCounters>>['memory'];

async function idlePhase(
  h: BenchStack,
  opts: Options,
  users: ScaleUser[],
  phaseTimes: Record<string, number>,
): Promise<IdleResult> {
  log(`idle for ${opts.idle} s: nothing changes`);
  const t = Date.now();
  const before = await workerCounters(h);
  const tokensBefore = tokensSpent(h);
  const sampler = startUsageSampler(h.processes);
  await sleep(opts.idle * 1000);
  const usage = sampler.stop();
  const after = await workerCounters(h);
  const tokens = tokensSpent(h) - tokensBefore;
  const seconds = (Date.now() - t) / 1000;
  phaseTimes['idle window'] = Date.now() - t;
  // The safety-net interval in force, from a sample of users' workflows.
  const sample = users.filter((_, i) => i % Math.max(1, Math.floor(users.length / 50)) === 0);
  const views = await inBatches(sample, 10, (u) =>
    h.client.workflow
      .getHandle(workflowIdFor(u.connectionId))
      .query(safetyNetQuery)
      .catch(() => null as SafetyNetView | null),
  );
  const intervals: Record<string, number> = {};
  for (const v of views) {
    const key = v ? `${v.intervalSeconds} s` : 'fixed (no adaptive schedule)';
    intervals[key] = (intervals[key] ?? 0) + 1;
  }
  return {
    seconds,
    usage,
    workflowTasks: after.workflowTasks - before.workflowTasks,
    activityTasks: after.activityTasks - before.activityTasks,
    activities: diff(after.activities, before.activities),
    apiCalls: diff(after.apiCalls, before.apiCalls),
    tokens,
    passes: after.safetyNetPasses - before.safetyNetPasses,
    intervals,
    stickyCacheSize: after.stickyCacheSize,
    cacheEvictions: after.cacheEvictions - before.cacheEvictions,
    memory: after.memory,
    loadAverage: os.loadavg(),
  };
}

interface Change {
  user: ScaleUser;
  activityId: number;
  sentAt: number;
  writtenAt?: number;
}

interface BackgroundResult {
  changes: Change[];
  usage: Usage[];
  apiCalls: Record<string, number>;
  drainMs: number;
  /** Mean milliseconds of each task stage in the worker over the window (the SDK's histograms). */
  stages: Record<string, number>;
  memory: WorkerMemory;
  loadAverage: number[];
  cacheEvictions: number;
  workflowTasks: number;
  activityTasks: number;
}

async function backgroundPhase(
  h: BenchStack,
  opts: Options,
  users: ScaleUser[],
  phaseTimes: Record<string, number>,
): Promise<BackgroundResult> {
  const total = Math.round(opts.rate * opts.duration);
  log(`background: ${total} changes at ${opts.rate}/s over ${users.length} users`);
  // A fixed shuffle (seeded LCG): consecutive changes go to different users, spread over all of them.
  const order = users.map((_, i) => i);
  let seed = 12345;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const before = await workerCounters(h);
  const sdkBefore = await h.sdkLatencies();
  const sampler = startUsageSampler(h.processes);
  const changes: Change[] = [];
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    await sleep(start + (i / opts.rate) * 1000 - Date.now());
    const user = users[order[i % order.length]!]!;
    const sentAt = Date.now();
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: `Scale change ${i}`,
      type: 'call',
      due_date: '2027-03-01',
      due_time: `${String(8 + (i % 10)).padStart(2, '0')}:00`,
      duration: '00:30',
    }) as { id: number };
    changes.push({ user, activityId: a.id, sentAt });
  }
  const windowEnd = Date.now();
  const observe = (c: Change) => {
    if (c.writtenAt !== undefined) return;
    try {
      const { event } = h.google.control.inspectEvent(
        c.user.email,
        c.user.calendarId,
        eventIdFor(c.user.connectionId, c.activityId),
      );
      c.writtenAt = Date.parse(event.created ?? event.updated);
    } catch {
      // not written yet
    }
  };
  const deadline = Date.now() + opts.drainTimeout * 1000;
  for (;;) {
    changes.forEach(observe);
    if (changes.every((c) => c.writtenAt !== undefined) || Date.now() > deadline) break;
    await sleep(500);
  }
  // Echoes (the push of each insert, the pull that recognises it) come after the write: let them finish.
  await sleep(5_000);
  const drainMs = Date.now() - windowEnd;
  const usage = sampler.stop();
  const after = await workerCounters(h);
  const sdkAfter = await h.sdkLatencies();
  // Mean per stage over the window, as the worker saw it: where a change's time goes.
  const stages: Record<string, number> = {};
  for (const name of SDK_LATENCIES) {
    const count = (sdkAfter[`${name}_count`] ?? 0) - (sdkBefore[`${name}_count`] ?? 0);
    const total = (sdkAfter[`${name}_sum`] ?? 0) - (sdkBefore[`${name}_sum`] ?? 0);
    stages[name.replace(/^temporal_/, '').replace(/_latency_seconds$/, '')] = count
      ? Math.round((total / count) * 1000)
      : NaN;
  }
  // Observed after the counters were read: every write they count has its event by now, so more writes than
  // written changes can only be duplicates.
  changes.forEach(observe);
  phaseTimes['background window + drain'] = Date.now() - start;
  return {
    changes,
    usage,
    apiCalls: diff(after.apiCalls, before.apiCalls),
    drainMs,
    stages,
    memory: after.memory,
    loadAverage: os.loadavg(),
    cacheEvictions: after.cacheEvictions - before.cacheEvictions,
    workflowTasks: after.workflowTasks - before.workflowTasks,
    activityTasks: after.activityTasks - before.activityTasks,
  };
}

function report(
  opts: Options,
  n: number,
  idle: IdleResult,
  bg: BackgroundResult,
  phaseTimes: Record<string, number>,
): void {
  const perUserHour = (x: number) => +((x / n) * (3600 / idle.seconds)).toFixed(3);
  const tokensPerUserDay = (idle.tokens / n) * (86400 / idle.seconds);
  const tokensPerPass = idle.passes ? idle.tokens / idle.passes : NaN;
  const boundPassesPerDay = 86400 / DEFAULT_SAFETY_NET_BOUND_SECONDS;
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
  const byName = (u: Usage[], name: string) => u.find((x) => x.name === name);
  const latencies = bg.changes
    .filter((c) => c.writtenAt !== undefined)
    .map((c) => c.writtenAt! - c.sentAt)
    .sort((a, b) => a - b);
  const unwritten = bg.changes.filter((c) => c.writtenAt === undefined).length;
  const googleWrites = sum(bg.apiCalls, isGoogleWrite);
  const pipedriveWrites = sum(bg.apiCalls, isPipedriveWrite);
  const workerPeak = Math.max(
    byName(idle.usage, 'worker')?.peakRssBytes ?? 0,
    byName(bg.usage, 'worker')?.peakRssBytes ?? 0,
  );

  console.log(`\nscale: ${n} connected users on one worker (two-way, webhooks and push channels to the web service)\n`);
  console.log('  phase times:');
  for (const [k, v] of Object.entries(phaseTimes)) console.log(`    ${k.padEnd(48)} ${(v / 1000).toFixed(1)} s`);

  const rows: [string, string, string][] = [
    ['idle window', `${idle.seconds.toFixed(0)} s`, ''],
    [
      'safety-net interval in force (sample of users)',
      Object.entries(idle.intervals)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
      `base 300 s, bound ${DEFAULT_SAFETY_NET_BOUND_SECONDS} s`,
    ],
    ['safety-net passes in the window', String(idle.passes), `${perUserHour(idle.passes)} per user per hour`],
    ['workflow tasks per user per hour (idle)', String(perUserHour(idle.workflowTasks)), ''],
    ['activity tasks per user per hour (idle)', String(perUserHour(idle.activityTasks)), ''],
    ['API calls per user per hour (idle)', String(perUserHour(sum(idle.apiCalls))), ''],
    [
      'Pipedrive tokens per user per day (idle)',
      tokensPerUserDay.toFixed(0),
      'target ≤ 500; extrapolated from the window',
    ],
    [
      'Pipedrive tokens per pass / at the bound per day',
      `${tokensPerPass.toFixed(1)} / ${(tokensPerPass * boundPassesPerDay).toFixed(0)}`,
      `${boundPassesPerDay} passes a day at the bound (+20 per webhook check, at most daily)`,
    ],
    ['worker sticky cache size / forced evictions (idle)', `${idle.stickyCacheSize} / ${idle.cacheEvictions}`, ''],
    ['background', `${bg.changes.length} changes at ${opts.rate}/s over ${n} users`, ''],
    ['latency p50', `${percentile(latencies, 50)} ms`, ''],
    ['latency p99', `${percentile(latencies, 99)} ms`, 'target ≤ 1000 ms'],
    ['latency max', `${latencies.at(-1) ?? NaN} ms`, ''],
    ['unwritten after drain', String(unwritten), 'target 0'],
    [
      'Google writes per written change',
      `${(googleWrites / Math.max(1, bg.changes.length - unwritten)).toFixed(3)} (${googleWrites} / ${bg.changes.length - unwritten})`,
      'target 1',
    ],
    ['Pipedrive (echo) writes', String(pipedriveWrites), 'target 0'],
    ['worker peak RSS', mb(workerPeak), 'target ≤ 2 GB'],
    ...(['idle', 'background'] as const).map((phase): [string, string, string] => {
      const m = (phase === 'idle' ? idle : bg).memory;
      return [
        `worker memory at the end of ${phase}`,
        `RSS ${mb(m.rss)}, V8 heap ${mb(m.heapUsed)} used of ${mb(m.heapTotal)}, external ${mb(m.external)}`,
        'outside the heap: the SDK core, buffers',
      ];
    }),
    [
      'load average 1/5/15 min (end of idle / background)',
      `${idle.loadAverage.map((x) => x.toFixed(1)).join('/')} / ${bg.loadAverage.map((x) => x.toFixed(1)).join('/')}`,
      'the machine, 2 cores',
    ],
    ['worker forced cache evictions (background)', String(bg.cacheEvictions), 'each one a replay at the next task'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log('');
  for (const [k, v, note] of rows) console.log(`  ${k.padEnd(w0)}  ${v.padEnd(w1)}  ${note}`);

  for (const [label, usage] of [
    ['idle', idle.usage],
    ['background', bg.usage],
  ] as const) {
    console.log(`\n  CPU and memory per process (${label}; CPU % of one core):`);
    console.log(
      `    ${'process'.padEnd(30)} ${'CPU %'.padStart(7)} ${'CPU s'.padStart(8)} ${'peak RSS'.padStart(9)} ${'end RSS'.padStart(9)}`,
    );
    for (const u of usage)
      console.log(
        `    ${u.name.padEnd(30)} ${u.cpuPercent.toFixed(1).padStart(7)} ${u.cpuSeconds.toFixed(1).padStart(8)} ${mb(u.peakRssBytes).padStart(9)} ${mb(u.endRssBytes).padStart(9)}`,
      );
  }
  console.log('\n  background: mean per task stage, as the worker saw it (ms):');
  // A stage with no task (e.g. no regular activity ran: every step was local) has no mean.
  for (const [k, v] of Object.entries(bg.stages))
    console.log(`    ${k.padEnd(48)} ${Number.isNaN(v) ? '— (no task)' : v}`);
  console.log('\n  idle activity executions (worker, activity outcome):');
  for (const [k, v] of Object.entries(idle.activities).sort()) console.log(`    ${k.padEnd(48)} ${v}`);
  console.log('  idle API calls (worker, service operation status):');
  for (const [k, v] of Object.entries(idle.apiCalls).sort()) console.log(`    ${k.padEnd(48)} ${v}`);
  console.log('  background API calls:');
  for (const [k, v] of Object.entries(bg.apiCalls).sort()) console.log(`    ${k.padEnd(48)} ${v}`);
  console.log(
    '\n' +
      JSON.stringify({
        bench: 'scale',
        ...opts,
        phaseTimesMs: phaseTimes,
        idle: {
          seconds: idle.seconds,
          intervals: idle.intervals,
          passes: idle.passes,
          workerMemory: idle.memory,
          stickyCacheSize: idle.stickyCacheSize,
          cacheEvictions: idle.cacheEvictions,
          workflowTasksPerUserHour: perUserHour(idle.workflowTasks),
          activityTasksPerUserHour: perUserHour(idle.activityTasks),
          apiCallsPerUserHour: perUserHour(sum(idle.apiCalls)),
          pipedriveTokensPerUserDay: +tokensPerUserDay.toFixed(1),
          pipedriveTokensPerPass: +tokensPerPass.toFixed(2),
          usage: idle.usage,
        },
        background: {
          changes: bg.changes.length,
          latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
          unwritten,
          googleWritesPerWrittenChange: +(googleWrites / Math.max(1, bg.changes.length - unwritten)).toFixed(3),
          pipedriveEchoWrites: pipedriveWrites,
          workflowTasks: bg.workflowTasks,
          activityTasks: bg.activityTasks,
          workerMemory: bg.memory,
          stagesMeanMs: bg.stages,
          cacheEvictions: bg.cacheEvictions,
          usage: bg.usage,
        },
        workerPeakRssBytes: workerPeak,
        workerMaxCachedWorkflows: process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'SDK default',
        loadAverage: { idle: idle.loadAverage, background: bg.loadAverage },
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
