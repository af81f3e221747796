/**
 * Google push channels (events.watch) for a user's calendar. Channels expire (7 days by default) and Google
 * never renews them: the workflow renews on a durable timer — a new channel first, then the old one stopped,
 * so there is no gap. The channel is registered in Postgres *before* Google is asked to create it, so the
 * first notification (`sync`, sent right away) already finds it.
 */
import { randomBytes } from 'node:crypto';
import {
  activeChannels,
  channelById,
  channelToken,
  markChannelStopped,
  saveChannel,
} from '../../adapters/store/watch-channels.js';
import type { SyncContext } from '../sync/context.js';

export interface ChannelInfo {
  channelId: string;
  /** ISO time Google stops delivering on this channel. */
  expiration: string;
  /** ISO time the workflow should create the next channel (expiration minus the renewal margin). */
  renewAt: string;
}

export async function startWatchChannel(ctx: SyncContext, channelId: string): Promise<ChannelInfo | null> {
  const calendarId = ctx.settings.calendarId;
  if (!ctx.settings.enabled || !calendarId) return null;
  const feeds = ctx.deps.feeds;
  if (!feeds.publicUrl) return null;
  // One token per channel id, whatever attempt this is (see `channelToken`).
  const token = await channelToken(
    ctx.db,
    ctx.deps.secrets,
    ctx.connection.id,
    channelId,
    randomBytes(24).toString('base64url'),
  );
  const requestedExpiry = new Date(Date.now() + feeds.channelTtlSeconds * 1000).toISOString();
  await saveChannel(
    ctx.db,
    {
      channelId,
      connectionId: ctx.connection.id,
      calendarId,
      resourceId: null,
      expiration: requestedExpiry,
      state: 'active',
    },
    token,
  );
  ctx.deps.crashPoint?.('before-google-watch');
  const watched = await ctx.google.watchEvents(calendarId, {
    channelId,
    address: `${feeds.publicUrl}/webhooks/google`,
    token,
    ttlSeconds: feeds.channelTtlSeconds,
  });
  // `channelExists`: a retry of this activity after Google had already created the channel. The channel works (it
  // is registered above); only its resource id is unknown, so it will expire rather than be stopped.
  const expiration = (watched.result === 'watching' && watched.expiration) || requestedExpiry;
  if (watched.result === 'watching') {
    await saveChannel(
      ctx.db,
      {
        channelId,
        connectionId: ctx.connection.id,
        calendarId,
        resourceId: watched.resourceId,
        expiration,
        state: 'active',
      },
      token,
    );
  }
  const marginMs = Math.min(feeds.channelRenewMarginSeconds * 1000, (Date.parse(expiration) - Date.now()) / 2);
  return { channelId, expiration, renewAt: new Date(Date.parse(expiration) - marginMs).toISOString() };
}

/** Stops every active channel of the connection except `keep` (the one just created, during renewal). */
export async function stopWatchChannels(ctx: SyncContext, keep?: string): Promise<number> {
  let stopped = 0;
  for (const channel of await activeChannels(ctx.db, ctx.connection.id)) {
    if (channel.channelId === keep) continue;
    if (channel.resourceId) {
      // Gone: Google already forgot it (expired); either way it is stopped.
      await ctx.google.stopChannel(channel.channelId, channel.resourceId);
    }
    await markChannelStopped(ctx.db, channel.channelId);
    stopped++;
  }
  return stopped;
}

/**
 * Whether the channel the workflow listens on is still one Google delivers on, as far as we can tell without
 * asking Google (the Calendar API has no `channels.get`): registered here, active, for the calendar the settings
 * name, and not past its expiry (or so close to it that renewal is due). A channel Google dropped without telling
 * us cannot be seen from here; it is replaced whenever the feeds are re-established (the workflow starts, the
 * settings are saved again, the sandbox restarts, renewal), and the safety-net pull covers the gap.
 */
export async function channelIsLive(ctx: SyncContext, channelId: string | null): Promise<boolean> {
  if (!ctx.settings.enabled || !ctx.settings.calendarId || !ctx.deps.feeds.publicUrl) return true; // none expected
  if (!channelId) return false;
  const channel = await channelById(ctx.db, channelId);
  if (!channel || channel.state !== 'active' || channel.calendarId !== ctx.settings.calendarId) return false;
  return Date.parse(channel.expiration) > Date.now();
}
