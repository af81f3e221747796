/**
 * The admin HTTP API against the real stack: our HTTP server (with real change feeds), Temporal, Postgres and
 * both emulators. Requests go through the typed admin client the CLI uses, or raw `fetch` where the test needs
 * to send something the client would never send.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getConnection, loadCredentials, upsertConnection } from '../../adapters/store/connections.js';
import { AdminApiClient, AdminApiError } from '../../client/admin/api-client.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const ADMIN_TOKEN = randomBytes(24).toString('base64url');

let h: Harness;
let admin: AdminApiClient;
let base: string;

beforeAll(async () => {
  h = await startHarness({ feeds: true, adminToken: ADMIN_TOKEN });
  base = h.http!.url;
  admin = new AdminApiClient({ url: base, token: ADMIN_TOKEN });
});
afterAll(async () => {
  await h.close();
});

async function raw(method: string, path: string, opts: { token?: string | null; body?: string } = {}) {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/api/admin${path}`, { method, headers, body: opts.body });
  const text = await res.text();
  return { status: res.status, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function failure(p: Promise<unknown>): Promise<AdminApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdminApiError);
  return err as AdminApiError;
}

/** Every secret the harness stored for a user: none may appear in any admin API answer. */
async function secretsOf(user: SyncUser): Promise<string[]> {
  const google = await loadCredentials(h.stack.db, h.deps.secrets, user.connectionId, 'google');
  const { rows } = await h.stack.db.query<{ ciphertext: string }>(
    'SELECT ciphertext FROM connection_credentials WHERE connection_id = $1',
    [user.connectionId],
  );
  return [user.apiToken, google!.refreshToken, google!.accessToken!, ...rows.map((r) => r.ciphertext)];
}

