/**
 * The settings page: static HTML, CSS and a small script (client/http/assets/), served as files; the page
 * fills itself from the JSON API (settings-api.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Router } from '../../lib/http-server.js';

const assetsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');

const ASSETS: Record<string, string> = {
  'settings.html': 'text/html; charset=utf-8',
  'settings.css': 'text/css; charset=utf-8',
  'settings.js': 'text/javascript; charset=utf-8',
};

// Read once at start: the page is small and static.
const files = Object.fromEntries(
  Object.keys(ASSETS).map((name) => [name, readFileSync(path.join(assetsDir, name), 'utf8')]),
);

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export function registerSettingsPage(router: Router): void {
  const serve = (name: string) => () => ({
    status: 200,
    headers: { 'content-type': ASSETS[name]!, 'cache-control': 'no-cache', ...SECURITY_HEADERS },
    body: files[name]!,
  });
  router.on('GET', '/settings', serve('settings.html'));
  router.on('GET', '/assets/settings.css', serve('settings.css'));
  router.on('GET', '/assets/settings.js', serve('settings.js'));
}
