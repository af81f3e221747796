/**
 * The `calendar-sync` CLI, run as a real child process (through tsx, as `npm run cli` does) against the
 * harness's HTTP server and the real stack behind it. Each test checks what the operator sees (stdout,
 * stderr) and the exit code, and where the command changes something, that the change happened.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getConnection } from '../../adapters/store/connections.js';
import { runCli } from '../../client/cli/commands.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const ROOT = path.resolve(import.meta.dirname, '../..');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ feeds: true, adminToken: ADMIN_TOKEN });
});
afterAll(async () => {
  await h.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process (asynchronously: the server it talks to lives in this process). */
function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  onStdout?: (chunk: string) => void,
): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CALENDAR_SYNC_')));
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['node_modules/tsx/dist/cli.mjs', 'client/cli/main.ts', ...args],
      {
        cwd: ROOT,
        env: { ...base, CALENDAR_SYNC_URL: h.http!.url, CALENDAR_SYNC_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (onStdout) child.stdout?.on('data', (d: Buffer) => onStdout(d.toString()));
  });
}

/** Switches the sync on: activities created while it was off have no event (until an upload). */
async function switchOn(user: SyncUser): Promise<void> {
  const { settings } = (await getConnection(h.stack.db, user.connectionId))!;
  await h.sync.configure(user.connectionId, { ...settings, enabled: true });
}