function expectNoSecrets(answer: unknown, secrets: string[]): void {
  const text = JSON.stringify(answer);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

async function executionStatus(connectionId: string): Promise<string | undefined> {
  return h.stack.client.workflow
    .getHandle(workflowIdFor(connectionId))
    .describe()
    .then(
      (d) => d.status.name,
      () => undefined,
    );
}

/** Switches the sync on: activities created while it was off have no event (until an upload). */
async function switchOn(user: SyncUser): Promise<void> {
  const { settings } = (await getConnection(h.stack.db, user.connectionId))!;
  await h.sync.configure(user.connectionId, { ...settings, enabled: true });
}

describe('authentication', () => {
  const endpoints: Array<[string, string]> = [
    ['GET', '/connections'],
    ['GET', '/connections/x'],
    ['POST', '/connections/x/start'],
    ['POST', '/connections/x/pause'],
    ['POST', '/connections/x/resume'],
    ['POST', '/connections/x/disconnect'],
    ['GET', '/connections/x/settings'],
    ['PATCH', '/connections/x/settings'],
    ['POST', '/connections/x/upload'],
    ['GET', '/connections/x/upload'],
    ['POST', '/connections/x/upload/cancel'],
  ];

  it('answers 401 on every endpoint when the admin token is missing', async () => {
    for (const [method, path] of endpoints) {
      const res = await raw(method, path, { token: null });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
    }
  });

  it('answers 403 on every endpoint when the admin token is wrong', async () => {
    for (const [method, path] of endpoints) {
      const res = await raw(method, path, { token: `${ADMIN_TOKEN}x` });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
  });

  it('logs a refused request without the token it carried, or the real one', async () => {
    const guess = `guess-${randomUUID()}`;
    expect((await raw('GET', '/connections', { token: guess })).status).toBe(403);
    expect(h.logLines.some((l) => l.includes('admin API request with a wrong token'))).toBe(true);
    const log = h.logLines.join('\n');
    expect(log).not.toContain(guess);
    expect(log).not.toContain(ADMIN_TOKEN);
  });

  it('changes nothing when a pause is sent with a wrong token', async () => {
    const user = await h.connectUser();
    expect((await raw('POST', `/connections/${user.connectionId}/pause`, { token: 'guess' })).status).toBe(403);
    expect((await h.sync.status(user.connectionId)).state).toBe('idle');
  });

  it('is refused by the typed client with a message naming the token variable', async () => {
    const err = await failure(new AdminApiClient({ url: base, token: undefined }).listConnections());
    expect(err.status).toBe(401);
    expect(err.message).toContain('CALENDAR_SYNC_ADMIN_TOKEN');
  });

  it('is disabled (503) on a server started without an admin token', async () => {
    const { startHttpServer } = await import('../../client/http/server.js');
    const server = await startHttpServer({ db: h.stack.db, sync: h.sync, secrets: h.deps.secrets });
    try {
      const res = await fetch(`${server.url}/api/admin/connections`, { headers: { authorization: 'Bearer anything' } });
      expect(res.status).toBe(503);
    } finally {
      await server.close();
    }
  });
});

describe('reading', () => {
  it('lists connections with their settings and workflow state, and no credentials', async () => {
    const a = await h.connectUser();
    const b = await h.connectUser({ mode: 'pipedrive-to-google' });
    await h.sync.pause(b.connectionId);
    const { connections } = await admin.listConnections();
    const mine = connections.filter((c) => c.id === a.connectionId || c.id === b.connectionId);
    expect(mine.map((c) => [c.id, c.settings.mode, c.workflow.execution, c.workflow.state])).toEqual([
      [a.connectionId, 'two-way', 'RUNNING', 'idle'],
      [b.connectionId, 'pipedrive-to-google', 'RUNNING', 'paused'],
    ]);
    expect(mine[0]!.credentials).toEqual({ google: true, pipedrive: true, webhook: true });
    expect(mine[0]!.googleEmail).toBe(a.email);
    expectNoSecrets(connections, [...(await secretsOf(a)), ...(await secretsOf(b))]);
  });

  it("shows a connection's live status and its recent audit log, newest first", async () => {
    const user = await h.connectUser();
    // The user creates an activity in Pipedrive; its webhook reaches our server and the sync writes the event.
    const activity = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Call Hank',
      type: 'meeting',
      due_date: '2026-12-01',
      due_time: '09:30',
      duration: '01:00',
    }) as { id: number };
    const detail = await eventually(async () => {
      const d = await admin.connection(user.connectionId);
      return d.audit.some((e) => e.subject === `activity:${activity.id}`) ? d : undefined;
    });
    expect(detail.connection.id).toBe(user.connectionId);
    expect(detail.workflow.execution).toBe('RUNNING');
    expect(detail.status?.connectionId).toBe(user.connectionId);
    expect(detail.status?.settings?.calendarId).toBe(user.calendarId);
    const entry = detail.audit.find((e) => e.subject === `activity:${activity.id}`)!;
    expect(entry).toMatchObject({ direction: 'pipedrive-to-google', outcome: 'ok' });
    const ids = detail.audit.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expectNoSecrets(detail, await secretsOf(user));
    expect((await admin.connection(user.connectionId, 0)).audit).toEqual([]);
  });

  it('answers 404 for an unknown connection and starts no workflow for it', async () => {
    const id = `nobody-${randomUUID().slice(0, 8)}`;
    for (const call of [
      () => admin.connection(id),
      () => admin.pause(id),
      () => admin.start(id),
      () => admin.changeSettings(id, { mode: 'two-way' }),
      () => admin.disconnect(id),
    ]) {
      const err = await failure(call());
      expect(err.status).toBe(404);
      expect(err.message).toContain(id);
    }
    expect(await executionStatus(id)).toBeUndefined();
  });

  it('rejects a bad audit limit with 400', async () => {
    const user = await h.connectUser();
    const res = await raw('GET', `/connections/${user.connectionId}?audit=lots`);
    expect(res.status).toBe(400);
    expect(res.body?.problems).toEqual([expect.stringContaining('audit')]);
  });
});

