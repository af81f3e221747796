/**
 * The deletion sweep backs off while it finds nothing and returns to its base after a find, within its bound.
 * The sweep is the only way a deletion whose webhook was lost is found (deleted activities never appear in
 * `updated_since`), so each step below deletes in Pipedrive with the webhooks banned and asks the reconciliation
 * directly, with the workflow paused; the time since the last sweep is set in the store instead of waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePipedrive } from '../../activities/feeds/reconcile.js';
import { loadSyncContext } from '../../activities/sync/context.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../../testing/stack.js';
import { meetingInPipedrive } from '../../testing/pipedrive-to-google-steps.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const BASE_SECONDS = 600;
const BOUND_SECONDS = 4 * BASE_SECONDS;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ feeds: true, deletionSweepSeconds: BASE_SECONDS, deletionSweepBoundSeconds: BOUND_SECONDS });
});
afterAll(async () => {
  await h.close();
});

const activity = (user: SyncUser, subject: string) => meetingInPipedrive(h, user, subject);

const liveEvent = (user: SyncUser, activityId: number) =>
  h.google.control
    .listEvents(user.email, user.calendarId)
    .find((e) => e.id === eventIdFor(user.connectionId, activityId) && e.status !== 'cancelled');

/** The last sweep `secondsAgo` before now, at `level` (as an earlier pass would have left it). */
async function lastSweepWas(user: SyncUser, secondsAgo: number, level?: number): Promise<void> {
  await h.stack.db.query(
    `UPDATE pipedrive_reconcile_state SET last_sweep_at = now() - make_interval(secs => $2),
       deletion_sweep_level = COALESCE($3, deletion_sweep_level) WHERE connection_id = $1`,
    [user.connectionId, secondsAgo, level ?? null],
  );
}

async function sweepLevel(user: SyncUser): Promise<number> {
  const { rows } = await h.stack.db.query<{ deletion_sweep_level: number }>(
    'SELECT deletion_sweep_level FROM pipedrive_reconcile_state WHERE connection_id = $1',
    [user.connectionId],
  );
  return rows[0]!.deletion_sweep_level;
}

const reconcile = async (user: SyncUser) => reconcilePipedrive(await loadSyncContext(h.deps, user.connectionId));

describe('deletion sweep', () => {
  it('sweeps less often while it finds nothing, at the base again after a find, never beyond its bound', async () => {
    const user = await h.connectUser();
    const first = activity(user, 'Deleted while the webhooks are banned');
    const second = activity(user, 'Deleted later, also unannounced');
    const kept = activity(user, 'Stays');
    await eventually(async () =>
      liveEvent(user, first) && liveEvent(user, second) && liveEvent(user, kept) ? true : undefined,
    );
    await h.settled(user.connectionId);
    await h.sync.pause(user.connectionId);
    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 10 * 60_000);
    try {
      // A sweep that finds nothing: the next waits twice the base.
      await lastSweepWas(user, BASE_SECONDS + 1, 0);
      expect((await reconcile(user)).activityIds).toEqual([]);
      expect(await sweepLevel(user)).toBe(1);

      h.pipedrive.control.deleteActivity(first);
      // 1.5 × base later: a fixed hourly sweep would run and find it; the backed-off one is not due yet.
      await lastSweepWas(user, 1.5 * BASE_SECONDS);
      expect((await reconcile(user)).activityIds).not.toContain(first);
      expect(await sweepLevel(user)).toBe(1);

      // Twice the base: due, finds the deletion, back to the base.
      await lastSweepWas(user, 2 * BASE_SECONDS + 1);
      expect((await reconcile(user)).activityIds).toContain(first);
      expect(await sweepLevel(user)).toBe(0);

      // However far it backed off, a deletion is found once the bound has passed.
      h.pipedrive.control.deleteActivity(second);
      await lastSweepWas(user, BOUND_SECONDS - 60, 10);
      expect((await reconcile(user)).activityIds).not.toContain(second);
      await lastSweepWas(user, BOUND_SECONDS + 1);
      const found = await reconcile(user);
      expect(found.activityIds).toContain(second);
      expect(found.activityIds).not.toContain(kept);
      expect(await sweepLevel(user)).toBe(0);
    } finally {
      h.pipedrive.control.unbanWebhooks();
    }
  });
});
