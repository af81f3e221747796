/**
 * Change feeds end to end, through real HTTP: the Pipedrive emulator delivers webhooks to our HTTP server,
 * the Google emulator delivers push notifications to it, and the safety nets catch what both drop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePipedrive } from '../../activities/feeds/reconcile.js';
import { loadSyncContext } from '../../activities/sync/context.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../../testing/stack.js';
import { meetingInPipedrive } from '../../testing/pipedrive-to-google-steps.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

/** Short safety interval so "within the safety interval" is seconds, not minutes. */
const SAFETY_SECONDS = 3;

let h: Harness;
beforeAll(async () => {
  // The deletion sweep (hourly by default) runs on every safety-net pass here.
  h = await startHarness({
    feeds: true,
    deletionSweepSeconds: 0,
    workflowInput: { safetyIntervalSeconds: SAFETY_SECONDS },
  });
});
afterAll(async () => {
  await h.close();
});

const activity = (user: SyncUser, subject: string, extra: Record<string, unknown> = {}) =>
  meetingInPipedrive(h, user, subject, extra);

function liveEvent(user: SyncUser, activityId: number) {
  const id = eventIdFor(user.connectionId, activityId);
  return h.google.control.listEvents(user.email, user.calendarId).find((e) => e.id === id && e.status !== 'cancelled');
}

function activitiesOf(user: SyncUser) {
  return h.pipedrive.control.listActivities().filter((a) => a.owner_id === user.pipedriveUserId);
}

