/**
 * A change the sync could not apply (refused, or out of retries) stays visible until it syncs: in the status
 * query (which the settings page and the CLI show), with an audit row, and the safety net tries it again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../activities/pipedrive-change.js';
import { unresolvedLines } from '../../client/cli/format.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../support/stack.js';
import { startHarness, type Harness } from '../support/sync-harness.js';

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
      const change: PipedriveChange = {
        meta: { action: 'create', entity: 'activity', entity_id: String(a.id), id: `r-${a.id}`, change_source: 'app' },
        data: null,
        previous: null,
      };
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
});
