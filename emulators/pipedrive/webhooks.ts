/**
 * Webhook delivery with Pipedrive's v2 payload and failure policy
 * (https://pipedrive.readme.io/docs/guide-for-webhooks-v2, "Webhooks policy" in
 * https://pipedrive.readme.io/docs/webhooks-for-apps):
 * - POST with a JSON body, HTTP Basic auth from the subscription's credentials;
 * - a non-2xx answer or no answer within the timeout (10 s) fails the attempt; failed events are retried
 *   after 3 s, 30 s and 150 s;
 * - each event whose first attempt fails raises the webhook's ban counter; at the threshold the webhook is
 *   banned for 30 minutes and every event in that time is lost (not queued). A success resets the counter.
 * Only events the webhook's user may see are delivered: same company as the changed record.
 * At most 16 deliveries per webhook are in flight at once, the rest wait in order (see delivery-slots.ts: the
 * guides do not say); the ban and the timeout apply when a delivery is sent.
 */
import { randomUUID } from 'node:crypto';
import { DeliverySlots } from '../shared/delivery-slots.js';
import type { FaultInjector } from '../shared/faults.js';
import type { PipedriveStats } from './stats.js';
import type { EntityName, Store, Webhook } from './store.js';
import { pdTime } from './store.js';

export type ChangeAction = 'create' | 'change' | 'delete';
export type ChangeSource = 'app' | 'api';

export interface ChangeEvent {
  action: ChangeAction;
  entity: EntityName;
  entityId: number;
  companyId: number;
  /** The user who made the change. */
  userId: number;
  changeSource: ChangeSource;
  data: Record<string, unknown> | null;
  previous: Record<string, unknown> | null;
}

/**
 * One committed change as the emulator's change log keeps it (`control.changes()`): what changed, who changed
 * it, from where, and when to the millisecond — `update_time` has second precision only, like Pipedrive's.
 * Emulator inspection only (real Pipedrive has no such log); benchmarks time API writes with it.
 */
export interface ChangeRecord extends Omit<ChangeEvent, 'data' | 'previous'> {
  /** Epoch ms of the commit (the moment the record was stored and its webhooks fanned out). */
  atMs: number;
  /** Names of the fields whose value changed (`change` only; empty for create/delete). */
  changedFields: string[];
}

/** The change log keeps the latest this many records (oldest dropped first). */
export const CHANGE_LOG_LIMIT = 200_000;

export interface WebhookPolicy {
  retryDelaysMs: number[];
  timeoutMs: number;
  banAfterFailures: number;
  banDurationMs: number;
}

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = {
  retryDelaysMs: [3000, 30000, 150000],
  timeoutMs: 10_000,
  banAfterFailures: 10,
  banDurationMs: 30 * 60 * 1000,
};

/**
 * The object as webhooks v2 carry it, which is not quite the API v2 shape (guide for webhooks v2, "data"):
 * activities have `busy_flag` instead of `busy`, no `attendees`, and every entity has `custom_fields`. Applied to
 * `previous` too, so its keys name the same fields as `data`'s.
 * Not emulated (unverified without an account): the `{timezone_id, value}` shape of some time fields.
 */
export function webhookData(entity: EntityName, obj: Record<string, unknown> | null): Record<string, unknown> | null {
  if (obj === null) return null;
  const out: Record<string, unknown> = { ...obj };
  if (entity === 'activity') {
    if ('busy' in out) {
      out.busy_flag = out.busy;
      delete out.busy;
    }
    delete out.attendees;
  }
  if (!('custom_fields' in out) && 'id' in out) out.custom_fields = {};
  return out;
}

export class WebhookDispatcher {
  private timers = new Set<NodeJS.Timeout>();
  private inflight = new Set<AbortController>();
  private readonly slots = new DeliverySlots<number>();
  private closed = false;
  /** Bumped by cancelAll so deliveries already awaiting an answer do not touch the new state. */
  private generation = 0;

  constructor(
    private readonly store: () => Store,
    private readonly faults: FaultInjector,
    private readonly stats: () => PipedriveStats,
    readonly policy: WebhookPolicy,
  ) {}

