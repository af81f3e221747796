/**
 * "Upload unsynced activities" throughput on the real stack: a Temporal dev server, a Postgres, both API emulators
 * and a worker wired like production (`testing/sync-harness.ts`).
 *
 *   npm run bench:backfill                                   # 10,000 activities: raised quota, then 600/min
 *   npm run bench:backfill -- --activities=2000 --phases=default --quota=600 --raised-quota=100000
 *   (or BENCH_ACTIVITIES, BENCH_PHASES, BENCH_QUOTA, BENCH_RAISED_QUOTA)
 *
 * Each phase connects a fresh user, creates N activities in Pipedrive (as the user would in the app: no webhook
 * reaches the sync), sets the Google emulator's per-user quota, presses "upload unsynced" with that quota, and
 * waits for the upload's report. Phases: `raised` (quota far above what we can do: shows our own ceiling) and
 * `default` (Google's real 600 requests/min/user: shows how close to the quota the pacing gets; ~17 min for 10,000).
 *
 * Reported per phase, from server-side evidence (the emulators' stats and stored events):
 * - events/min over the whole upload (press → report) and sustained (first → last event `created` stamp), and
 *   their ratio to the quota;
 * - Google requests the user made and the rate-limit answers Google sent;
 * - Pipedrive tokens spent (the company's budget counter);
 * - duplicates: activities with more than one event (must be 0), and activities left without one.
 */
import { startStandaloneHarness } from '../testing/standalone-harness.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { readEventLinkProperties } from '../sync-rules/event-properties.js';
import { benchArgs } from './args.js';
import { type Harness } from '../testing/sync-harness.js';

type Phase = 'raised' | 'default';

interface Options {
  activities: number;
  phases: Phase[];
  quota: number;
  raisedQuota: number;
}

function options(): Options {
  const { get, int: num } = benchArgs();
  const phases = get('phases', 'raised,default')
    .split(',')
    .map((p) => p.trim());
  for (const p of phases) if (p !== 'raised' && p !== 'default') throw new Error('--phases: raised and/or default');
  return {
    activities: num('activities', 10_000),
    phases: phases as Phase[],
    quota: num('quota', 600),
    raisedQuota: num('raised-quota', 100_000),
  };
}

type Log = (msg: string) => void;

interface PhaseResult {
  phase: Phase;
  quota: number;
  activities: number;
  seconds: number;
  eventsPerMinute: number;
  sustainedPerMinute: number;
  googleRequests: number;
  rateLimited: number;
  pipedriveTokens: number;
  duplicates: number;
  missing: number;
  report: unknown;
}

