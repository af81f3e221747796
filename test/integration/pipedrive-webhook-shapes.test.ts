/**
 * A Pipedrive webhook in the reduced webhooks v2 shape — `busy_flag`, `custom_fields`, times as
 * `{timezone_id, value}` objects — is answered 200 and synced: nothing downstream reads `data` (only `meta` and
 * the owner), the sync reads the activity back through API v2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

let h: Harness;
let user: SyncUser;
let basic: string;

beforeAll(async () => {
  h = await startHarness({ feeds: true });
  user = await h.connectUser();
  const creds = await eventually(() =>
    loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'webhook').then((c) => c ?? undefined),
  );
  basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
});
afterAll(async () => {
  await h.close();
});

const eventOf = (activityId: number) =>
  h.google.control
    .listEvents(user.email, user.calendarId)
    .find((e) => readEventLinkProperties(e)?.activityId === activityId);

describe('a webhook in the reduced v2 shape', () => {
  it('is answered 200 and the activity it names is synced', async () => {
    await h.settled(user.connectionId);
    // The emulator's own deliveries are held back, so only the delivery below can bring the change.
    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 120_000);
    try {
      const activity = h.pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: 'Reduced shape',
        type: 'meeting',
        due_date: '2030-06-03',
        due_time: '10:00',
        duration: '00:45',
      }) as { id: number };
      const body = {
        meta: {
          action: 'change',
          entity: 'activity',
          entity_id: String(activity.id),
          id: `reduced-${activity.id}`,
          change_source: 'app',
          version: '2.0',
          timestamp: Math.floor(Date.now() / 1000),
          user_id: String(user.pipedriveUserId),
        },
        data: {
          id: activity.id,
          owner_id: user.pipedriveUserId,
          subject: 'Reduced shape',
          busy_flag: true,
          custom_fields: {},
          due_date: '2030-06-03',
          due_time: { timezone_id: 'Europe/Tallinn', value: '13:00:00' },
          duration: '00:45:00',
        },
        previous: { due_time: { timezone_id: 'Europe/Tallinn', value: '12:00:00' } },
      };
      const res = await fetch(`${h.http!.url}/webhooks/pipedrive/${user.connectionId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.text()).toBe(200);
      const event = await eventually(async () => eventOf(activity.id), 30_000, 'the event of the delivered change');
      // The time comes from the activity as API v2 answers it (UTC), not from the webhook's local-time object.
      expect(event.start?.dateTime).toBe('2030-06-03T10:00:00Z');
      expect(event.end?.dateTime).toBe('2030-06-03T10:45:00Z');
      expect((await h.settled(user.connectionId)).failures).toBe(0);
    } finally {
      h.pipedrive.control.unbanWebhooks();
    }
  });
});
