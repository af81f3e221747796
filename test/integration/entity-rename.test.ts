/**
 * Renaming a deal re-titles every linked event, even when Pipedrive answers some of the calls with 429 (its burst
 * limit) and the step is retried half-way: what is stale comes from the link table and the name cache, not from
 * "did the name just change". Each re-titled event gets its audit row as it changes, exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePipedrive } from '../../activities/feeds/reconcile.js';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { loadSyncContext } from '../../activities/sync/context.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

const LINKED = 30;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ seed: 7 });
});
afterAll(async () => {
  await h.close();
});

function webhook(action: 'create' | 'change', entity: string, id: number): PipedriveChange {
  return pipedriveWebhook({ action, entity, entityId: id, delivery: `${entity}-${id}-${action}-${Math.random()}` });
}

function titlesByActivity(user: SyncUser): Map<number, string> {
  const titles = new Map<number, string>();
  for (const e of h.google.control.listEvents(user.email, user.calendarId)) {
    const id = readEventLinkProperties(e)?.activityId;
    if (id !== undefined) titles.set(id, String(e.summary));
  }
  return titles;
}

describe('renaming a deal', () => {
  it('re-titles every linked event through 429s and retries, with one audit row per event', async () => {
    const user = await h.connectUser();
    const pd = h.pipedrive.control;
    const deal = pd.createDeal({ userId: user.pipedriveUserId, title: 'Hammock' }) as { id: number };
    const ids: number[] = [];
    for (let i = 0; i < LINKED; i++) {
      const a = pd.createActivity({
        userId: user.pipedriveUserId,
        subject: `Step ${i}`,
        type: 'call',
        due_date: '2026-12-07',
        due_time: '10:00',
        duration: '00:30',
        deal_id: deal.id,
      }) as { id: number };
      ids.push(a.id);
      await h.sync.pipedriveChanged(user.connectionId, webhook('create', 'activity', a.id));
    }
    await h.settled(user.connectionId, 60_000);
    expect([...titlesByActivity(user).values()].filter((t) => t.startsWith('Hammock > '))).toHaveLength(LINKED);

    pd.updateDeal(deal.id, { title: 'Big hammock' }, { userId: user.pipedriveUserId });
    // One call in ten answers 429 (seeded): the re-title step fails part-way and is retried.
    h.pipedrive.control.setFaults({ errorRates: { 429: 0.1 } });
    try {
      await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'deal', deal.id));
      const status = await h.settled(user.connectionId, 120_000);
      expect(status.failures).toBe(0);
    } finally {
      h.pipedrive.control.setFaults({});
    }
    const attempts = [...h.apiCalls].filter(([k]) => k.startsWith('pipedrive') && k.endsWith(' 429'));
    expect(attempts.reduce((n, [, v]) => n + v, 0)).toBeGreaterThan(0);

    const titles = titlesByActivity(user);
    expect(ids.map((id) => titles.get(id))).toEqual(ids.map((_, i) => `Big hammock > Step ${i}`));

    const { rows } = await h.stack.db.query<{ subject: string; n: number }>(
      `SELECT subject, count(*)::int AS n FROM audit_log
       WHERE connection_id = $1 AND action = 'updated' AND direction = 'pipedrive-to-google' GROUP BY subject`,
      [user.connectionId],
    );
    const perEvent = new Map(rows.map((r) => [r.subject, r.n]));
    expect(ids.map((id) => perEvent.get(`activity:${id}`) ?? 0)).toEqual(ids.map(() => 1));
  });

  it('leaves titles the re-titling never reached to the safety net, which finds them from the name cache', async () => {
    const user = await h.connectUser();
    const pd = h.pipedrive.control;
    const deal = pd.createDeal({ userId: user.pipedriveUserId, title: 'Hammock' }) as { id: number };
    const a = pd.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Visit',
      type: 'call',
      due_date: '2026-12-07',
      due_time: '12:00',
      duration: '00:30',
      deal_id: deal.id,
    }) as { id: number };
    await h.sync.pipedriveChanged(user.connectionId, webhook('create', 'activity', a.id));
    await h.settled(user.connectionId);
    expect(titlesByActivity(user).get(a.id)).toBe('Hammock > Visit');

    // The rename reached the name cache, but its re-titling failed for good (as after exhausted retries).
    pd.updateDeal(deal.id, { title: 'Big hammock' }, { userId: user.pipedriveUserId });
    await h.stack.db.query(
      `UPDATE pipedrive_names SET name = 'Big hammock' WHERE connection_id = $1 AND entity = 'deal' AND entity_id = $2`,
      [user.connectionId, deal.id],
    );
    // A sweep is due, and the activity itself is outside the `updated_since` window (it did not change).
    await h.stack.db.query(
      `INSERT INTO pipedrive_reconcile_state (connection_id, updated_since) VALUES ($1, now() + interval '1 hour')
       ON CONFLICT (connection_id) DO UPDATE SET updated_since = now() + interval '1 hour', last_sweep_at = NULL`,
      [user.connectionId],
    );
    const found = await reconcilePipedrive(await loadSyncContext(h.deps, user.connectionId));
    expect(found.scanned).toBe(0);
    expect(found.activityIds).toContain(a.id);
  });
});
