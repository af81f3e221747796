/**
 * The settings page in a real headless Chromium, against the sandbox-like stack (emulators as Google and
 * Pipedrive, real OAuth round trips through their consent endpoints): connect both accounts, choose a
 * calendar, switch modes, save, upload unsynced activities to 100 %, see an audit entry appear after a change
 * in Pipedrive, disconnect; the sync health panel (last syncs, Resync now, a failing item and its Retry, needs
 * reconnect and its button) and the contact, video-call and import settings. Screenshots of the main states go to
 * test-results/screenshots/; those of the health panel and the new settings too, and to docs/screenshots/ (the
 * README shows them) when the run is asked to refresh them: `UPDATE_DOC_SCREENSHOTS=1` (their clocks and ids
 * differ on every run, so an ordinary run leaves the docs alone).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../adapters/store/connections.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/provision/chromium.js';
import { projectRoot } from '../../scripts/provision/paths.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

const shots = path.join(projectRoot, 'test-results', 'screenshots');
const docShots = process.env.UPDATE_DOC_SCREENSHOTS === '1' ? path.join(projectRoot, 'docs', 'screenshots') : shots;
let h: Harness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  await mkdir(docShots, { recursive: true });
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

/** A screenshot for the docs: just the given parts of the page (from the first one's top to the last one's bottom). */
async function docShot(name: string, first: Locator, last: Locator = first): Promise<void> {
  const page = first.page();
  // Bounding boxes are relative to the viewport; a full-page clip is in page coordinates.
  const [a, b, scroll] = await Promise.all([
    first.boundingBox(),
    last.boundingBox(),
    page.evaluate<{ x: number; y: number }>('({ x: window.scrollX, y: window.scrollY })'),
  ]);
  const x = Math.min(a!.x, b!.x) + scroll.x - 8;
  const y = Math.min(a!.y, b!.y) + scroll.y - 8;
  await page.screenshot({
    path: path.join(docShots, `${name}.png`),
    fullPage: true,
    clip: { x, y, width: Math.max(a!.width, b!.width) + 16, height: b!.y + b!.height + scroll.y - y + 8 },
  });
}

