/**
 * Push notifications (`events.watch` / `channels.stop`), delivered like Google does: an HTTP POST with an EMPTY
 * body and `X-Goog-*` headers to the channel's address — one `sync` message right after the watch, then `exists`
 * on every change of the watched calendar. Deliveries run detached from the API request that caused them (a slow
 * or failing receiver never slows or fails the write), are retried on 5xx/connection errors, and pass through the
 * fault injector (drop, duplicate, delay/reorder). At most 16 are in flight per channel, the rest wait in order
 * (see delivery-slots.ts: the guide does not say); the 10 s timeout starts when one is sent.
 */
import { errors, googleError } from './errors.js';
import { DeliverySlots } from '../shared/delivery-slots.js';
import type { FaultInjector } from '../shared/faults.js';
import type { Calendar, User } from './store.js';

export interface Channel {
  id: string;
  resourceId: string;
  resourceUri: string;
  calendarId: string;
  ownerEmail: string;
  address: string;
  token?: string;
  /** Epoch ms. */
  expiration: number;
  lastMessageNumber: number;
  stopped: boolean;
}

export interface PushStats {
  /** Deliveries answered by the receiver with a non-5xx status. */
  sent: number;
  /** HTTP attempts, including retries and duplicates. */
  attempts: number;
  dropped: number;
  duplicated: number;
  retried: number;
  /** Deliveries that still failed after the last retry. */
  failed: number;
  /** Deliveries not attempted because their channel was stopped or had expired meanwhile. */
  skippedInactive: number;
}

export const emptyPushStats = (): PushStats => ({
  sent: 0,
  attempts: 0,
  dropped: 0,
  duplicated: 0,
  retried: 0,
  failed: 0,
  skippedInactive: 0,
});

export class PushService {
  readonly channels = new Map<string, Channel>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();
  private readonly slots = new DeliverySlots<string>();
  private closed = false;

  constructor(
    private readonly faults: FaultInjector,
    private readonly state: { stats: { push: PushStats } },
    private readonly retryDelaysMs: number[],
    private readonly baseUrl: () => string,
    private readonly allowInsecureAddresses = false,
  ) {}

  watch(user: User, cal: Calendar, calendarIdParam: string, body: unknown, defaultTtlSeconds: number): unknown {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof b.id !== 'string' || b.id === '') throw errors.required('Missing channel id.');
    if (b.type !== 'web_hook' && b.type !== 'webhook')
      throw errors.badRequest(`Invalid channel type: ${String(b.type)}`);
    if (typeof b.address !== 'string' || !/^https?:\/\//.test(b.address))
      throw errors.badRequest('Invalid channel address.');
    // Push guide: the address "must use HTTPS". The error's reason and message are those real Google answers
    // (not listed in the guide; unverified here without an account).
    if (!this.allowInsecureAddresses && !b.address.startsWith('https://')) throw errors.webhookUrlNotHttps(b.address);
    if (this.channels.has(b.id)) {
      throw googleError(400, {
        domain: 'global',
        reason: 'channelIdNotUnique',
        message: `Channel id ${b.id} not unique`,
      });
    }
    const params = (b.params ?? {}) as Record<string, unknown>;
    let ttl = defaultTtlSeconds;
    if (params.ttl !== undefined) {
      const n = Number(params.ttl);
      if (!Number.isFinite(n) || n <= 0) throw errors.badRequest('Invalid ttl value.');
      ttl = n;
    }
    let expiration = Date.now() + Math.round(ttl * 1000);
    if (b.expiration !== undefined && Number.isFinite(Number(b.expiration)))
      expiration = Math.min(expiration, Number(b.expiration));
    const channel: Channel = {
      id: b.id,
      resourceId: cal.resourceId,
      resourceUri: `${this.baseUrl()}/calendar/v3/calendars/${encodeURIComponent(calendarIdParam)}/events?alt=json`,
      calendarId: cal.id,
      ownerEmail: user.email,
      address: b.address,
      ...(typeof b.token === 'string' ? { token: b.token } : {}),
      expiration,
      lastMessageNumber: 0,
      stopped: false,
    };
    this.channels.set(channel.id, channel);
    this.enqueue(channel, 'sync');
    return {
      kind: 'api#channel',
      id: channel.id,
      resourceId: channel.resourceId,
      resourceUri: channel.resourceUri,
      ...(channel.token !== undefined ? { token: channel.token } : {}),
      expiration: String(channel.expiration),
    };
  }

