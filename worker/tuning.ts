/**
 * The worker's Temporal tuning from the environment. Unset variables keep the SDK's defaults, which measured
 * right for a 2-core box (docs/operations.md, "Performance"): with 100 users at 50 changes/s the worker's
 * workflow-task slots stayed 90% free, every poller had a poll in flight, and the sticky cache served every task
 * without a replay, so a task waiting for pickup waits for CPU, not for a poller or a slot. The variables are
 * there for bigger machines and for experiments (the bench passes them through to its worker).
 */
import type { WorkerOptions } from '@temporalio/worker';

interface TuningVariable {
  name: string;
  min: number;
  max: number;
  apply(n: number): Partial<WorkerOptions>;
  /** What it sets, for the docs and error messages. */
  what: string;
}

export const TUNING_VARIABLES: readonly TuningVariable[] = [
  {
    name: 'WORKER_WORKFLOW_TASK_POLLERS',
    min: 2,
    max: 100,
    what: 'concurrent workflow-task polls (SDK default 10, of which 80% on the sticky queue)',
    apply: (n) => ({ workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: n } }),
  },
  {
    name: 'WORKER_ACTIVITY_TASK_POLLERS',
    min: 1,
    max: 100,
    what: 'concurrent activity-task polls (SDK default 10)',
    apply: (n) => ({ activityTaskPollerBehavior: { type: 'simple-maximum', maximum: n } }),
  },
  {
    name: 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS',
    min: 2,
    max: 1000,
    what: 'workflow tasks executed at once (SDK default 40)',
    apply: (n) => ({ maxConcurrentWorkflowTaskExecutions: n }),
  },
  {
    name: 'WORKER_MAX_CONCURRENT_ACTIVITIES',
    min: 1,
    max: 1000,
    what: 'activities executed at once (SDK default 100)',
    apply: (n) => ({ maxConcurrentActivityTaskExecutions: n }),
  },
  {
    name: 'WORKER_MAX_CACHED_WORKFLOWS',
    min: 0,
    max: 1_000_000,
    what: 'workflows kept in memory between tasks (SDK default from the heap size: ~600 per GB)',
    apply: (n) => ({ maxCachedWorkflows: n }),
  },
  {
    name: 'WORKER_WORKFLOW_THREADS',
    min: 1,
    max: 16,
    what: 'threads that run workflow code (SDK default 1)',
    apply: (n) => ({ workflowThreadPoolSize: n }),
  },
  {
    name: 'WORKER_EAGER_ACTIVITIES',
    min: 0,
    max: 100,
    what: 'activity slots a workflow task may reserve for eager dispatch; 0 turns it off (SDK default 3)',
    apply: (n) => ({ maxEagerActivityReservationsPerWorkflowTask: n }),
  },
];

/** The worker options the environment sets; `{}` when none is set. A bad value is an error naming the variable. */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<WorkerOptions> {
  let options: Partial<WorkerOptions> = {};
  for (const v of TUNING_VARIABLES) {
    const raw = env[v.name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < v.min || n > v.max) {
      throw new Error(`${v.name} (${v.what}) must be an integer from ${v.min} to ${v.max}, got "${raw}"`);
    }
    options = { ...options, ...v.apply(n) };
  }
  return options;
}
