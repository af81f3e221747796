/**
 * What one workflow held in the worker's cache costs in V8 heap before it runs anything: the SDK's reusable V8
 * context (the default) gives every workflow a module cache of its own, so each one evaluates the bundle's modules
 * again (ours, the parts of the SDK's workflow runtime it imports), all but those preloaded once and shared
 * (workflows/shared-modules.ts: the settings module and zod). This creates `--workflows` workflows from the production bundle in one
 * reusable context, as the worker's workflow thread does, and prints the heap each one adds.
 *
 *   npx tsx bench/scale/workflow-memory.ts --workflows=200   (node's --expose-gc is set by re-running itself)
 *
 * It uses the SDK's internal workflow creator (`@temporalio/worker/lib/workflow/reusable-vm.js`), which the worker
 * uses the same way; it measures the module state only, not a workflow's own state after activations (that grows
 * with its queue and safety-net bookkeeping) nor the SDK core's copy of each run outside the heap.
 */
import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm.js';
import { bundleSyncWorkflows } from '../../worker/create-worker.js';
import { benchArgs } from '../args.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  // Re-run with the collector exposed: a heap figure without a full collection is mostly garbage.
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const n = benchArgs().int('workflows', 200);
const { code } = await bundleSyncWorkflows();
const map = /sourceMappingURL=data:[^,]*,(.*)$/m.exec(code);
if (!map) throw new Error('the workflow bundle has no inline source map');
const sourceMap = JSON.parse(Buffer.from(map[1]!, 'base64').toString());
const creator = await ReusableVMWorkflowCreator.create(
  { code, sourceMap, filename: '/workflow-bundle.js' },
  5_000,
  new Set(),
);
const heap = () => {
  gc!();
  return v8.getHeapStatistics().used_heap_size;
};
const before = heap();
const kept: unknown[] = [];
for (let i = 0; i < n; i++) {
  const runId = `run-${i}`;
  kept.push(
    await creator.createWorkflow({
      info: {
        workflowType: 'calendarSync',
        workflowId: `calendar-sync:conn-${i}`,
        runId,
        firstExecutionRunId: runId,
        taskQueue: 'memory',
        namespace: 'default',
        attempt: 1,
        historyLength: 1,
        startTime: new Date(),
        runStartTime: new Date(),
        searchAttributes: {},
        memo: {},
        unsafe: { now: () => Date.now(), isReplaying: false },
      } as never,
      randomnessSeed: [1, 2] as never,
      now: Date.now(),
      showStackTraceSources: false,
    }),
  );
}
const perWorkflow = (heap() - before) / n;
console.log(
  `${n} workflows in one reusable V8 context: ${(perWorkflow / 1024).toFixed(0)} KB of heap each before any activation` +
    ` (${((perWorkflow * 1000) / 1024 / 1024) | 0} MB per 1,000 cached workflows); kept ${kept.length}`,
);