describe('change feeds', () => {
  it('registers the connection’s Pipedrive webhooks and a Google channel when the sync is enabled', async () => {
    const user = await h.connectUser();
    const url = `${h.http!.url}/webhooks/pipedrive/${user.connectionId}`;
    const hooks = await eventually(async () => {
      const mine = h.pipedrive.control.listWebhooks().filter((w) => w.subscription_url === url);
      return mine.length === 4 ? mine : undefined;
    });
    expect(hooks.map((w) => `${w.event_object}:${w.event_action}`).sort()).toEqual([
      'activity:*',
      'deal:change',
      'organization:change',
      'person:change',
    ]);
    const status = await h.settled(user.connectionId);
    expect(status.channel?.channelId).toBeTruthy();
    const channels = h.google.control.listChannels().filter((c) => c.ownerEmail === user.email && !c.stopped);
    expect(channels.map((c) => c.id)).toEqual([status.channel!.channelId]);
    expect(channels[0]!.address).toBe(`${h.http!.url}/webhooks/google`);
  });

  it('brings a change made in Pipedrive to Google through the webhook endpoint', async () => {
    const user = await h.connectUser();
    const id = activity(user, 'Via webhook');
    const event = await eventually(async () => liveEvent(user, id));
    expect(event.summary).toBe('Via webhook');
    const { rows } = await h.stack.db.query(
      `SELECT meta->>'entity_id' AS entity_id, relayed_at FROM webhook_inbox WHERE connection_id = $1`,
      [user.connectionId],
    );
    expect(rows.some((r) => r.entity_id === String(id) && r.relayed_at !== null)).toBe(true);
  });

  it('brings a change made in Google to Pipedrive through a push notification', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    const sentBefore = h.google.control.stats().push.sent;
    await user.calendar.events.insert({
      calendarId: user.calendarId,
      requestBody: {
        summary: 'Via push',
        start: { dateTime: '2026-12-11T09:00:00Z' },
        end: { dateTime: '2026-12-11T10:00:00Z' },
      },
    });
    const created = await eventually(async () => activitiesOf(user).find((a) => a.subject === 'Via push'));
    expect(created.due_time).toBe('09:00:00');
    expect(h.google.control.stats().push.sent).toBeGreaterThan(sentBefore);
  });

  it('still syncs Google changes within the safety interval when every notification is dropped', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    h.google.control.setFaults({ seed: 3, delivery: { dropRate: 1 } });
    try {
      const dropped = h.google.control.stats().push.dropped;
      await user.calendar.events.insert({
        calendarId: user.calendarId,
        requestBody: {
          summary: 'Nobody told us',
          start: { dateTime: '2026-12-12T09:00:00Z' },
          end: { dateTime: '2026-12-12T09:30:00Z' },
        },
      });
      await eventually(async () => (h.google.control.stats().push.dropped > dropped ? true : undefined));
      const imported = await eventually(
        async () => activitiesOf(user).find((a) => a.subject === 'Nobody told us'),
        SAFETY_SECONDS * 1000 * 4,
      );
      expect(imported).toMatchObject({ due_date: '2026-12-12', due_time: '09:00:00', duration: '00:30:00' });
    } finally {
      h.google.control.setFaults({});
    }
  });

  it('still syncs Pipedrive changes, deletions included, within the safety interval while the webhook is banned', async () => {
    const user = await h.connectUser();
    const kept = activity(user, 'Before the ban');
    const doomed = activity(user, 'Will be deleted');
    await eventually(async () => (liveEvent(user, kept) && liveEvent(user, doomed) ? true : undefined));

    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 60_000);
    try {
      const lostBefore = h.pipedrive.control.stats().webhooks.lostToBan;
      h.pipedrive.control.updateActivity(kept, { subject: 'Changed during the ban' });
      h.pipedrive.control.deleteActivity(doomed);
      const created = activity(user, 'Created during the ban');
      expect(h.pipedrive.control.stats().webhooks.lostToBan).toBeGreaterThan(lostBefore);

      const within = SAFETY_SECONDS * 1000 * 4;
      await eventually(
        async () => (liveEvent(user, kept)?.summary === 'Changed during the ban' ? true : undefined),
        within,
      );
      await eventually(async () => (liveEvent(user, doomed) === undefined ? true : undefined), within);
      await eventually(async () => liveEvent(user, created), within);
    } finally {
      h.pipedrive.control.unbanWebhooks();
    }
  });

  it('puts back a webhook that Pipedrive deleted', async () => {
    const user = await h.connectUser();
    const url = `${h.http!.url}/webhooks/pipedrive/${user.connectionId}`;
    const hook = await eventually(async () =>
      h.pipedrive.control.listWebhooks().find((w) => w.subscription_url === url && w.event_object === 'activity'),
    );
    const res = await fetch(`${h.pipedrive.url}/v1/webhooks/${hook.id}`, {
      method: 'DELETE',
      headers: { 'x-api-token': user.apiToken },
    });
    expect(res.status).toBe(200);
    const back = await eventually(
      async () =>
        h.pipedrive.control.listWebhooks().find((w) => w.subscription_url === url && w.event_object === 'activity'),
      SAFETY_SECONDS * 1000 * 4,
    );
    expect(back.id).not.toBe(hook.id);
  });

  it('re-sent identical settings bring back a channel and webhooks that were lost, within seconds', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    const url = `${h.http!.url}/webhooks/pipedrive/${user.connectionId}`;
    const before = await h.settled(user.connectionId);
    const lost = before.channel!.channelId;
    // Google forgets the channel (as after an emulator restart, or a channel dropped on Google's side) and
    // Pipedrive the webhooks, while our registry still lists both.
    const { rows } = await h.stack.db.query('SELECT resource_id FROM watch_channels WHERE channel_id = $1', [lost]);
    await user.calendar.channels.stop({ requestBody: { id: lost, resourceId: rows[0].resource_id } });
    for (const w of h.pipedrive.control.listWebhooks().filter((w) => w.subscription_url === url)) {
      await fetch(`${h.pipedrive.url}/v1/webhooks/${w.id}`, {
        method: 'DELETE',
        headers: { 'x-api-token': user.apiToken },
      });
    }

    await h.sync.configure(user.connectionId, before.settings!);
    const live = await eventually(
      async () => h.google.control.listChannels().find((c) => c.ownerEmail === user.email && !c.stopped),
      5_000,
      'a live channel again',
    );
    expect(live.id).not.toBe(lost);
    expect((await h.settled(user.connectionId)).channel?.channelId).toBe(live.id);
    expect(h.pipedrive.control.listWebhooks().filter((w) => w.subscription_url === url)).toHaveLength(4);
  });

  it('replaces at the next safety-net pass a channel the registry no longer holds as live', async () => {
    const user = await h.connectUser({ mode: 'two-way' });
    const before = (await h.settled(user.connectionId)).channel!.channelId;
    // Expired early (Google may end a channel before its requested expiry); renewal is days away.
    await h.stack.db.query(`UPDATE watch_channels SET expiration = now() - interval '1 second' WHERE channel_id = $1`, [
      before,
    ]);
    const replaced = await eventually(
      async () => {
        const s = await h.sync.status(user.connectionId);
        return s.channel && s.channel.channelId !== before ? s.channel : undefined;
      },
      SAFETY_SECONDS * 1000 * 4,
      'the channel to be replaced',
    );
    expect(
      h.google.control
        .listChannels()
        .some((c) => c.id === replaced.channelId && c.ownerEmail === user.email && !c.stopped),
    ).toBe(true);
  });

  it('reconciles from the last known sync time when the cursor is lost: an activity created right after is synced', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    // Nothing runs meanwhile: the pass below is the first one after the loss.
    await h.sync.pause(user.connectionId);
    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 60_000);
    try {
      await h.stack.db.query('DELETE FROM pipedrive_reconcile_state WHERE connection_id = $1', [user.connectionId]);
      const id = activity(user, 'Right after the restart');
      const found = await reconcilePipedrive(await loadSyncContext(h.deps, user.connectionId));
      expect(found.activityIds).toContain(id);

      await h.sync.resume(user.connectionId);
      const event = await eventually(async () => liveEvent(user, id), SAFETY_SECONDS * 1000 * 4);
      expect(event.summary).toBe('Right after the restart');
    } finally {
      h.pipedrive.control.unbanWebhooks();
    }
  });
});
