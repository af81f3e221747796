/**
 * The Pipedrive webhooks of a connection: activity changes (the sync itself) and deal/person/organization
 * changes (re-titling). Each connection has its own HTTP Basic credentials, so a delivery proves which
 * connection it is for. `ensure` is idempotent and also brings back a webhook Pipedrive deleted.
 */
import { randomBytes } from 'node:crypto';
import { loadCredentials, saveCredentials, type WebhookCredentials } from '../../adapters/store/connections.js';
import type { SyncContext } from '../sync/context.js';

export const WANTED_WEBHOOKS = [
  { event_object: 'activity', event_action: '*' },
  { event_object: 'deal', event_action: 'change' },
  { event_object: 'person', event_action: 'change' },
  { event_object: 'organization', event_action: 'change' },
] as const;

export function webhookUrl(ctx: SyncContext): string | null {
  const base = ctx.deps.feeds.publicUrl;
  return base ? `${base}/webhooks/pipedrive/${encodeURIComponent(ctx.connection.id)}` : null;
}

async function credentialsFor(ctx: SyncContext): Promise<WebhookCredentials> {
  const existing = await loadCredentials(ctx.db, ctx.deps.secrets, ctx.connection.id, 'webhook');
  if (existing) return existing;
  const created = { username: `sync-${ctx.connection.id}`, password: randomBytes(24).toString('base64url') };
  await saveCredentials(ctx.db, ctx.deps.secrets, ctx.connection.id, 'webhook', created);
  return created;
}

/** Registers the missing webhooks; returns how many were created. */
export async function ensurePipedriveWebhooks(ctx: SyncContext): Promise<number> {
  const url = webhookUrl(ctx);
  if (!url) return 0;
  const creds = await credentialsFor(ctx);
  const existing = (await ctx.pipedrive.listWebhooks()).filter((w) => w.subscription_url === url);
  let created = 0;
  for (const wanted of WANTED_WEBHOOKS) {
    const present = existing.some(
      (w) => w.event_object === wanted.event_object && w.event_action === wanted.event_action && w.is_active !== false,
    );
    if (present) continue;
    await ctx.pipedrive.createWebhook({
      subscription_url: url,
      ...wanted,
      http_auth_user: creds.username,
      http_auth_password: creds.password,
      version: '2.0',
      name: `calendar-sync ${wanted.event_object}.${wanted.event_action}`,
    });
    created++;
  }
  return created;
}

/** Removes this connection's webhooks (disconnect, or sync switched off). */
export async function removePipedriveWebhooks(ctx: SyncContext): Promise<number> {
  const url = webhookUrl(ctx);
  if (!url) return 0;
  const ours = (await ctx.pipedrive.listWebhooks()).filter((w) => w.subscription_url === url);
  for (const w of ours) await ctx.pipedrive.deleteWebhook(w.id);
  return ours.length;
}