describe('controlling the sync', () => {
  it('pauses and resumes a sync', async () => {
    const user = await h.connectUser();
    const paused = await admin.pause(user.connectionId);
    expect(paused.status?.state).toBe('paused');
    expect((await h.sync.status(user.connectionId)).state).toBe('paused');
    const resumed = await admin.resume(user.connectionId);
    expect(resumed.status?.state).toBe('idle');
    expect((await h.sync.status(user.connectionId)).state).toBe('idle');
  });

  it('starts a switched-off sync with its stored settings merged with the request', async () => {
    const user = await h.connectUser();
    await admin.changeSettings(user.connectionId, { enabled: false });
    expect((await getConnection(h.stack.db, user.connectionId))!.settings.enabled).toBe(false);
    const started = await admin.start(user.connectionId, { titleTemplate: '{subject}' });
    expect(started.settings).toMatchObject({ enabled: true, calendarId: user.calendarId, titleTemplate: '{subject}' });
    expect((await getConnection(h.stack.db, user.connectionId))!.settings).toMatchObject({
      enabled: true,
      titleTemplate: '{subject}',
    });
    expect((await h.sync.status(user.connectionId)).settings?.enabled).toBe(true);
  });

  it('refuses to start a connection without a calendar, saying why, and starts no workflow', async () => {
    const id = `conn-${randomUUID().slice(0, 8)}`;
    await upsertConnection(h.stack.db, { id, displayName: 'no calendar yet' });
    const err = await failure(admin.start(id));
    expect(err.status).toBe(400);
    expect(err.problems).toEqual(['calendarId: choose a calendar before enabling the sync']);
    expect(await executionStatus(id)).toBeUndefined();
    expect((await getConnection(h.stack.db, id))!.settings.enabled).toBe(false);
  });

  it('disconnects a sync: the workflow completes with the sync off, and a second disconnect is a no-op', async () => {
    const user = await h.connectUser();
    const r = await admin.disconnect(user.connectionId);
    expect(r.status?.state).toBe('disconnected');
    await eventually(async () => ((await executionStatus(user.connectionId)) === 'COMPLETED' ? true : undefined));
    expect((await getConnection(h.stack.db, user.connectionId))!.settings.enabled).toBe(false);
    const listed = (await admin.listConnections()).connections.find((c) => c.id === user.connectionId)!;
    expect(listed.workflow).toEqual({ execution: 'COMPLETED', state: 'disconnected' });
    expect((await admin.disconnect(user.connectionId)).status).toBeNull();
    expect((await admin.connection(user.connectionId)).status).toBeNull();
  });
});