describe('usage and errors', () => {
  it('prints the usage with every command for `help`, and exits 0', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    for (const command of [
      'connections',
      'status <id>',
      'start <id>',
      'pause <id>',
      'resume <id>',
      'disconnect <id>',
      'settings <id>',
      'upload <id>',
      'upload-status <id>',
      'upload-cancel <id>',
    ]) {
      expect(r.stdout).toContain(command);
    }
  });

  it('exits 2 with a hint for an unknown command, a missing id, or a bad option', async () => {
    const [unknown, missing, option] = await Promise.all([
      cli(['frobnicate']),
      cli(['pause']),
      cli(['connections', '--colour']),
    ]);
    expect([unknown.code, missing.code, option.code]).toEqual([2, 2, 2]);
    expect(unknown.stderr).toContain('unknown command: frobnicate');
    expect(missing.stderr).toContain('pause needs exactly one connection id');
    expect(option.stderr).toContain('--colour');
    expect(unknown.stderr).toContain('calendar-sync help');
  });

  it('exits 4 naming the token variable when the admin token is missing or wrong', async () => {
    const [missing, wrong] = await Promise.all([
      cli(['connections'], { CALENDAR_SYNC_ADMIN_TOKEN: undefined }),
      cli(['connections'], { CALENDAR_SYNC_ADMIN_TOKEN: 'not-the-token' }),
    ]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/not authenticated.*CALENDAR_SYNC_ADMIN_TOKEN/);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/not allowed: wrong admin token.*CALENDAR_SYNC_ADMIN_TOKEN/);
    expect(wrong.stdout).toBe('');
  });

  it('exits 3 saying which server it cannot reach', async () => {
    const r = await cli(['connections'], { CALENDAR_SYNC_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach the sync server at http://127.0.0.1:9');
  });

  it('exits 1 for an unknown connection', async () => {
    const id = `nobody-${randomUUID().slice(0, 8)}`;
    const r = await cli(['status', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`unknown connection: ${id}`);
  });
});

describe('connections and status', () => {
  it('lists connections as a table with their sync state, and as JSON with --json', async () => {
    const a = await h.connectUser();
    const b = await h.connectUser();
    await h.sync.pause(b.connectionId);
    const [text, json] = await Promise.all([cli(['connections']), cli(['connections', '--json'])]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+SYNC\s+STATE\s+MODE\s+CALENDAR\s+GOOGLE\s+PIPEDRIVE$/);
    const row = (id: string) => lines.find((l) => l.startsWith(`${id} `))!.split(/\s{2,}/);
    expect(row(a.connectionId).slice(2, 4)).toEqual(['on', 'idle']);
    expect(row(b.connectionId).slice(2, 4)).toEqual(['on', 'paused']);
    expect(text.stdout).not.toContain(a.apiToken);
    const parsed = JSON.parse(json.stdout) as { connections: Array<{ id: string; workflow: { state: string } }> };
    expect(parsed.connections.find((c) => c.id === b.connectionId)?.workflow.state).toBe('paused');
  });

  it("shows a connection's status and its recent audit log", async () => {
    const user = await h.connectUser();
    const activity = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Call Hank',
      type: 'meeting',
      due_date: '2026-12-01',
      due_time: '09:30',
      duration: '01:00',
    }) as { id: number };
    // The webhook reaches our server and the sync writes the event and its audit row.
    await eventually(async () => {
      const { rows } = await h.stack.db.query('SELECT 1 FROM audit_log WHERE connection_id = $1 AND subject = $2', [
        user.connectionId,
        `activity:${activity.id}`,
      ]);
      return rows.length > 0 ? true : undefined;
    });
    const r = await cli(['status', user.connectionId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Connection   ${user.connectionId}`);
    expect(r.stdout).toContain(`Google       ${user.email}`);
    expect(r.stdout).toMatch(/Workflow\s+idle/);
    expect(r.stdout).toContain('Recent activity (newest first):');
    expect(r.stdout).toMatch(new RegExp(`pipedrive-to-google\\s+\\S+\\s+activity:${activity.id}\\s+ok`));
  });
});

describe('controlling the sync', () => {
  it('pauses and resumes a sync', async () => {
    const user = await h.connectUser();
    const paused = await cli(['pause', user.connectionId]);
    expect(paused).toMatchObject({ code: 0, stdout: `Sync of ${user.connectionId} paused (state: paused).\n` });
    expect((await h.sync.status(user.connectionId)).state).toBe('paused');
    const resumed = await cli(['resume', user.connectionId]);
    expect(resumed).toMatchObject({ code: 0, stdout: `Sync of ${user.connectionId} resumed (state: idle).\n` });
    expect((await h.sync.status(user.connectionId)).state).toBe('idle');
  });

  it('starts a switched-off sync', async () => {
    const user = await h.connectUser({ enabled: false });
    const r = await cli(['start', user.connectionId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Sync of ${user.connectionId} started (calendar ${user.calendarId}, two-way).`);
    expect((await getConnection(h.stack.db, user.connectionId))!.settings.enabled).toBe(true);
  });

  it('disconnects a sync: the workflow ends and the sync is off', async () => {
    const user = await h.connectUser();
    const r = await cli(['disconnect', user.connectionId]);
    expect(r).toMatchObject({ code: 0, stdout: `Sync of ${user.connectionId} disconnected (state: disconnected).\n` });
    const d = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).describe();
    expect(d.status.name).toBe('COMPLETED');
    expect((await getConnection(h.stack.db, user.connectionId))!.settings.enabled).toBe(false);
  });
});

