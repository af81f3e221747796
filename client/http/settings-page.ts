/**
 * The settings page: static HTML, CSS and a small script (client/http/assets/), served as files; the page
 * fills itself from the JSON API (settings-api.ts). Security headers (CSP: own scripts and styles only) come
 * from the server's helmet configuration, like on every route.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

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

export function registerSettingsPage(app: FastifyInstance): void {
  const serve = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.type(ASSETS[name]!).header('cache-control', 'no-cache').send(files[name]!);
  app.get('/settings', serve('settings.html'));
  app.get('/assets/settings.css', serve('settings.css'));
  app.get('/assets/settings.js', serve('settings.js'));
}