describe('settings', () => {
  it('shows the stored settings', async () => {
    const user = await h.connectUser({ mode: 'pipedrive-to-google' });
    const { settings } = await admin.settings(user.connectionId);
    expect(settings).toMatchObject({ enabled: true, calendarId: user.calendarId, mode: 'pipedrive-to-google' });
  });

  it('changes the given settings and keeps the others', async () => {
    const user = await h.connectUser();
    const r = await admin.changeSettings(user.connectionId, { mode: 'pipedrive-to-google', deletion: 'unlink' });
    expect(r.settings).toMatchObject({ mode: 'pipedrive-to-google', deletion: 'unlink', calendarId: user.calendarId });
    expect((await h.sync.status(user.connectionId)).settings).toMatchObject({
      mode: 'pipedrive-to-google',
      deletion: 'unlink',
      enabled: true,
    });
    expect((await getConnection(h.stack.db, user.connectionId))!.settings.deletion).toBe('unlink');
  });

  it("rejects invalid settings with the workflow validator's reasons, changing nothing", async () => {
    const user = await h.connectUser();
    const before = (await getConnection(h.stack.db, user.connectionId))!.settings;
    const err = await failure(
      admin.changeSettings(user.connectionId, { mode: 'sideways', titleTemplate: '{nope}', colour: 'red' }),
    );
    expect(err.status).toBe(400);
    expect(err.problems.some((p) => p.startsWith('mode:'))).toBe(true);
    expect(err.problems.some((p) => p.startsWith('titleTemplate:'))).toBe(true);
    expect(err.problems.some((p) => p.includes('colour'))).toBe(true);
    expect((await getConnection(h.stack.db, user.connectionId))!.settings).toEqual(before);
    expect((await h.sync.status(user.connectionId)).settings).toEqual(before);
  });

  it('rejects a body that is not a settings object, or is empty, changing nothing', async () => {
    const user = await h.connectUser();
    const before = (await getConnection(h.stack.db, user.connectionId))!.settings;
    const path = `/connections/${user.connectionId}/settings`;
    for (const body of ['{not json', '[1,2]', '"two-way"', '{}', '']) {
      const res = await raw('PATCH', path, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(typeof res.body?.error).toBe('string');
    }
    expect((await getConnection(h.stack.db, user.connectionId))!.settings).toEqual(before);
  });

  it('rejects a body on an action that takes none, and an oversized body (413)', async () => {
    const user = await h.connectUser();
    const pause = await raw('POST', `/connections/${user.connectionId}/pause`, { body: '{"now":true}' });
    expect(pause.status).toBe(400);
    expect((await h.sync.status(user.connectionId)).state).toBe('idle');
    const huge = JSON.stringify({ titleTemplate: 'x'.repeat(300 * 1024) });
    const res = await raw('PATCH', `/connections/${user.connectionId}/settings`, { body: huge });
    expect(res.status).toBe(413);
  });
});

describe('upload unsynced', () => {
  it('reports no upload before one was started', async () => {
    const user = await h.connectUser();
    expect(await admin.uploadProgress(user.connectionId)).toEqual({ connectionId: user.connectionId, progress: null });
  });

  it('starts an upload whose progress reaches completed with an event for every activity in range', async () => {
    const user = await h.connectUser({ enabled: false });
    h.unsyncedActivities(user, 5);
    h.unsyncedActivities(user, 2, () => ({ due_date: '2027-03-01' }));
    await switchOn(user);
    const started = await admin.startUpload(user.connectionId, { from: '2026-01-01', to: '2026-12-31' });
    expect(started.uploadWorkflowId).toBe(`${workflowIdFor(user.connectionId)}:upload`);
    const done = await eventually(async () => {
      const { progress } = await admin.uploadProgress(user.connectionId);
      return progress?.state === 'completed' ? progress : undefined;
    }, 30_000);
    expect(done).toMatchObject({ total: 5, done: 5, pending: 0, failed: 0 });
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(5);
  });

  it('rejects bad upload options with the reasons and starts nothing', async () => {
    const user = await h.connectUser();
    for (const [body, problem] of [
      [{ from: '2026-02-30' }, 'from must be a date YYYY-MM-DD'],
      [{ from: '2026-06-02', to: '2026-06-01' }, 'from must not be after to'],
    ] as const) {
      const err = await failure(admin.startUpload(user.connectionId, body));
      expect(err.status).toBe(400);
      expect(err.problems).toEqual([problem]);
    }
    for (const body of ['{"includeDone":"yes"}', '{"from":"2026-13-01"}', '{"quota":5}']) {
      const res = await raw('POST', `/connections/${user.connectionId}/upload`, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    expect((await admin.uploadProgress(user.connectionId)).progress).toBeNull();
  });

  it('cancels a running upload', async () => {
    const user = await h.connectUser({ enabled: false });
    h.unsyncedActivities(user, 300);
    await switchOn(user);
    await admin.startUpload(user.connectionId);
    await admin.cancelUpload(user.connectionId);
    const ended = await eventually(async () => {
      const { progress } = await admin.uploadProgress(user.connectionId);
      return progress && progress.state !== 'scanning' && progress.state !== 'uploading' ? progress : undefined;
    }, 30_000);
    expect(ended.state).toBe('cancelled');
    expect(ended.done).toBeLessThan(300);
  });
});