describe('settings', () => {
  it('shows the settings, one per line', async () => {
    const user = await h.connectUser();
    const r = await cli(['settings', user.connectionId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^calendarId\\s+${user.calendarId}$`, 'm'));
    expect(r.stdout).toMatch(/^mode\s+two-way$/m);
    expect(r.stdout).toMatch(/^activityTypesOut\s+\(all\)$/m);
  });

  it('changes settings given with --set, reading each value as its type', async () => {
    const user = await h.connectUser();
    const r = await cli([
      'settings',
      user.connectionId,
      '--set',
      'mode=pipedrive-to-google',
      '--set',
      'contactDetails=true',
      '--set',
      'activityTypesOut=call,meeting',
      '--set',
      'recurringHorizonDays=30',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Settings of ${user.connectionId} saved:`);
    expect((await getConnection(h.stack.db, user.connectionId))!.settings).toMatchObject({
      mode: 'pipedrive-to-google',
      contactDetails: true,
      activityTypesOut: ['call', 'meeting'],
      recurringHorizonDays: 30,
    });
    expect((await h.sync.status(user.connectionId)).settings?.mode).toBe('pipedrive-to-google');
  });

  it('exits 1 listing the reasons when the server rejects the settings, and changes nothing', async () => {
    const user = await h.connectUser();
    const before = (await getConnection(h.stack.db, user.connectionId))!.settings;
    const r = await cli(['settings', user.connectionId, '--set', 'mode=sideways', '--set', 'recurringHorizonDays=0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid settings');
    expect(r.stderr).toMatch(/^ {2}- mode: /m);
    expect(r.stderr).toMatch(/^ {2}- recurringHorizonDays: /m);
    expect((await getConnection(h.stack.db, user.connectionId))!.settings).toEqual(before);
  });

  it('exits 2 without calling the server when a --set value does not fit the setting', async () => {
    const user = await h.connectUser();
    const [notBool, noEquals] = await Promise.all([
      cli(['settings', user.connectionId, '--set', 'contactDetails=maybe']),
      cli(['settings', user.connectionId, '--set', 'mode']),
    ]);
    expect(notBool).toMatchObject({ code: 2 });
    expect(notBool.stderr).toContain('contactDetails must be true or false');
    expect(noEquals).toMatchObject({ code: 2 });
    expect(noEquals.stderr).toContain('--set needs key=value');
  });
});

describe('upload unsynced', () => {
  it('watches an upload to 100% with plain progress lines when not on a terminal, and exits 0', async () => {
    const user = await h.connectUser({ enabled: false });
    const ids = h.unsyncedActivities(user, 12);
    h.unsyncedActivities(user, 3, () => ({ due_date: '2027-02-01' }));
    await switchOn(user);
    const r = await cli(['upload', user.connectionId, '--from', '2026-01-01', '--to', '2026-12-31', '--watch']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.every((l) => l.startsWith('upload: ') || l === `Upload for ${user.connectionId} finished.`)).toBe(
      true,
    );
    expect(lines.at(-2)).toBe('upload: 100% 12/12 (12 written, 0 already synced) completed');
    expect(lines.at(-1)).toBe(`Upload for ${user.connectionId} finished.`);
    expect(r.stdout).not.toContain('\r');
    expect(h.google.control.listEvents(user.email, user.calendarId)).toHaveLength(ids.length);

    const status = await cli(['upload-status', user.connectionId]);
    expect(status.code).toBe(0);
    expect(status.stdout.split('\n')[0]).toBe('upload: 100% 12/12 (12 written, 0 already synced) completed');
  });

  it('redraws a progress bar in place on a terminal until it reaches 100%', async () => {
    const user = await h.connectUser({ enabled: false });
    h.unsyncedActivities(user, 8);
    await switchOn(user);
    let written = '';
    const io = {
      env: { CALENDAR_SYNC_URL: h.http!.url, CALENDAR_SYNC_ADMIN_TOKEN: ADMIN_TOKEN },
      stdout: { isTTY: true, write: (s: string) => (written += s) },
      stderr: { write: (s: string) => (written += s) },
      pollMs: 100,
    };
    expect(await runCli(['upload', user.connectionId, '--watch'], io)).toBe(0);
    const frames = written.split('\r\x1b[2K').slice(1);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)).toBe(
      `[${'#'.repeat(30)}] 100%  8/8 (8 written, 0 already synced) completed\nUpload for ${user.connectionId} finished.\n`,
    );
  });

  it('reports "no upload" before one, starts one without --watch, and cancels it; a watcher then exits 1', async () => {
    const user = await h.connectUser({ enabled: false });
    expect((await cli(['upload-status', user.connectionId])).stdout).toBe(`No upload for ${user.connectionId}.\n`);
    h.unsyncedActivities(user, 300);
    await switchOn(user);
    const started = await cli(['upload', user.connectionId]);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toContain(`Upload for ${user.connectionId} started.`);
    // Cancel only once the watcher has joined the running upload (a watcher that came after the cancel would
    // rightly start a new upload of what is left) and the scan has counted all 300 (a cancel during the scan
    // leaves "N/k+" as the final count: a different story from the one this test tells).
    let attached!: () => void;
    const watching = new Promise<void>((resolve) => (attached = resolve));
    let watcherOut = '';
    const watcher = cli(['upload', user.connectionId, '--watch'], {}, (out) => {
      watcherOut += out;
      if (/^upload: \d+% \d+\/300 /m.test(watcherOut)) attached();
    });
    // A watcher that exits before it shows any progress fails the test here with its output, instead of a hang.
    const early = await Promise.race([watching.then(() => null), watcher]);
    expect(early, 'the watcher ended before it showed progress').toBeNull();
    const cancelled = await cli(['upload-cancel', user.connectionId]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`Upload for ${user.connectionId} cancelled.`);
    const watched = await watcher;
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain(`upload for ${user.connectionId} cancelled`);
    const after = await cli(['upload-status', user.connectionId]);
    expect(after.stdout).toMatch(/^upload: \d+% \d+\/300 .* cancelled$/m);
  });
});

