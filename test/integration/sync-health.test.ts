/**
 * Sync health on the real stack (our HTTP server with real Pipedrive webhooks and Google OAuth, the worker, Temporal,
 * Postgres): Resync now catches a change whose webhook was lost long before the safety-net timer would, and is
 * idempotent; a failing item shows with its reason and its Retry syncs it once the cause is gone; a revoked Google
 * authorization shows as "needs reconnect" and clears once the user connects Google again. Through the admin API
 * and the settings API, as the CLI and the page use them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApiClient, AdminApiError } from '../../client/admin/api-client.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
/** Far beyond the test's waits: only Resync now or a Retry can sync what the webhooks did not deliver. */
const SAFETY_SECONDS = 3600;

let h: Harness;
let admin: AdminApiClient;
beforeAll(async () => {
  h = await startHarness({
    web: true,
    adminToken: ADMIN_TOKEN,
    workflowInput: { safetyIntervalSeconds: SAFETY_SECONDS },
  });
  admin = new AdminApiClient({ url: h.http!.url, token: ADMIN_TOKEN });
});
afterAll(async () => {
  await h?.close();
});

function newActivity(user: SyncUser, subject: string): number {
  return (
    h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject,
      type: 'meeting',
      due_date: '2026-12-10',
      due_time: '10:00',
      duration: '00:30',
    }) as { id: number }
  ).id;
}

const eventOf = (user: SyncUser, activityId: number) =>
  h.google.control
    .listEvents(user.email, user.calendarId)
    .find((e) => e.id === eventIdFor(user.connectionId, activityId));

/** The admin API's refusal of `call`, as the CLI reports it. */
async function refusal(call: Promise<unknown>): Promise<AdminApiError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdminApiError);
  return err as AdminApiError;
}

/** Connects the user's Google account again through our OAuth routes (the emulator's consent approves at once). */
async function reconnectGoogle(user: SyncUser): Promise<{ cookie: string; csrf: string }> {
  const web = h.http!.url;
  const start = await fetch(`${web}/connect/google`, { redirect: 'manual' });
  const stateCookie = start.headers.getSetCookie()[0]!.split(';')[0]!;
  const consent = new URL(start.headers.get('location')!);
  consent.searchParams.set('login_hint', user.email);
  const approved = new URL((await fetch(consent, { redirect: 'manual' })).headers.get('location')!);
  const signedIn = await fetch(`${web}/oauth/google/callback${approved.search}`, {
    redirect: 'manual',
    headers: { cookie: stateCookie },
  });
  expect(signedIn.headers.get('location')).toBe('/settings');
  const cookie = signedIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('cs_session=') && c.length > 'cs_session='.length)!;
  const me = (await (await fetch(`${web}/api/me`, { headers: { cookie } })).json()) as { csrf: string };
  return { cookie, csrf: me.csrf };
}

