/**
 * The sync's Pipedrive transport: a thin fetch client for the few endpoints the sync uses (API v2 for
 * activities, deals, persons and organizations; v1 for the current user, activity types and webhooks).
 *
 * Why not the official `pipedrive` client's transport: its axios interceptors reject with the error body only,
 * dropping the HTTP status and the `x-ratelimit-*` headers that decide whether and when Temporal retries.
 * Here every answer that is not a success becomes a classified `ApplicationFailure`
 * (`errors.ts`); "not found" is an answer, not a failure, where the sync expects it (deleted activities are 404 in
 * v2), so those methods return `null`/`false` and stay idempotent under retries.
 *
 * OAuth: on a 401 the access token is refreshed once (concurrent callers share one refresh), the caller persists
 * the new tokens through `onTokens`, and the request is sent again once.
 */
import { recordApiCall } from '../../lib/metrics.js';
import type { ActivityContactLinks } from '../../sync-rules/contact-linking.js';
import type { PdActivity, PdActivityWrite } from '../../sync-rules/types.js';
import { budgetPausedUntil, pauseBudget } from './budget-pause.js';
import {
  authFailed,
  budgetPaused,
  failureFromNetworkError,
  failureFromResponse,
  pipedriveErrorText,
  redact,
  type RateLimitDetails,
} from './errors.js';

export type PipedriveAuth =
  | { kind: 'api-token'; token: string }
  | {
      kind: 'oauth';
      accessToken: string;
      refreshToken: string;
      clientId: string;
      clientSecret: string;
      tokenUrl: string;
    };

export interface PipedriveTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds. */
  expiresAt?: number;
}

export interface PipedriveApiOptions {
  /** e.g. https://acme.pipedrive.com or the emulator url; v2 at `${apiDomain}/api/v2`, v1 at `${apiDomain}/api/v1`. */
  apiDomain: string;
  auth: PipedriveAuth;
  /** Persists the tokens after an OAuth refresh. An error thrown here propagates unchanged to the caller. */
  onTokens?: (t: PipedriveTokens) => Promise<void> | void;
  /** Per request, default 10 000 ms. */
  timeoutMs?: number;
  /** One call per HTTP attempt (status 0 when no answer arrived); `route` is a template such as `GET /api/v2/activities/:id`. */
  onRequest?: (info: { method: string; route: string; status: number; ms: number }) => void;
  /**
   * Whose daily budget the calls spend (Pipedrive counts it per company, e.g. `company:1001`). With it, a 429 for
   * a spent budget pauses every later call under the same key until the reset (budget-pause.ts) instead of
   * spending requests that are refused anyway.
   */
  budgetKey?: string;
  /** Told once per pause when the daily budget is found spent (e.g. for the audit log). */
  onBudgetSpent?: (resumeAt: string) => Promise<void> | void;
}

export interface ListActivitiesQuery {
  owner_id?: number;
  /** RFC 3339, inclusive. */
  updated_since?: string;
  cursor?: string;
  /** ≤ 500. */
  limit?: number;
  sort_by?: 'id' | 'update_time' | 'add_time' | 'due_date';
  sort_direction?: 'asc' | 'desc';
  done?: boolean;
  /** Comma-separated ids, at most 100. */
  ids?: string;
}

export interface PdDeal {
  id: number;
  title: string;
  person_id?: number | null;
  org_id?: number | null;
}
export interface PdPerson {
  id: number;
  name: string;
  emails?: { value: string }[];
  phones?: { value: string }[];
}
export interface PdOrganization {
  id: number;
  name: string;
}
/** A person as person search answers it: enough to link an activity and title its event. */
export interface PdPersonMatch {
  id: number;
  name: string;
  /** Lower-cased. */
  emails: string[];
  org: PdOrganization | null;
}
export interface PdPersonCreate {
  name: string;
  emails: { value: string; primary: boolean; label?: string }[];
  owner_id?: number;
  org_id?: number;
}
export interface PdUser {
  id: number;
  name: string;
  email: string;
  company_id: number;
  company_domain?: string;
}
export interface PdActivityType {
  key_string: string;
  name: string;
  active_flag: boolean;
}
export interface PdWebhookCreate {
  subscription_url: string;
  event_action: string;
  event_object: string;
  http_auth_user: string;
  http_auth_password: string;
  version: '2.0';
  /** Required by Pipedrive (`AddWebhookRequest.name`); shown in the user's webhook settings. */
  name: string;
}
export interface PdWebhook {
  id: number;
  subscription_url: string;
  event_action: string;
  event_object: string;
  is_active?: boolean;
}