describe('sync health', () => {
  it('lists resync and retry in the usage', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resync <id>');
    expect(r.stdout).toContain('retry <id> <subject>');
  });

  it('shows the last sync per direction, the next pass, and a failing item with its retry command', async () => {
    const user = await h.connectUser();
    h.google.control.setFaults({ errorRates: { 400: 1 } });
    let subject = '';
    try {
      const a = h.pipedrive.control.createActivity({
        userId: user.pipedriveUserId,
        subject: 'Refused',
        type: 'call',
        due_date: '2026-12-03',
        due_time: '09:00',
        duration: '00:30',
      }) as { id: number };
      subject = `activity:${a.id}`;
      await eventually(async () =>
        (await h.sync.status(user.connectionId)).unresolved.some((f) => f.subject === subject) ? true : undefined,
      );
    } finally {
      h.google.control.setFaults({});
    }
    const r = await cli(['status', user.connectionId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Last sync {4}Pipedrive → Google (never|\S+ \(.+\))$/m);
    expect(r.stdout).toMatch(/^ {13}Google → Pipedrive \S+Z \((just now|\d+ s ago)\)$/m);
    expect(r.stdout).toMatch(/^Safety net {3}next at \S+Z \(in \d+ min\)$/m);
    expect(r.stdout).toContain(`retry: calendar-sync retry ${user.connectionId} ${subject}`);

    const retried = await cli(['retry', user.connectionId, subject]);
    expect(retried).toMatchObject({ code: 0, stderr: '' });
    expect(retried.stdout).toContain(`Retry of ${subject} queued for ${user.connectionId}`);
    await eventually(async () => ((await h.sync.status(user.connectionId)).unresolved.length === 0 ? true : undefined));
    const again = await cli(['retry', user.connectionId, subject]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`nothing to retry: ${subject} is not failing`);
    expect((await cli(['retry', user.connectionId])).code).toBe(2);
  });

  it('resyncs now, adds nothing when asked again while the pass waits, and refuses while the sync is off', async () => {
    const user = await h.connectUser();
    await h.settled(user.connectionId);
    await h.sync.pause(user.connectionId);
    const first = await cli(['resync', user.connectionId]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`Resync of ${user.connectionId} queued (3 steps)`);
    const second = await cli(['resync', user.connectionId]);
    expect(second.stdout).toBe(`Resync of ${user.connectionId} already queued; nothing added.\n`);
    const running = await cli(['status', user.connectionId]);
    expect(running.stdout).toMatch(/^Resync {7}asked \S+Z \(.+\), running \(3 steps left\)$/m);
    await h.sync.resume(user.connectionId);
    await eventually(async () => ((await h.sync.status(user.connectionId)).resync?.finishedAt ? true : undefined));
    expect((await cli(['status', user.connectionId])).stdout).toMatch(/^Resync {7}asked .*, finished \S+Z$/m);

    const off = await h.connectUser({ enabled: false });
    const refused = await cli(['resync', off.connectionId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the sync is off: switch it on to resync');
  });
});