/** Signs a browser in to an existing connection through Google (the emulator's consent, for `email`). */
async function signInCookie(email: string): Promise<{ name: string; value: string; url: string }> {
  const web = h.http!.url;
  const start = await fetch(`${web}/connect/google`, { redirect: 'manual' });
  const stateCookie = start.headers.getSetCookie()[0]!.split(';')[0]!;
  const consent = new URL(start.headers.get('location')!);
  consent.searchParams.set('login_hint', email);
  const approved = new URL((await fetch(consent, { redirect: 'manual' })).headers.get('location')!);
  const signedIn = await fetch(`${web}/oauth/google/callback${approved.search}`, {
    redirect: 'manual',
    headers: { cookie: stateCookie },
  });
  const session = signedIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('cs_session=') && c.length > 'cs_session='.length)!;
  const eq = session.indexOf('=');
  return { name: session.slice(0, eq), value: session.slice(eq + 1), url: web };
}

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

  it('shows the sync health, resyncs, retries a failing item, fixes a needed reconnect; the new settings save', async () => {
    const user = await h.connectUser();
    const context = await browser.newContext({ viewport: { width: 1000, height: 1400 } });
    const p = await context.newPage();
    try {
      await context.addCookies([await signInCookie(user.email)]);
      // The Reconnect button's consent is for this user (the emulator would otherwise approve its first account).
      // (Routes do not see redirects: the consent URL is rewritten in our server's redirect to it.)
      await p.route(`${h.http!.url}/connect/google`, async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const consent = new URL(response.headers().location!);
        consent.searchParams.set('login_hint', user.email);
        await route.fulfill({ response, headers: { ...response.headers(), location: consent.toString() } });
      });
      await p.goto(`${h.http!.url}/settings`);
      await p.waitForSelector('#health-section:not([hidden])');

      // The new settings, grouped, with their defaults; the import filters apply in two-way mode only.
      const checked = (id: string) => p.isChecked(`#${id}`);
      expect(
        await Promise.all(
          [
            'link-contacts',
            'create-persons',
            'create-meet-links',
            'import-other-types',
            'import-declined',
            'import-free',
            'import-all-day',
            'import-no-guests',
          ].map(checked),
        ),
      ).toEqual([true, false, false, false, false, true, true, true]);
      expect(await p.isDisabled('#import-declined')).toBe(false);
      await p.check('#mode-p2g');
      expect(await p.isDisabled('#import-declined')).toBe(true);
      await p.check('#mode-two-way');
      await p.check('#import-declined');
      await p.uncheck('#import-free');
      await p.check('#create-meet-links');
      await p.click('#save');
      await expect.poll(() => p.textContent('#save-result')).toBe('Saved.');
      expect((await h.sync.status(user.connectionId)).settings).toMatchObject({
        importDeclined: true,
        importFree: false,
        createMeetLinks: true,
        linkContacts: true,
      });
      await docShot('settings-contacts-video-imports', p.locator('#contacts-group'), p.locator('#import-group'));

      // Idle: both directions synced (exact time on hover), the next pass, nothing waiting. Resync now waits while the
      // sync is paused (the button stays disabled), then finishes.
      await expect.poll(() => p.textContent('#last-g2p')).toMatch(/ago|just now/);
      expect(await p.getAttribute('#last-g2p', 'title')).toBeTruthy();
      expect(await p.textContent('#next-pass')).toMatch(/^in /);
      await expect.poll(() => p.textContent('#waiting')).toBe('nothing'); // the save's feed refresh done
      await h.sync.pause(user.connectionId);
      await p.click('#resync');
      await expect.poll(() => p.textContent('#resync-result')).toBe('Resync queued: the sync is paused.');
      expect(await p.isDisabled('#resync')).toBe(true);
      await h.sync.resume(user.connectionId);
      await expect.poll(() => p.textContent('#resync-result')).toMatch(/^Resync finished at .*: both sides checked\.$/);
      expect(await p.isDisabled('#resync')).toBe(false);
      await expect.poll(() => p.textContent('#last-p2g')).toMatch(/ago|just now/);
      await docShot('sync-health-idle', p.locator('#health-section'));

      // A failing item: its reason and a Retry, which syncs it once Google accepts again.
      const newActivity = (subject: string) =>
        (
          h.pipedrive.control.createActivity({
            userId: user.pipedriveUserId,
            subject,
            type: 'meeting',
            due_date: '2026-12-16',
            due_time: '09:00',
            duration: '00:30',
          }) as { id: number }
        ).id;
      const eventOf = (id: number) =>
        h.google.control
          .listEvents(user.email, user.calendarId)
          .find((e) => e.id === eventIdFor(user.connectionId, id));
      h.google.control.setFaults({ errorRates: { 400: 1 } });
      let refused: number;
      try {
        refused = newActivity('Refused by Google');
        await expect
          .poll(() => p.textContent('#unresolved-list'), { timeout: 30_000 })
          .toMatch(new RegExp(`activity:${refused}: .*400`));
      } finally {
        h.google.control.setFaults({});
      }
      await docShot('sync-health-failing', p.locator('#health-section'));
      await p.click(`#unresolved-list li[data-subject="activity:${refused}"] button.retry`);
      await expect.poll(() => p.isHidden('#unresolved'), { timeout: 30_000 }).toBe(true);
      expect(eventOf(refused)?.summary).toBe('Refused by Google');

      // Needs reconnect: the sentence and the button that starts Google's OAuth again; gone after reconnecting.
      h.google.control.revokeRefreshToken(user.email);
      const blocked = newActivity('Waiting for Google');
      await expect.poll(() => p.isVisible('#reconnect'), { timeout: 30_000 }).toBe(true);
      expect(await p.textContent('#reconnect-text')).toContain('Google needs reconnecting');
      expect(await p.getAttribute('#reconnect-button', 'href')).toBe('/connect/google');
      await docShot('sync-health-needs-reconnect', p.locator('#health-section'));
      const [callback] = await Promise.all([
        p.waitForResponse((r) => r.url().includes('/oauth/google/callback')),
        p.click('#reconnect-button'),
      ]);
      expect(callback.headers().location).toBe('/settings');
      await p.waitForURL(/\/settings$/);
      await p.waitForSelector('#health-section:not([hidden])');
      await expect.poll(async () => (await h.sync.status(user.connectionId)).needsReconnect).toBeNull();
      await expect.poll(() => eventOf(blocked)?.summary, { timeout: 30_000 }).toBe('Waiting for Google');
      await expect.poll(() => p.isHidden('#reconnect')).toBe(true);
      expect(await p.textContent('#google-state')).toContain(user.email);
    } finally {
      await context.close();
    }
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