  stop(body: unknown): void {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const ch = typeof b.id === 'string' ? this.channels.get(b.id) : undefined;
    if (!ch || ch.stopped || (b.resourceId !== undefined && b.resourceId !== ch.resourceId)) {
      throw googleError(404, {
        reason: 'notFound',
        message: `Channel '${String(b.id)}' not found for project 'emulator'`,
      });
    }
    ch.stopped = true;
  }

  /** Called after every change of a calendar (API write or control seeding). */
  notify(cal: Calendar): void {
    for (const ch of this.channels.values()) {
      if (ch.calendarId === cal.id && this.active(ch)) this.enqueue(ch, 'exists');
    }
  }

  list(): Channel[] {
    return [...this.channels.values()].map((c) => ({ ...c }));
  }

  clear(): void {
    this.cancelAll();
    this.channels.clear();
  }

  close(): void {
    this.closed = true;
    this.cancelAll();
  }

  private cancelAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const a of this.inflight) a.abort();
    this.inflight.clear();
  }

  private active(ch: Channel): boolean {
    return !ch.stopped && ch.expiration > Date.now();
  }

  private enqueue(ch: Channel, state: 'sync' | 'exists'): void {
    const messageNumber = ++ch.lastMessageNumber;
    const plan = this.faults.planDelivery();
    if (plan.drop) {
      this.state.stats.push.dropped++;
      return;
    }
    if (plan.copies > 1) this.state.stats.push.duplicated += plan.copies - 1;
    for (let i = 0; i < plan.copies; i++) this.later(plan.delayMs, () => this.attempt(ch, state, messageNumber, 0));
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  private attempt(ch: Channel, state: string, messageNumber: number, retry: number): void {
    void this.slots.run(ch.id, () => this.send(ch, state, messageNumber, retry));
  }

  private async send(ch: Channel, state: string, messageNumber: number, retry: number): Promise<void> {
    if (this.closed) return;
    if (!this.active(ch)) {
      this.state.stats.push.skippedInactive++;
      return;
    }
    const headers: Record<string, string> = {
      'X-Goog-Channel-ID': ch.id,
      'X-Goog-Channel-Expiration': new Date(ch.expiration).toUTCString(),
      'X-Goog-Resource-ID': ch.resourceId,
      'X-Goog-Resource-URI': ch.resourceUri,
      'X-Goog-Resource-State': state,
      'X-Goog-Message-Number': String(messageNumber),
      'Content-Length': '0',
    };
    if (ch.token !== undefined) headers['X-Goog-Channel-Token'] = ch.token;
    const abort = new AbortController();
    this.inflight.add(abort);
    const timeout = setTimeout(() => abort.abort(), 10_000);
    timeout.unref?.();
    this.state.stats.push.attempts++;
    const ok = await fetch(ch.address, { method: 'POST', headers, body: '', signal: abort.signal })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        return res.status < 500;
      })
      .catch(() => false);
    clearTimeout(timeout);
    this.inflight.delete(abort);
    if (this.closed) return;
    if (ok) {
      this.state.stats.push.sent++;
      return;
    }
    const delay = this.retryDelaysMs[retry];
    if (delay === undefined) {
      this.state.stats.push.failed++;
      return;
    }
    this.state.stats.push.retried++;
    this.later(delay, () => this.attempt(ch, state, messageNumber, retry + 1));
  }
}