  /** Fans one change out to every matching subscription. Never throws, never blocks the API response. */
  emit(event: ChangeEvent): void {
    if (this.closed) return;
    const store = this.store();
    for (const hook of store.webhooks.values()) {
      if (!hook.is_active || hook.company_id !== event.companyId) continue;
      if (hook.event_action !== '*' && hook.event_action !== event.action) continue;
      if (hook.event_object !== '*' && hook.event_object !== event.entity) continue;
      const owner = store.users.get(hook.user_id);
      if (!owner || owner.company_id !== event.companyId) continue;
      this.deliver(hook, event);
    }
  }

  private deliver(hook: Webhook, event: ChangeEvent): void {
    const stats = this.stats().webhooks;
    if (this.isBanned(hook)) {
      stats.lostToBan++;
      return;
    }
    const plan = this.faults.planDelivery();
    if (plan.drop) {
      stats.dropped++;
      return;
    }
    const deliveryId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date().toISOString();
    const permitted = this.store()
      .usersOf(event.companyId)
      .map((u) => String(u.id));
    const payload = (attempt: number) => ({
      meta: {
        action: event.action,
        entity: event.entity,
        entity_id: String(event.entityId),
        id: deliveryId,
        change_source: event.changeSource,
        company_id: String(event.companyId),
        user_id: String(event.userId),
        correlation_id: correlationId,
        is_bulk_edit: false,
        timestamp,
        type: 'general',
        version: '2.0',
        webhook_id: String(hook.id),
        webhook_owner_id: String(hook.owner_id),
        permitted_user_ids: permitted,
        attempt,
        host: `${this.store().companies.get(event.companyId)?.domain ?? 'company'}.pipedrive.com`,
      },
      data: webhookData(event.entity, event.data),
      previous: webhookData(event.entity, event.previous),
    });
    if (plan.copies > 1) stats.duplicated += plan.copies - 1;
    for (let copy = 0; copy < plan.copies; copy++) {
      this.later(plan.delayMs, () => this.attempt(hook.id, 1, payload));
    }
  }

  private async attempt(hookId: number, n: number, payload: (attempt: number) => unknown): Promise<void> {
    const generation = this.generation;
    const sent = await this.slots.run(hookId, async () => {
      if (this.closed || generation !== this.generation) return undefined;
      const hook = this.store().webhooks.get(hookId);
      if (!hook || !hook.is_active) return undefined;
      if (this.isBanned(hook)) {
        this.stats().webhooks.lostToBan++;
        return undefined;
      }
      this.stats().webhooks.sent++;
      if (n > 1) this.stats().webhooks.retried++;
      return { hook, ok: await this.post(hook, payload(n)) };
    });
    if (!sent || this.closed || generation !== this.generation) return;
    const { hook, ok } = sent;
    const stats = this.stats().webhooks;
    if (ok) {
      stats.delivered++;
      hook.ban_counter = 0;
      return;
    }
    stats.failed++;
    if (n === 1) {
      hook.ban_counter++;
      if (hook.ban_counter >= this.policy.banAfterFailures) {
        hook.banned_until = Date.now() + this.policy.banDurationMs;
        hook.ban_counter = 0;
        stats.bans++;
      }
    }
    const delay = this.policy.retryDelaysMs[n - 1];
    if (delay === undefined) {
      stats.exhausted++;
      return;
    }
    this.later(delay, () => this.attempt(hookId, n + 1, payload));
  }

  private async post(hook: Webhook, body: unknown): Promise<boolean> {
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.policy.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Pipedrive Webhooks' };
    if (hook.http_auth_user || hook.http_auth_password) {
      const cred = Buffer.from(`${hook.http_auth_user ?? ''}:${hook.http_auth_password ?? ''}`).toString('base64');
      headers.authorization = `Basic ${cred}`;
    }
    try {
      const res = await fetch(hook.subscription_url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      hook.last_http_status = res.status;
      hook.last_delivery_time = pdTime();
      return res.status >= 200 && res.status < 300;
    } catch {
      hook.last_http_status = null;
      hook.last_delivery_time = pdTime();
      return false;
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }

  isBanned(hook: Webhook): boolean {
    return hook.banned_until > Date.now();
  }

  private later(ms: number, fn: () => Promise<void> | void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
  }

  /** Cancels pending retries and in-flight deliveries (used by reset and close). */
  cancelAll(): void {
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.inflight) c.abort();
    this.inflight.clear();
  }

  close(): void {
    this.closed = true;
    this.cancelAll();
  }
}