/** An item of a v2 person search answer (`GetPersonSearchResponseAllOfDataItemsInnerItem`). */
interface SearchItem {
  id?: number;
  name?: string;
  emails?: unknown[] | null;
  organization?: { id?: number; name?: string } | null;
}

const emailValues = (list: { value: string }[] | null | undefined): string[] =>
  (list ?? []).filter((e) => typeof e?.value === 'string').map((e) => e.value.toLowerCase());

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Query = Record<string, string | number | boolean | undefined>;

interface Request {
  method: Method;
  /** Route template for metrics and messages, e.g. `/api/v2/activities/:id`. */
  route: string;
  /** Concrete path, e.g. `/api/v2/activities/42`. */
  path: string;
  query?: Query;
  body?: unknown;
  /** Statuses answered as `undefined` instead of a failure (e.g. 404 for reads of deleted records). */
  absentOn?: number[];
}

interface Envelope<T> {
  success?: boolean;
  data: T;
  additional_data?: { next_cursor?: string | null } | null;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** v2 activity reads only carry attendees when asked for. */
const WITH_ATTENDEES = { include_fields: 'attendees' };

/**
 * How a field is cleared without `null`, which the v2 request schema allows for none of the fields we write
 * (`AddActivityRequest` in the pipedrive package's v2 models types them `string` / an object). Pipedrive documents
 * no other way to clear them; an empty value is the reading that stays within the schema's types (unverified
 * against the real API). On create there is nothing to clear: the field is left out.
 */
const CLEARED: Record<string, unknown> = { location: { value: '' }, due_time: '', duration: '' };
/**
 * Links are cleared with `null`: the v2 schema types them as plain ids, yet offers no other way to unlink (the
 * emulator takes the same reading). Only re-linking an activity's contacts sends them.
 */
const LINK_IDS = new Set(['deal_id', 'person_id', 'org_id']);

/** The request body as Pipedrive's v2 schema allows it: never a `null`. */
export function v2ActivityBody<T extends object>(body: T, mode: 'create' | 'update'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (value !== null) out[key] = value;
    else if (mode === 'update' && key in CLEARED) out[key] = CLEARED[key];
    else if (mode === 'update' && LINK_IDS.has(key)) out[key] = null;
  }
  return out;
}

export class PipedriveApi {
  private auth: PipedriveAuth;
  private readonly base: string;
  private readonly timeoutMs: number;
  /** The refresh in flight, shared by every request that hit a 401 with the same access token. */
  private refreshing: Promise<void> | undefined;
  /** Tokens replaced by a refresh, still scrubbed from failure messages. */
  private readonly retiredSecrets: string[] = [];

