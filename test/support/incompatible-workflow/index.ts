/**
 * A `calendarSync` whose commands differ from the real one (it sleeps before its first activity). Replaying a
 * stored history against it must fail: this is what proves the replay test would catch an incompatible change.
 */
import { condition, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { createActivities } from '../../../activities/index.js';
import type { PipedriveChange } from '../../../adapters/pipedrive/change.js';
import { pipedriveChanged } from '../../../workflows/contract.js';

const activities = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '30 seconds' });

export async function calendarSync(input: { connectionId: string }): Promise<void> {
  const queue: PipedriveChange[] = [];
  setHandler(pipedriveChanged, (c) => void queue.push(c));
  for (;;) {
    await condition(() => queue.length > 0);
    await sleep('1 second');
    const change = queue.shift()!;
    await activities.syncPipedriveActivity(input.connectionId, Number(change.meta.entity_id));
  }
}
