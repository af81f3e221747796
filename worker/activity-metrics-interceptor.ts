/**
 * Counts what the sync does from one place, without touching activity code: a Temporal activity inbound
 * interceptor sees every activity's type, result and failure. From them it records executions by outcome,
 * the changes synced (the outcomes the sync activities return), the Pipedrive safety net's passes and
 * findings, rate-limit waits (the delay a rate-limited failure asks Temporal to wait), and the end-to-end
 * latency of each written change, from the source modification times the activity's own API reads showed
 * (collected per execution through AsyncLocalStorage from the transports' hook, `lib/metrics.ts`). An event
 * imported from Google is reported under the id of the activity it became, which no read showed: its source
 * time is the event's `updated` that the link row keeps (`SourceTimeLookup`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  Next,
} from '@temporalio/worker';
import {
  activityDuration,
  activityExecutions,
  changeLatency,
  changesSynced,
  onApiCall,
  rateLimitWaits,
  safetyNetFound,
  safetyNetPasses,
} from '../lib/metrics.js';
import { isWrite, outcomesOf, sourceKey, sourceTimes } from './sync-metrics.js';

/** Source modification times read by the activity execution in progress. */
const reads = new AsyncLocalStorage<Map<string, number>>();
let listening = false;

function listenToApiCalls(): void {
  if (listening) return;
  listening = true;
  onApiCall((call) => {
    const scope = reads.getStore();
    if (!scope) return;
    for (const [key, at] of sourceTimes(call)) scope.set(key, at);
  });
}

/** The Google `updated` times (ms) links keep for activities, for changes no read of the activity showed. */
export type SourceTimeLookup = (connectionId: string, activityIds: number[]) => Promise<Map<number, number>>;

class ActivityMetrics implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly activityType: string,
    private readonly lookup?: SourceTimeLookup,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const started = performance.now();
    const scope = new Map<string, number>();
    try {
      const result = await reads.run(scope, () => next(input));
      const now = Date.now();
      activityExecutions.inc({ activity: this.activityType, outcome: 'completed' });
      await this.fillSourceTimes(input.args[0], result, scope);
      recordResult(this.activityType, result, scope, now);
      return result;
    } catch (err) {
      activityExecutions.inc({
        activity: this.activityType,
        outcome: err instanceof CancelledFailure ? 'cancelled' : 'failed',
      });
      recordRateLimit(err);
      throw err;
    } finally {
      activityDuration.observe({ activity: this.activityType }, (performance.now() - started) / 1000);
    }
  }

  /** Google → Pipedrive writes of activities no read showed (just created from an event): ask the links, once. */
  private async fillSourceTimes(connectionId: unknown, result: unknown, scope: Map<string, number>): Promise<void> {
    if (!this.lookup || typeof connectionId !== 'string') return;
    const missing = new Map<number, string>();
    for (const o of outcomesOf(result)) {
      const key = sourceKey(o.direction, o.subject);
      const activityId = /^activity:(\d+)$/.exec(o.subject)?.[1];
      if (o.direction === 'google-to-pipedrive' && isWrite(o) && !scope.has(key) && activityId) {
        missing.set(Number(activityId), key);
      }
    }
    if (missing.size === 0) return;
    try {
      const times = await this.lookup(connectionId, [...missing.keys()]);
      for (const [activityId, at] of times) scope.set(missing.get(activityId)!, at);
    } catch {
      // A metric is never worth failing a sync step for.
    }
  }
}

export function recordResult(activityType: string, result: unknown, scope: Map<string, number>, now: number): void {
  for (const outcome of outcomesOf(result)) {
    changesSynced.inc({ direction: outcome.direction, result: outcome.result });
    const source = scope.get(sourceKey(outcome.direction, outcome.subject));
    if (isWrite(outcome) && source !== undefined) {
      changeLatency.observe({ direction: outcome.direction }, Math.max(0, now - source) / 1000);
    }
  }
  if (activityType === 'pullGoogle') {
    const failures = (result as { failures?: unknown[] } | null)?.failures ?? [];
    if (failures.length > 0) changesSynced.inc({ direction: 'google-to-pipedrive', result: 'failed' }, failures.length);
  }
  if (activityType === 'reconcile') {
    safetyNetPasses.inc({ side: 'pipedrive' });
    const found = (result as { activityIds?: unknown[] } | null)?.activityIds?.length ?? 0;
    safetyNetFound.inc({ side: 'pipedrive' }, found);
  }
}

/** `GoogleRateLimited` / `PipedriveRateLimited` failures (activities/*\/errors.ts) carry the delay to wait. */
export function recordRateLimit(err: unknown): void {
  if (!(err instanceof ApplicationFailure)) return;
  const service = { GoogleRateLimited: 'google', PipedriveRateLimited: 'pipedrive', PipedriveBudgetSpent: 'pipedrive' }[
    err.type ?? ''
  ];
  if (!service || err.nextRetryDelay === undefined || err.nextRetryDelay === null) return;
  rateLimitWaits.observe({ service }, msToNumber(err.nextRetryDelay) / 1000);
}

/** For `WorkerOptions.interceptors.activity`. */
export function activityMetricsInterceptor(lookup?: SourceTimeLookup): (ctx: Context) => ActivityInterceptors {
  listenToApiCalls();
  return (ctx) => ({ inbound: new ActivityMetrics(ctx.info.activityType, lookup) });
}
