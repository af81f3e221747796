/**
 * One Google pull of a connection at a time (activities/sync/pull-lease.ts), on the real stack: while a pull is
 * running — slowed here by Pipedrive answering every request after 1.5 s, as a local attempt past its bound or a
 * regular attempt past its heartbeat keeps running — a second pull of the same connection is refused retryably and
 * touches nothing, so the new event gets one Pipedrive activity; once the first has ended, the next pull runs.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type PullSummary } from '../../activities/index.js';
import { GOOGLE_PULL_IN_PROGRESS } from '../../activities/sync/pull-lease.js';
import { day, googleToPipedriveSteps, timed } from '../../testing/google-to-pipedrive-steps.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const { activitiesOf, insertEvent } = googleToPipedriveSteps(() => h);

async function leaseHolders(connectionId: string): Promise<number> {
  const { rows } = await h.deps.db.query('SELECT 1 FROM google_pull_leases WHERE connection_id = $1', [connectionId]);
  return rows.length;
}

async function createIntents(connectionId: string): Promise<number> {
  const { rows } = await h.deps.db.query('SELECT 1 FROM pipedrive_create_intents WHERE connection_id = $1', [
    connectionId,
  ]);
  return rows.length;
}

describe('Google pull lease', () => {
  it('refuses a second pull of a connection while one is running, and the new event gets one activity', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    // No push notification: the pulls of this test are the only ones.
    h.google.control.setFaults({ delivery: { dropRate: 1 } });
    await insertEvent(user, { summary: 'Quarterly review', ...timed(day(3), '10:00', '11:00') });
    const activities = createActivities(h.deps);
    const pullGoogle = (): Promise<PullSummary> =>
      new MockActivityEnvironment().run(activities.pullGoogle, user.connectionId);
    h.pipedrive.control.setFaults({ latencyMs: 1500 });
    try {
      const first = pullGoogle();
      // The first pull is in the middle of its work: it has recorded its intent to create the activity.
      await eventually(async () => ((await createIntents(user.connectionId)) === 1 ? true : undefined));

      const second = await pullGoogle().then(
        () => null,
        (err: unknown) => err,
      );
      expect(second).toBeInstanceOf(ApplicationFailure);
      expect(second).toMatchObject({ type: GOOGLE_PULL_IN_PROGRESS, nonRetryable: false });

      const summary = await first;
      expect(summary.outcomes.map((o) => o.result)).toEqual(['created']);
    } finally {
      h.pipedrive.control.setFaults({});
      h.google.control.setFaults({});
    }
    expect(await leaseHolders(user.connectionId)).toBe(0);
    expect(activitiesOf(user).map((a) => a.subject)).toEqual(['Quarterly review']);

    // The lease is free again: the next pull runs and finds nothing new.
    const next = await pullGoogle();
    expect(next.outcomes.filter((o) => o.result === 'created')).toEqual([]);
    expect(activitiesOf(user)).toHaveLength(1);
  });
});
