import { describe, expect, it } from 'vitest';
import { workerTuningFromEnv } from '../../worker/tuning.js';

describe('worker tuning from the environment', () => {
  it("keeps the SDK's defaults when nothing is set", () => {
    expect(workerTuningFromEnv({})).toEqual({});
    expect(workerTuningFromEnv({ WORKER_WORKFLOW_TASK_POLLERS: '' })).toEqual({});
  });

  it('maps each variable to its worker option', () => {
    expect(
      workerTuningFromEnv({
        WORKER_WORKFLOW_TASK_POLLERS: '20',
        WORKER_ACTIVITY_TASK_POLLERS: '4',
        WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '80',
        WORKER_MAX_CONCURRENT_ACTIVITIES: '50',
        WORKER_MAX_CACHED_WORKFLOWS: '0',
        WORKER_WORKFLOW_THREADS: '2',
        WORKER_EAGER_ACTIVITIES: '0',
      }),
    ).toEqual({
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 20 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      maxConcurrentWorkflowTaskExecutions: 80,
      maxConcurrentActivityTaskExecutions: 50,
      maxCachedWorkflows: 0,
      workflowThreadPoolSize: 2,
      maxEagerActivityReservationsPerWorkflowTask: 0,
    });
  });

  it('refuses a value that is not an integer in range, naming the variable', () => {
    expect(() => workerTuningFromEnv({ WORKER_WORKFLOW_TASK_POLLERS: '1' })).toThrow(
      /WORKER_WORKFLOW_TASK_POLLERS .* must be an integer from 2 to 100, got "1"/,
    );
    expect(() => workerTuningFromEnv({ WORKER_WORKFLOW_THREADS: '1.5' })).toThrow(/WORKER_WORKFLOW_THREADS/);
    expect(() => workerTuningFromEnv({ WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(/got "lots"/);
  });
});