  constructor(private readonly opts: PipedriveApiOptions) {
    this.auth = { ...opts.auth };
    this.base = opts.apiDomain.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  // ── activities (v2) ─────────────────────────────────────────────────────────────────────────────

  /** `null` when the activity does not exist or was deleted (v2 answers 404 for both). */
  async getActivity(id: number): Promise<PdActivity | null> {
    const res = await this.call<Envelope<PdActivity>>({
      method: 'GET',
      route: '/api/v2/activities/:id',
      path: `/api/v2/activities/${id}`,
      query: WITH_ATTENDEES,
      absentOn: [404],
    });
    return res?.data ?? null;
  }

  /** One page; deleted activities are never listed. Attendees are included. */
  async listActivities(q: ListActivitiesQuery): Promise<{ data: PdActivity[]; nextCursor: string | null }> {
    const res = await this.call<Envelope<PdActivity[]>>({
      method: 'GET',
      route: '/api/v2/activities',
      path: '/api/v2/activities',
      query: { ...q, ...WITH_ATTENDEES },
    });
    return { data: res?.data ?? [], nextCursor: res?.additional_data?.next_cursor ?? null };
  }

  async createActivity(
    body: PdActivityWrite & { owner_id?: number; note?: string; type?: string } & Partial<ActivityContactLinks>,
  ): Promise<PdActivity> {
    const res = await this.call<Envelope<PdActivity>>({
      method: 'POST',
      route: '/api/v2/activities',
      path: '/api/v2/activities',
      body: v2ActivityBody(body, 'create'),
    });
    return res!.data;
  }

  /** `null` when the activity is gone (deleted in Pipedrive meanwhile). */
  async updateActivity(
    id: number,
    body: Partial<PdActivityWrite> & { note?: string } & Partial<ActivityContactLinks>,
  ): Promise<PdActivity | null> {
    const res = await this.call<Envelope<PdActivity>>({
      method: 'PATCH',
      route: '/api/v2/activities/:id',
      path: `/api/v2/activities/${id}`,
      body: v2ActivityBody(body, 'update'),
      absentOn: [404],
    });
    return res?.data ?? null;
  }

  /** `true` if this call deleted it, `false` if it was already gone — so a retried delete is harmless. */
  async deleteActivity(id: number): Promise<boolean> {
    const res = await this.call<Envelope<unknown>>({
      method: 'DELETE',
      route: '/api/v2/activities/:id',
      path: `/api/v2/activities/${id}`,
      absentOn: [404, 410],
    });
    return res !== undefined;
  }

  // ── linked records (v2): their names make up the event title ────────────────────────────────────

  async getDeal(id: number): Promise<PdDeal | null> {
    const d = await this.getRecord<PdDeal>('deals', id);
    return d && { id: d.id, title: d.title, person_id: d.person_id ?? null, org_id: d.org_id ?? null };
  }

  async getPerson(id: number): Promise<PdPerson | null> {
    const p = await this.getRecord<PdPerson>('persons', id);
    if (!p) return null;
    const values = (list: { value: string }[] | undefined | null) =>
      (list ?? []).filter((e) => typeof e?.value === 'string').map((e) => ({ value: e.value }));
    return { id: p.id, name: p.name, emails: values(p.emails), phones: values(p.phones) };
  }

  async getOrganization(id: number): Promise<PdOrganization | null> {
    const o = await this.getRecord<PdOrganization>('organizations', id);
    return o && { id: o.id, name: o.name };
  }

  // ── contacts (v2): linking an activity to the persons it is with ────────────────────────────────

  /**
   * The persons one of whose e-mails is exactly `email` (not case sensitive): `GET /api/v2/persons/search`
   * with `fields=email&exact_match=true` — 20 tokens, and under the Search API's own burst limit. Answers are
   * checked again here, since search matches "full" values by its own rules.
   */
  async findPersonsByEmail(email: string): Promise<PdPersonMatch[]> {
    const wanted = email.trim().toLowerCase();
    const res = await this.call<{
      data?: { items?: { item?: SearchItem }[] } | null;
    }>({
      method: 'GET',
      route: '/api/v2/persons/search',
      path: '/api/v2/persons/search',
      query: { term: wanted, fields: 'email', exact_match: true, limit: 10 },
    });
    const out: PdPersonMatch[] = [];
    for (const { item } of res?.data?.items ?? []) {
      if (!item || typeof item.id !== 'number') continue;
      const emails = (item.emails ?? []).filter((e): e is string => typeof e === 'string').map((e) => e.toLowerCase());
      if (!emails.includes(wanted)) continue;
      const org = item.organization;
      out.push({
        id: item.id,
        name: typeof item.name === 'string' ? item.name : '',
        emails,
        org:
          org && typeof org.id === 'number' ? { id: org.id, name: typeof org.name === 'string' ? org.name : '' } : null,
      });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * The open deals linked to a person, at most `limit` (`GET /api/v2/deals?person_id=&status=open`, 10 tokens).
   * Linking only needs to know whether there is exactly one, so it asks for two.
   */
  async openDealsOfPerson(personId: number, limit = 2): Promise<PdDeal[]> {
    const res = await this.call<Envelope<PdDeal[] | null>>({
      method: 'GET',
      route: '/api/v2/deals',
      path: '/api/v2/deals',
      query: { person_id: personId, status: 'open', limit, sort_by: 'id' },
    });
    return (res?.data ?? []).map((d) => ({
      id: d.id,
      title: d.title,
      person_id: d.person_id ?? null,
      org_id: d.org_id ?? null,
    }));
  }

  /** `POST /api/v2/persons` (5 tokens). Not idempotent: callers guard a retry (activities/sync/contact-links.ts). */
  async createPerson(body: PdPersonCreate): Promise<PdPersonMatch> {
    const res = await this.call<Envelope<{ id: number; name: string; emails?: { value: string }[] | null }>>({
      method: 'POST',
      route: '/api/v2/persons',
      path: '/api/v2/persons',
      body,
    });
    const p = res!.data;
    return { id: p.id, name: p.name, emails: emailValues(p.emails), org: null };
  }

  /**
   * Persons owned by `ownerId` changed since `updatedSince` whose e-mails include `email` — a read that, unlike
   * search, sees a write at once (10 tokens a page). Used only to find a person an interrupted attempt created.
   */
  async findRecentPersonByEmail(ownerId: number, updatedSince: string, email: string): Promise<PdPersonMatch | null> {
    const wanted = email.trim().toLowerCase();
    let cursor: string | undefined;
    do {
      const res = await this.call<Envelope<{ id: number; name: string; emails?: { value: string }[] | null }[]>>({
        method: 'GET',
        route: '/api/v2/persons',
        path: '/api/v2/persons',
        query: { owner_id: ownerId, updated_since: updatedSince, limit: 500, cursor },
      });
      const found = (res?.data ?? []).find((p) => emailValues(p.emails).includes(wanted));
      if (found) return { id: found.id, name: found.name, emails: emailValues(found.emails), org: null };
      cursor = res?.additional_data?.next_cursor ?? undefined;
    } while (cursor);
    return null;
  }

  // ── v1 ──────────────────────────────────────────────────────────────────────────────────────────

  async getCurrentUser(): Promise<PdUser> {
    const res = await this.call<Envelope<PdUser>>({
      method: 'GET',
      route: '/api/v1/users/me',
      path: '/api/v1/users/me',
    });
    const u = res!.data;
    return {
      id: u.id,
      name: u.name,
      email: u.email,
      company_id: u.company_id,
      ...(u.company_domain ? { company_domain: u.company_domain } : {}),
    };
  }

  async listActivityTypes(): Promise<PdActivityType[]> {
    const res = await this.call<Envelope<PdActivityType[] | null>>({
      method: 'GET',
      route: '/api/v1/activityTypes',
      path: '/api/v1/activityTypes',
    });
    return (res?.data ?? []).map((t) => ({
      key_string: t.key_string,
      name: t.name,
      active_flag: Boolean(t.active_flag),
    }));
  }

  /** Answers only the id: the rest of Pipedrive's answer echoes the Basic-auth password. */
  async createWebhook(body: PdWebhookCreate): Promise<{ id: number }> {
    const res = await this.call<Envelope<{ id: number }>>({
      method: 'POST',
      route: '/api/v1/webhooks',
      path: '/api/v1/webhooks',
      body,
    });
    return { id: res!.data.id };
  }

  async listWebhooks(): Promise<PdWebhook[]> {
    const res = await this.call<Envelope<(PdWebhook & { is_active?: boolean | number })[] | null>>({
      method: 'GET',
      route: '/api/v1/webhooks',
      path: '/api/v1/webhooks',
    });
    return (res?.data ?? []).map((w) => ({
      id: w.id,
      subscription_url: w.subscription_url,
      event_action: w.event_action,
      event_object: w.event_object,
      ...(w.is_active !== undefined ? { is_active: Boolean(w.is_active) } : {}),
    }));
  }

  /** Deleting a webhook that is already gone is not an error. */
  async deleteWebhook(id: number): Promise<void> {
    await this.call({
      method: 'DELETE',
      route: '/api/v1/webhooks/:id',
      path: `/api/v1/webhooks/${id}`,
      absentOn: [404, 410],
    });
  }

  // ── transport ───────────────────────────────────────────────────────────────────────────────────

  private async getRecord<T>(kind: 'deals' | 'persons' | 'organizations', id: number): Promise<T | null> {
    const res = await this.call<Envelope<T>>({
      method: 'GET',
      route: `/api/v2/${kind}/:id`,
      path: `/api/v2/${kind}/${id}`,
      absentOn: [404],
    });
    return res?.data ?? null;
  }

  /** Every secret the client holds, for scrubbing failure messages. */
  private secrets(): string[] {
    const a = this.auth;
    return a.kind === 'api-token' ? [a.token] : [a.accessToken, a.refreshToken, a.clientSecret, ...this.retiredSecrets];
  }

  private authHeaders(): Record<string, string> {
    return this.auth.kind === 'api-token'
      ? { 'x-api-token': this.auth.token }
      : { authorization: `Bearer ${this.auth.accessToken}` };
  }

  /**
   * Sends one request; on an OAuth 401 refreshes the token and sends it once more. Resolves with the parsed body,
   * or `undefined` for a status in `absentOn`; rejects with a classified `ApplicationFailure` otherwise.
   */
  private async call<T>(req: Request): Promise<T | undefined> {
    const key = this.opts.budgetKey;
    const pausedUntil = key === undefined ? undefined : budgetPausedUntil(key);
    if (pausedUntil !== undefined) throw budgetPaused(`${req.method} ${req.route}`, pausedUntil);
    const url = new URL(this.base + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));

    let refreshed = false;
    for (;;) {
      const usedAccessToken = this.auth.kind === 'oauth' ? this.auth.accessToken : undefined;
      const res = await this.send(req.method, req.route, url, {
        headers: {
          accept: 'application/json',
          ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...this.authHeaders(),
        },
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      });
      if (res.ok) return res.body as T;
      if (req.absentOn?.includes(res.status)) return undefined;
      if (res.status === 401 && this.auth.kind === 'oauth' && !refreshed) {
        refreshed = true;
        await this.refreshAfter401(usedAccessToken!);
        continue;
      }
      const failure = failureFromResponse({ ...res, route: `${req.method} ${req.route}` }, this.secrets());
      const details = failure.details?.[0] as RateLimitDetails | undefined;
      if (res.status === 429 && details?.scope === 'daily' && details.resumeAt && key !== undefined) {
        if (pauseBudget(key, Date.parse(details.resumeAt))) await this.opts.onBudgetSpent?.(details.resumeAt);
      }
      throw failure;
    }
  }

  /** One HTTP attempt with the per-request timeout; reports it to `onRequest`; network failures are classified. */
  private async send(
    method: string,
    route: string,
    url: URL,
    init: { headers: Record<string, string>; body?: string },
  ): Promise<{ ok: boolean; status: number; headers: Headers; body: unknown }> {
    const started = performance.now();
    let status = 0;
    let data: unknown;
    try {
      // The timeout signal also covers reading the body.
      const res = await fetch(url, { method, ...init, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      status = res.status;
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): keep the text for the failure message.
      }
      // A 2xx that is not Pipedrive JSON (captive portal, misrouted proxy) is no answer from Pipedrive.
      const ok = res.ok && body !== null && typeof body === 'object';
      if (ok) data = body;
      return { ok, status: ok || !res.ok ? res.status : 502, headers: res.headers, body };
    } catch (err) {
      throw failureFromNetworkError(err, `${method} ${route}`, this.timeoutMs, this.secrets());
    } finally {
      this.opts.onRequest?.({ method, route, status, ms: Math.round(performance.now() - started) });
      recordApiCall({ service: 'pipedrive', operation: `${method} ${route}`, status, data });
    }
  }

  /**
   * Refreshes the OAuth access token unless another request already did so after `staleAccessToken` failed.
   * Concurrent 401s share the refresh in flight, so one expiry costs one token request.
   */
  private async refreshAfter401(staleAccessToken: string): Promise<void> {
    if (this.auth.kind !== 'oauth' || this.auth.accessToken !== staleAccessToken) return;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  /**
   * `POST tokenUrl` with `grant_type=refresh_token` and HTTP Basic client authentication, as Pipedrive documents
   * (https://pipedrive.readme.io/docs/marketplace-oauth-authorization#step-7-refreshing-the-tokens). A rejected
   * refresh means the user must reconnect; a refresh that got no answer (5xx, network) is retryable.
   */
  private async refresh(): Promise<void> {
    const auth = this.auth;
    if (auth.kind !== 'oauth') return;
    const route = 'POST /oauth/token';
    const res = await this.send('POST', '/oauth/token', new URL(auth.tokenUrl), {
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${auth.clientId}:${auth.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.refreshToken }).toString(),
    });
    const tokens = res.body as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown } | null;
    if (!res.ok || typeof tokens?.access_token !== 'string') {
      if (res.status === 429 || res.status >= 500) throw failureFromResponse({ ...res, route }, this.secrets());
      const error = redact(pipedriveErrorText(res.ok ? 'no access_token in the answer' : res.body), this.secrets());
      throw authFailed(`Pipedrive OAuth token refresh failed (${res.status} ${error}); the user must reconnect`, {
        status: res.status,
        error,
        route,
      });
    }
    const next: PipedriveTokens = {
      accessToken: tokens.access_token,
      refreshToken: typeof tokens.refresh_token === 'string' ? tokens.refresh_token : auth.refreshToken,
      ...(typeof tokens.expires_in === 'number' ? { expiresAt: Date.now() + tokens.expires_in * 1000 } : {}),
    };
    // The old tokens stay scrubbable: a late failure message could still quote them.
    this.retiredSecrets.push(auth.accessToken, auth.refreshToken);
    this.auth = { ...auth, accessToken: next.accessToken, refreshToken: next.refreshToken };
    await this.opts.onTokens?.(next);
  }
}
