/**
 * A change the sync could not apply (refused, or out of retries) stays visible until it syncs: in the status
 * query (which the settings page and the CLI show), with an audit row, and the safety net tries it again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { unresolvedLines } from '../../client/cli/format.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';

const SAFETY_SECONDS = 3;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workflowInput: { safetyIntervalSeconds: SAFETY_SECONDS } });
});
afterAll(async () => {
  await h.close();
});

describe('failures the user should know about', () => {
  it('shows a refused change in the status and the audit log until the safety net syncs it', async () => {
    const user = await h.connectUser();
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Refused at first',
      type: 'call',
      due_date: '2026-12-08',
      due_time: '11:00',
      duration: '00:30',
    }) as { id: number };
    const subject = `activity:${a.id}`;
    // Google refuses every request (a 400 is permanent: no retry helps).
    h.google.control.setFaults({ errorRates: { 400: 1 } });
    let cleared = false;
    try {
      const change: PipedriveChange = pipedriveWebhook({
        action: 'create',
        entityId: a.id,
        delivery: `r-${a.id}`,
        changeSource: 'app',
      });
      await h.sync.pipedriveChanged(user.connectionId, change);
      const failed = await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.unresolved.find((f) => f.subject === subject);
      });
      expect(failed.message).toMatch(/400/);
      expect(unresolvedLines([failed]).join('\n')).toContain(`${subject}: ${failed.message}`);
      const row = await eventually(async () => {
        const { rows } = await h.stack.db.query(
          `SELECT outcome FROM audit_log WHERE connection_id = $1 AND subject = $2 AND action = 'sync-step-failed'`,
          [user.connectionId, subject],
        );
        return rows[0];
      });
      expect(row.outcome).toBe('failed');

      // Still listed after later, successful work (a safety-net pass) while Google keeps refusing.
      await new Promise((r) => setTimeout(r, SAFETY_SECONDS * 1000 + 500));
      expect((await h.sync.status(user.connectionId)).unresolved.map((f) => f.subject)).toContain(subject);

      h.google.control.setFaults({});
      cleared = true;
      // No new change is sent: the safety net retries what failed.
      await eventually(
        async () =>
          h.google.control
            .listEvents(user.email, user.calendarId)
            .find((e) => e.id === eventIdFor(user.connectionId, a.id)),
        SAFETY_SECONDS * 1000 * 4,
      );
      const after = await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.unresolved.some((f) => f.subject === subject) ? undefined : s;
      });
      expect(after.unresolved).toEqual([]);
    } finally {
      if (!cleared) h.google.control.setFaults({});
    }
  });

  it('retries a rename that failed for good at the next safety-net pass, even when no activity changed', async () => {
    const user = await h.connectUser();
    const pd = h.pipedrive.control;
    const deal = pd.createDeal({ userId: user.pipedriveUserId, title: 'Hammock' }) as { id: number };
    const a = pd.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Kick-off',
      type: 'call',
      due_date: '2026-12-09',
      due_time: '10:00',
      duration: '00:30',
      deal_id: deal.id,
    }) as { id: number };
    const event = () =>
      h.google.control
        .listEvents(user.email, user.calendarId)
        .find((e) => e.id === eventIdFor(user.connectionId, a.id));
    await h.sync.pipedriveChanged(
      user.connectionId,
      pipedriveWebhook({ action: 'create', entityId: a.id, delivery: `k-${a.id}`, changeSource: 'app' }),
    );
    expect((await eventually(async () => event())).summary).toBe('Hammock > Kick-off');
    // Older than the reconciliation's one-minute overlap: only the retry of the failed rename can re-title it.
    await new Promise((r) => setTimeout(r, 62_000));

    pd.updateDeal(deal.id, { title: 'Big hammock' }, { userId: user.pipedriveUserId });
    h.google.control.setFaults({ errorRates: { 400: 1 } });
    try {
      await h.sync.pipedriveChanged(user.connectionId, {
        meta: {
          action: 'change',
          entity: 'deal',
          entity_id: String(deal.id),
          id: `d-${deal.id}`,
          change_source: 'app',
        },
        data: null,
        previous: null,
      });
      await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.unresolved.find((f) => f.subject === `deal:${deal.id}`);
      });
    } finally {
      h.google.control.setFaults({});
    }
    await eventually(
      async () => (event()?.summary === 'Big hammock > Kick-off' ? true : undefined),
      SAFETY_SECONDS * 1000 * 4,
      'the event to be re-titled',
    );
    const after = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.unresolved.length === 0 ? s : undefined;
    });
    expect(after.unresolved).toEqual([]);
  }, 120_000);
});
