/**
 * The settings page in a real headless Chromium, against the sandbox-like stack (emulators as Google and
 * Pipedrive, real OAuth round trips through their consent endpoints): connect both accounts, choose a
 * calendar, switch modes, save, upload unsynced activities to 100 %, see an audit entry appear after a change
 * in Pipedrive, disconnect. Screenshots of the main states go to test-results/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/provision/chromium.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

const shots = path.join(projectRoot, 'test-results', 'screenshots');
let h: Harness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  const [harness, executablePath] = await Promise.all([
    startHarness({ web: true, googleQuotaPerMinute: 100_000 }),
    ensureChromium(console.log),
  ]);
  h = harness;
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(shots, `settings-${name}.png`), fullPage: true });

describe('the settings page', () => {
  it('takes a user from connecting both accounts to a running, uploaded and disconnected sync', async () => {
    const email = 'browser.user@example.com';
    h.google.control.createUser({ email });
    const pd = h.pipedrive.control.createUser({ companyId: h.companyId, name: 'Browser User', email });
    // Our OAuth app in Pipedrive's emulator is this user's client (the emulator gives each user one).
    h.deps.pipedrive.clientId = pd.oauth.clientId;
    h.deps.pipedrive.clientSecret = pd.oauth.clientSecret;
    const existing = Array.from(
      { length: 30 },
      (_, i) =>
        (
          h.pipedrive.control.createActivity({
            userId: pd.userId,
            subject: `Existing ${i}`,
            type: 'call',
            due_date: '2026-12-14',
            due_time: '08:00',
            duration: '00:15',
          }) as { id: number }
        ).id,
    );

    await page.goto(`${h.http!.url}/settings`);
    await expect.poll(() => page.locator('#connect-google').isVisible()).toBe(true);
    await shot('1-signed-out');

    await page.click('#connect-google');
    await page.waitForURL(/\/settings/);
    await expect.poll(() => page.textContent('#google-state')).toContain(email);
    await page.click('#connect-pipedrive');
    await page.waitForURL(/\/settings/);
    await expect.poll(() => page.textContent('#pipedrive-state')).toContain(String(pd.userId));
    await page.waitForSelector('#settings:not([hidden])');
    await shot('2-connected');

    const { rows } = await h.stack.db.query('SELECT id FROM connections WHERE google_email = $1', [email]);
    const connectionId: string = rows[0].id;
    expect(await loadCredentials(h.stack.db, h.deps.secrets, connectionId, 'pipedrive')).toMatchObject({
      kind: 'oauth',
    });

    // Choose a calendar, switch modes, change the title template (live preview), save.
    await page.selectOption('#calendar', email);
    await page.check('#enabled');
    await page.check('#mode-p2g');
    await page.check('#mode-two-way');
    await page.fill('#title-template', '{subject} – {org}');
    await expect.poll(() => page.textContent('#title-preview')).toContain('Discovery call – Globex');
    await page.click('#save');
    await expect.poll(() => page.textContent('#save-result')).toBe('Saved.');
    const saved = (await h.sync.status(connectionId)).settings;
    expect(saved).toMatchObject({
      enabled: true,
      calendarId: email,
      mode: 'two-way',
      titleTemplate: '{subject} – {org}',
    });
    await shot('3-saved');

    // A bad template is refused with the reason, and nothing changes.
    await page.fill('#title-template', '{deal} only');
    await page.click('#save');
    await expect.poll(() => page.textContent('#save-result')).toMatch(/subject/);
    expect((await h.sync.status(connectionId)).settings?.titleTemplate).toBe('{subject} – {org}');
    await page.fill('#title-template', '{subject} – {org}');

    // Upload unsynced activities and watch the bar reach 100 %.
    await page.click('#upload');
    await expect.poll(() => page.getAttribute('#upload-progress', 'value'), { timeout: 60_000 }).toBe('100');
    await shot('4-uploaded');
    for (const id of existing) {
      const event = h.google.control
        .listEvents(email, email)
        .find((e) => e.extendedProperties?.private?.pdActivityId === String(id));
      expect(event?.summary).toBe(`Existing ${existing.indexOf(id)}`);
    }

    // A change in Pipedrive reaches Google through the webhook and shows up in the recent activity.
    const fresh = h.pipedrive.control.createActivity({
      userId: pd.userId,
      subject: 'Made in Pipedrive',
      type: 'meeting',
      due_date: '2026-12-15',
      due_time: '10:00',
      duration: '01:00',
    }) as { id: number };
    await expect.poll(() => page.textContent('#audit'), { timeout: 20_000 }).toContain(`activity:${fresh.id}`);
    await shot('5-recent-activity');

    page.once('dialog', (d) => void d.accept());
    await page.click('#disconnect');
    await page.waitForURL(/error=Disconnected/);
    await expect.poll(() => page.textContent('#flash')).toContain('Disconnected');
    await shot('6-disconnected');
    expect(await loadCredentials(h.stack.db, h.deps.secrets, connectionId, 'google')).toBeNull();
    const described = await eventually(async () => {
      const d = await h.stack.client.workflow.getHandle(workflowIdFor(connectionId)).describe();
      return d.status.name === 'COMPLETED' ? d : undefined;
    });
    expect(described.status.name).toBe('COMPLETED');
  });

  it('does not show or change another user’s settings', async () => {
    const other = await h.connectUser();
    const api = (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${h.http!.url}${p}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // No session: nothing.
    expect((await api('GET', '/api/me')).status).toBe(401);
    // A forged session cookie naming the other user's connection: rejected.
    const forged = { cookie: `cs_session=${other.connectionId}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` };
    expect((await api('GET', '/api/me', undefined, forged)).status).toBe(401);
    expect((await api('PUT', '/api/me/settings', { enabled: false }, forged)).status).toBe(401);
    expect((await h.sync.status(other.connectionId)).settings?.enabled).toBe(true);
  });
});