describe('Resync now', () => {
  it('picks up a change whose webhook was lost, long before the safety-net timer, and re-arms the timer', async () => {
    const user = await h.connectUser();
    const before = await h.settled(user.connectionId);
    h.pipedrive.control.banWebhooks(user.pipedriveUserId, 600_000);
    let id: number;
    try {
      id = newActivity(user, 'Webhook lost');
      // The webhook does not come: nothing reaches Google on its own.
      await new Promise((r) => setTimeout(r, 2000));
      expect(eventOf(user, id)).toBeUndefined();

      const asked = Date.now();
      const r = await admin.resync(user.connectionId);
      expect(r.added).toBeGreaterThan(0);
      expect(r.status.resync).toMatchObject({ finishedAt: null });
      const event = await eventually(async () => eventOf(user, id), 30_000, 'the event after the resync');
      expect(event.summary).toBe('Webhook lost');
      const after = await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.resync?.finishedAt ? s : undefined;
      });
      expect(after.resync).toMatchObject({ pending: [], failed: 0 });
      expect(Date.parse(after.resync!.requestedAt)).toBeGreaterThanOrEqual(asked - 1000);
      // Both directions synced again since connecting, and the timer starts over from the resync.
      for (const direction of ['pipedriveToGoogle', 'googleToPipedrive'] as const) {
        expect(Date.parse(after.lastSyncedAt[direction]!)).toBeGreaterThanOrEqual(asked - 1000);
        if (before.lastSyncedAt[direction])
          expect(Date.parse(after.lastSyncedAt[direction]!)).toBeGreaterThan(
            Date.parse(before.lastSyncedAt[direction]!),
          );
      }
      expect(Date.parse(after.nextSafetyNetAt!)).toBeGreaterThan(Date.parse(before.nextSafetyNetAt!));
      expect(Date.parse(after.nextSafetyNetAt!)).toBeGreaterThanOrEqual(asked + (SAFETY_SECONDS - 5) * 1000);
    } finally {
      h.pipedrive.control.unbanWebhooks();
    }
  });

  it('queues nothing more when asked again while its pass waits', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    await h.sync.pause(user.connectionId); // the pass waits in the queue until resume
    const first = await admin.resync(user.connectionId);
    const second = await admin.resync(user.connectionId);
    expect(first.added).toBe(3); // Google pull, Pipedrive reconciliation, feed check
    expect(second.added).toBe(0);
    expect(second.status.queued).toBe(first.status.queued);
    expect(second.status.resync?.requestedAt).toBe(first.status.resync?.requestedAt);
    await h.sync.resume(user.connectionId);
    const done = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.resync?.finishedAt && s.queued === 0 ? s : undefined;
    });
    expect(done.resync).toMatchObject({ pending: [], failed: 0 });
  });

  it('is refused, queuing nothing, while the sync is off or disconnected; bad input is refused too', async () => {
    const off = await h.connectUser({ enabled: false });
    const whileOff = await refusal(admin.resync(off.connectionId));
    expect(whileOff.status).toBe(409);
    expect(whileOff.message).toBe('the sync is off: switch it on to resync');
    expect((await h.sync.status(off.connectionId)).queued).toBe(0);

    const gone = await h.connectUser();
    await admin.disconnect(gone.connectionId);
    expect((await refusal(admin.resync(gone.connectionId))).status).toBe(409);

    const user = await h.connectUser();
    const res = await fetch(`${h.http!.url}/api/admin/connections/${user.connectionId}/resync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ now: true }),
    });
    expect(res.status).toBe(400);
    expect((await h.sync.status(user.connectionId)).resync).toBeNull();
  });
});

describe('a failing item', () => {
  it('shows with its reason, and its Retry syncs it once the cause is fixed', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    let id = 0;
    // Google refuses every request (a 400 is permanent: no retry helps).
    h.google.control.setFaults({ errorRates: { 400: 1 } });
    try {
      id = newActivity(user, 'Refused at first');
      const failed = await eventually(async () => {
        const s = await h.sync.status(user.connectionId);
        return s.unresolved.find((f) => f.subject === `activity:${id}`);
      }, 30_000);
      expect(failed.message).toMatch(/400/);
    } finally {
      h.google.control.setFaults({});
    }
    // Only what is failing can be retried, and only what a retry of its own exists for.
    const notFailing = await refusal(admin.retry(user.connectionId, 'activity:999999'));
    expect(notFailing).toMatchObject({ status: 400, message: 'nothing to retry: activity:999999 is not failing' });
    const noSubject = await fetch(`${h.http!.url}/api/admin/connections/${user.connectionId}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 42 }),
    });
    expect(noSubject.status).toBe(400);

    const r = await admin.retry(user.connectionId, `activity:${id}`);
    expect(r.status?.unresolved.map((f) => f.subject)).toContain(`activity:${id}`);
    expect((await eventually(async () => eventOf(user, id), 30_000, 'the event after the retry')).summary).toBe(
      'Refused at first',
    );
    const after = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.unresolved.length === 0 ? s : undefined;
    });
    expect(after.lastSyncedAt.pipedriveToGoogle).not.toBeNull();
  });
});

describe('needs reconnect', () => {
  it('appears when Google revokes the authorization and clears once the user connects Google again', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    h.google.control.revokeRefreshToken(user.email);
    const id = newActivity(user, 'While revoked');
    const revoked = await eventually(async () => {
      const s = await h.sync.status(user.connectionId);
      return s.needsReconnect ? s : undefined;
    }, 30_000);
    expect(revoked.needsReconnect).toBe('google');
    expect(revoked.unresolved.map((f) => f.subject)).toContain(`activity:${id}`);

    // The settings page's Reconnect button: our OAuth routes, a new grant, and the sync tries again at once.
    const session = await reconnectGoogle(user);
    const cleared = await eventually(
      async () => {
        const s = await h.sync.status(user.connectionId);
        return s.needsReconnect === null && s.unresolved.length === 0 ? s : undefined;
      },
      30_000,
      'needs reconnect to clear',
    );
    expect(cleared.resync?.finishedAt).not.toBeNull();
    expect(eventOf(user, id)?.summary).toBe('While revoked');
    // The new grant lasts: once the access token it came with expires, its refresh token gets a new one.
    h.google.control.expireAccessTokens(user.email);
    const later = newActivity(user, 'After the reconnect');
    expect(
      (await eventually(async () => eventOf(user, later), 30_000, 'the event after a token refresh')).summary,
    ).toBe('After the reconnect');
    expect((await h.settled(user.connectionId)).needsReconnect).toBeNull();

    // The settings API's Resync now: the same session and CSRF rules as every change.
    const url = `${h.http!.url}/api/me/resync`;
    const post = (headers: Record<string, string>, body = '{}') =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post({})).status).toBe(401);
    expect((await post({ cookie: session.cookie })).status).toBe(403);
    const bad = await post({ cookie: session.cookie, 'x-csrf-token': session.csrf }, '{"all":true}');
    expect(bad.status).toBe(400);
    const ok = await post({ cookie: session.cookie, 'x-csrf-token': session.csrf });
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as { status: { resync: { finishedAt: unknown } } }).status.resync.finishedAt).toBeNull();
  });
});