async function runPhase(h: Harness, phase: Phase, opts: Options, log: Log): Promise<PhaseResult> {
  const quota = phase === 'raised' ? opts.raisedQuota : opts.quota;
  // Set-up with a high quota (connecting takes a baseline); the measured upload runs under `quota`.
  h.google.control.setQuota(1_000_000);
  const user = await h.connectUser();
  const t = Date.now();
  const ids = new Set<number>();
  for (let i = 0; i < opts.activities; i++) {
    const day = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: `Backfill ${i}`,
      type: 'call',
      due_date: day,
      due_time: `${String(8 + (i % 9)).padStart(2, '0')}:00`,
      duration: '00:30',
    }) as { id: number };
    ids.add(a.id);
  }
  log(`[${phase}] ${opts.activities} activities created in ${Date.now() - t} ms; quota ${quota}/min`);

  h.google.control.setQuota(quota);
  const googleBefore = h.google.control.stats();
  const tokensBefore = h.pipedrive.control.stats().tokensSpent[h.companyId] ?? 0;
  const pipedriveCallsBefore = { ...h.pipedrive.control.stats().apiCalls };
  const started = Date.now();
  const workflowId = await h.sync.uploadUnsynced(user.connectionId, { quotaPerMinute: quota });
  log(`[${phase}] upload started: ${workflowId}`);
  let report: NonNullable<Awaited<ReturnType<typeof h.sync.status>>['upload']>;
  for (;;) {
    await new Promise((r) => setTimeout(r, phase === 'raised' ? 1000 : 15_000));
    const status = await h.sync.status(user.connectionId);
    const p = await h.sync.uploadProgress(user.connectionId);
    if (p) {
      log(
        `[${phase}] ${p.state} ${p.done}/${p.total} done, ${p.skipped} skipped, ${p.failed} failed, ` +
          `${p.eventsPerMinute}/min, target ${p.targetPerMinute}/min, rate-limited ${p.rateLimited}, ` +
          `eta ${p.estimatedSecondsLeft ?? '?'} s`,
      );
    }
    if (status.upload && status.upload.state !== 'running') {
      report = status.upload;
      break;
    }
  }
  // Press → the parent's record of the report (the polling above only decides when to look).
  const seconds = report.finishedAt ? (Date.parse(report.finishedAt) - started) / 1000 : (Date.now() - started) / 1000;
  const googleAfter = h.google.control.stats();
  const tokensAfter = h.pipedrive.control.stats().tokensSpent[h.companyId] ?? 0;
  // Which Pipedrive calls the tokens went to (the upload's list pages, and whatever the live sync did meanwhile).
  const pipedriveCalls = Object.fromEntries(
    Object.entries(h.pipedrive.control.stats().apiCalls)
      .map(([route, n]) => [route, n - (pipedriveCallsBefore[route] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  log(`[${phase}] Pipedrive calls during the upload: ${JSON.stringify(pipedriveCalls)}`);

  const events = h.google.control.listEvents(user.email, user.calendarId);
  const perActivity = new Map<number, number>();
  const created: number[] = [];
  for (const e of events) {
    const id = readEventLinkProperties(e)?.activityId;
    if (id === undefined) continue;
    perActivity.set(id, (perActivity.get(id) ?? 0) + 1);
    if (e.created) created.push(Date.parse(e.created));
  }
  created.sort((a, b) => a - b);
  const duplicates = [...perActivity.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  const missing = [...ids].filter((id) => !perActivity.has(id)).length;
  const span = created.length > 1 ? (created[created.length - 1]! - created[0]!) / 60_000 : 0;
  const done = report.counts?.done ?? 0;
  return {
    phase,
    quota,
    activities: opts.activities,
    seconds: Math.round(seconds),
    eventsPerMinute: Math.round(done / (seconds / 60)),
    sustainedPerMinute: span > 0 ? Math.round((created.length - 1) / span) : 0,
    googleRequests: (googleAfter.requests.byUser[user.email] ?? 0) - (googleBefore.requests.byUser[user.email] ?? 0),
    rateLimited: googleAfter.rateLimited - googleBefore.rateLimited,
    pipedriveTokens: tokensAfter - tokensBefore,
    duplicates,
    missing,
    report,
  };
}

async function main(): Promise<void> {
  const opts = options();
  const log: Log = (msg) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
  log(`options ${JSON.stringify(opts)}`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const results: PhaseResult[] = [];
  const { h, stop } = await startStandaloneHarness('bench-backfill', { googleQuotaPerMinute: 1_000_000 }, log);
  try {
    h.pipedrive.control.setRateLimits({ dailyTokenBudget: 100_000_000 });
    for (const phase of opts.phases) {
      const r = await runPhase(h, phase, opts, log);
      results.push(r);
      printResult(r);
    }
  } finally {
    log('cleaning up');
    await stop();
  }
  console.log('\n== backfill summary ==');
  console.log(
    'phase    quota/min  activities  seconds  events/min  sustained/min  ratio  google-req  rate-errors  pd-tokens  duplicates  missing',
  );
  for (const r of results) {
    console.log(
      [
        r.phase.padEnd(8),
        String(r.quota).padStart(9),
        String(r.activities).padStart(11),
        String(r.seconds).padStart(8),
        String(r.eventsPerMinute).padStart(11),
        String(r.sustainedPerMinute).padStart(14),
        (r.sustainedPerMinute / r.quota).toFixed(3).padStart(6),
        String(r.googleRequests).padStart(11),
        String(r.rateLimited).padStart(12),
        String(r.pipedriveTokens).padStart(10),
        String(r.duplicates).padStart(11),
        String(r.missing).padStart(8),
      ].join(' '),
    );
  }
}

function printResult(r: PhaseResult): void {
  console.log(
    `\n[${r.phase}] quota ${r.quota}/min: ${r.activities} activities in ${r.seconds} s — ` +
      `${r.eventsPerMinute} events/min overall (${(r.eventsPerMinute / r.quota).toFixed(3)} of quota), ` +
      `${r.sustainedPerMinute} events/min sustained (${(r.sustainedPerMinute / r.quota).toFixed(3)} of quota); ` +
      `${r.googleRequests} Google requests, ${r.rateLimited} rate errors, ${r.pipedriveTokens} Pipedrive tokens, ` +
      `${r.duplicates} duplicates, ${r.missing} missing\n  report: ${JSON.stringify(r.report)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
