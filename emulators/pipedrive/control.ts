/**
 * The control surface: seed companies and users, act "in the Pipedrive web app" (changes fire webhooks with
 * `change_source: 'app'`), inspect state, inject faults, ban webhooks, tune rate limits, read stats. The same
 * operations are served over HTTP under `/_emulator/...` for processes that do not share memory with the
 * emulator (no auth, not rate limited, not counted in stats).
 */
import type { FaultConfig } from '../shared/faults.js';
import type { Router } from '../shared/http-server.js';
import { HttpError } from '../shared/http-server.js';
import type { ActivityInput } from './activities.js';
import { createActivity, deleteActivity, parseActivityInput, serializeActivity, updateActivity } from './activities.js';
import type { Core } from './core.js';
import { asObject, parseIdParam } from './core.js';
import type { DealInput, OrganizationInput, PersonInput } from './entities.js';
import { createRecord, dealSpec, deleteRecord, organizationSpec, personSpec, updateRecord } from './entities.js';
import { issueTokens, DEFAULT_SCOPE } from './oauth.js';
import type { RateLimitSettings } from './rate-limit.js';
import type { PipedriveStats } from './stats.js';
import type { Activity, Deal, EntityName, Organization, Person, Store, User } from './store.js';
import type { ChangeRecord, ChangeSource } from './webhooks.js';
import { DEFAULT_ACTIVITY_TYPES, pdTime, randomToken } from './store.js';
import { webhookView } from './v1.js';

export interface CreatedUser {
  userId: number;
  companyId: number;
  apiToken: string;
  oauth: { clientId: string; clientSecret: string; refreshToken: string; accessToken: string };
}

export interface WebhookInfo extends Record<string, unknown> {
  id: number;
  company_id: number;
  user_id: number;
  subscription_url: string;
  event_action: string;
  event_object: string;
  /** Epoch ms until which the webhook is banned (0 or past = not banned). */
  banned_until: number;
  ban_counter: number;
}

/** As-if-in-the-web-app writes: `userId` is who made the change (defaults to the record's owner). */
export interface PipedriveControl {
  createCompany(input: { name: string }): { companyId: number };
  createUser(input: {
    companyId: number;
    name: string;
    email: string;
    isAdmin?: boolean;
    timezoneName?: string;
    /** Scopes of the user's OAuth app, comma-separated (default: all the emulated scopes, see scopes.ts). */
    oauthScopes?: string;
  }): CreatedUser;

  createActivity(input: ActivityInput & { userId: number }): Record<string, unknown>;
  updateActivity(id: number, patch: ActivityInput, opts?: { userId?: number }): Record<string, unknown>;
  deleteActivity(id: number, opts?: { userId?: number }): void;
  createDeal(input: DealInput & { userId: number }): Record<string, unknown>;
  updateDeal(id: number, patch: DealInput, opts?: { userId?: number }): Record<string, unknown>;
  deleteDeal(id: number, opts?: { userId?: number }): void;
  createPerson(input: PersonInput & { userId: number }): Record<string, unknown>;
  updatePerson(id: number, patch: PersonInput, opts?: { userId?: number }): Record<string, unknown>;
  deletePerson(id: number, opts?: { userId?: number }): void;
  createOrganization(input: OrganizationInput & { userId: number }): Record<string, unknown>;
  updateOrganization(id: number, patch: OrganizationInput, opts?: { userId?: number }): Record<string, unknown>;
  deleteOrganization(id: number, opts?: { userId?: number }): void;

  /** The activity in API v2 shape (attendees included), also when deleted; undefined if it never existed. */
  getActivity(id: number): Record<string, unknown> | undefined;
  listActivities(opts?: { includeDeleted?: boolean; companyId?: number }): Record<string, unknown>[];
  listWebhooks(): WebhookInfo[];

  setFaults(config: FaultConfig): void;
  /** Bans the webhooks of a company or user (all webhooks when omitted), as the ban counter would. */
  banWebhooks(companyOrUserId?: number, durationMs?: number): void;
  unbanWebhooks(): void;
  setRateLimits(limits: Partial<RateLimitSettings>): void;
  /**
   * How far person search lags behind writes (default 0): a person created or changed less than `ms` ago is
   * found by `GET /api/v2/persons/search` as it was before (or not at all). Reset by `reset()`.
   */
  setSearchIndexDelay(ms: number): void;
  stats(): PipedriveStats;
  /**
   * The change log: every committed create/change/delete (app or API side) with its millisecond commit time,
   * oldest first, filtered by the given fields (`sinceMs` inclusive). Emulator inspection only — Pipedrive's
   * own `update_time` has second precision, too coarse to time a write; benchmarks use this instead.
   */
  changes(filter?: {
    sinceMs?: number;
    entity?: EntityName;
    entityId?: number;
    changeSource?: ChangeSource;
  }): ChangeRecord[];
  resetStats(): void;
  /** Forgets everything: companies, users, data, webhooks, faults, counters, pending deliveries. */
  reset(): void;
}

export interface ControlDeps extends Core {
  setFaults(config: FaultConfig): void;
  setRateLimits(limits: Partial<RateLimitSettings>): void;
  setSearchIndexDelay(ms: number): void;
  stats(): PipedriveStats;
  /** The live change log (oldest first). */
  changes(): ChangeRecord[];
  resetStats(): void;
  reset(): void;
  banDurationMs: number;
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'company'
  );
}

function actor(store: Store, userId: number): User {
  const u = store.users.get(userId);
  if (!u) throw new HttpError(400, { success: false, error: `user ${userId} does not exist` });
  return u;
}

export function createControl(deps: ControlDeps): PipedriveControl {
  const store = () => deps.store();
  const companyOfRecord = (table: Map<number, { company_id: number }>, id: number, label: string) => {
    const r = table.get(id);
    if (!r) throw new HttpError(404, { success: false, error: `${label} not found` });
    return r.company_id;
  };
  const parseFor = <I>(
    spec: { parse: (core: Core, companyId: number, body: Record<string, unknown>, creating: boolean) => I },
    companyId: number,
    body: object,
    creating: boolean,
  ) => spec.parse(deps, companyId, asObject(body), creating);

  return {
    createCompany({ name }) {
      const s = store();
      const id = s.newCompanyId();
      s.companies.set(id, { id, name, domain: `${slug(name)}-${id}` });
      const t = pdTime();
      s.activityTypes.set(
        id,
        DEFAULT_ACTIVITY_TYPES.map(([key, label, icon], i) => ({
          id: i + 1,
          name: label,
          key_string: key,
          icon_key: icon,
          active_flag: true,
          order_nr: i + 1,
          is_custom_flag: false,
          color: null,
          add_time: t,
          update_time: null,
        })),
      );
      return { companyId: id };
    },

    createUser({ companyId, name, email, isAdmin, timezoneName, oauthScopes }) {
      const s = store();
      if (!s.companies.has(companyId))
        throw new HttpError(400, { success: false, error: `company ${companyId} does not exist` });
      const id = s.newUserId();
      const apiToken = randomToken(20);
      const user: User = {
        id,
        company_id: companyId,
        name,
        email,
        is_admin: isAdmin ?? s.usersOf(companyId).length === 0,
        timezone_name: timezoneName ?? 'Europe/Berlin',
        api_token: apiToken,
        add_time: pdTime(),
      };
      s.users.set(id, user);
      s.apiTokens.set(apiToken, id);
      const clientId = `client-${id}-${randomToken(4)}`;
      const clientSecret = randomToken(16);
      const scope = oauthScopes ?? DEFAULT_SCOPE;
      s.oauthClients.set(clientId, { clientId, clientSecret, userId: id, scope });
      const tokens = issueTokens(s, { userId: id, clientId, scope });
      return {
        userId: id,
        companyId,
        apiToken,
        oauth: { clientId, clientSecret, refreshToken: tokens.refresh_token, accessToken: tokens.access_token },
      };
    },

    createActivity({ userId, ...fields }) {
      const u = actor(store(), userId);
      const input = parseActivityInput(deps, u.company_id, fields);
      return serializeActivity(createActivity(deps, u.company_id, u.id, input, 'app'));
    },
    updateActivity(id, patch, opts) {
      const companyId = companyOfRecord(store().activities, id, 'Activity');
      const input = parseActivityInput(deps, companyId, patch);
      return serializeActivity(updateActivity(deps, id, companyId, opts?.userId, input, 'app'));
    },
    deleteActivity(id, opts) {
      deleteActivity(deps, id, undefined, opts?.userId, 'app');
    },

    createDeal({ userId, ...fields }) {
      const u = actor(store(), userId);
      return dealSpec.serialize(
        createRecord(dealSpec, deps, u.company_id, u.id, parseFor(dealSpec, u.company_id, fields, true), 'app') as Deal,
      );
    },
    updateDeal(id, patch, opts) {
      const c = companyOfRecord(store().deals, id, 'Deal');
      return dealSpec.serialize(
        updateRecord(dealSpec, deps, id, c, opts?.userId, parseFor(dealSpec, c, patch, false), 'app'),
      );
    },
    deleteDeal(id, opts) {
      deleteRecord(dealSpec, deps, id, undefined, opts?.userId, 'app');
    },
    createPerson({ userId, ...fields }) {
      const u = actor(store(), userId);
      return personSpec.serialize(
        createRecord(
          personSpec,
          deps,
          u.company_id,
          u.id,
          parseFor(personSpec, u.company_id, fields, true),
          'app',
        ) as Person,
      );
    },
    updatePerson(id, patch, opts) {
      const c = companyOfRecord(store().persons, id, 'Person');
      return personSpec.serialize(
        updateRecord(personSpec, deps, id, c, opts?.userId, parseFor(personSpec, c, patch, false), 'app'),
      );
    },
    deletePerson(id, opts) {
      deleteRecord(personSpec, deps, id, undefined, opts?.userId, 'app');
    },
    createOrganization({ userId, ...fields }) {
      const u = actor(store(), userId);
      return organizationSpec.serialize(
        createRecord(
          organizationSpec,
          deps,
          u.company_id,
          u.id,
          parseFor(organizationSpec, u.company_id, fields, true),
          'app',
        ) as Organization,
      );
    },
    updateOrganization(id, patch, opts) {
      const c = companyOfRecord(store().organizations, id, 'Organization');
      return organizationSpec.serialize(
        updateRecord(organizationSpec, deps, id, c, opts?.userId, parseFor(organizationSpec, c, patch, false), 'app'),
      );
    },
    deleteOrganization(id, opts) {
      deleteRecord(organizationSpec, deps, id, undefined, opts?.userId, 'app');
    },

    getActivity(id) {
      const a = store().activities.get(id);
      return a ? serializeActivity(a) : undefined;
    },
    listActivities(opts = {}) {
      return [...store().activities.values()]
        .filter(
          (a: Activity) =>
            (opts.includeDeleted || !a.is_deleted) && (opts.companyId === undefined || a.company_id === opts.companyId),
        )
        .map((a) => serializeActivity(a));
    },
    listWebhooks() {
      return [...store().webhooks.values()].map(
        (w) => ({ ...webhookView(w), banned_until: w.banned_until, ban_counter: w.ban_counter }) as WebhookInfo,
      );
    },

    setFaults: (config) => deps.setFaults(config),
    banWebhooks(companyOrUserId, durationMs) {
      const until = Date.now() + (durationMs ?? deps.banDurationMs);
      for (const w of store().webhooks.values()) {
        if (companyOrUserId === undefined || w.company_id === companyOrUserId || w.user_id === companyOrUserId)
          w.banned_until = until;
      }
    },
    unbanWebhooks() {
      for (const w of store().webhooks.values()) {
        w.banned_until = 0;
        w.ban_counter = 0;
      }
    },
    setRateLimits: (limits) => deps.setRateLimits(limits),
    setSearchIndexDelay: (ms) => deps.setSearchIndexDelay(ms),
    stats: () => structuredClone(deps.stats()),
    changes(filter = {}) {
      return deps
        .changes()
        .filter(
          (c) =>
            (filter.sinceMs === undefined || c.atMs >= filter.sinceMs) &&
            (filter.entity === undefined || c.entity === filter.entity) &&
            (filter.entityId === undefined || c.entityId === filter.entityId) &&
            (filter.changeSource === undefined || c.changeSource === filter.changeSource),
        )
        .map((c) => ({ ...c, changedFields: [...c.changedFields] }));
    },
    resetStats: () => deps.resetStats(),
    reset: () => deps.reset(),
  };
}

/** `/_emulator/...`: the control API over HTTP (JSON in, JSON out). */
export function registerControlRoutes(router: Router, control: PipedriveControl): void {
  const body = (raw: unknown) => asObject(raw) as Record<string, unknown> & { userId?: number };
  const ok = (data: unknown = { ok: true }) => ({ status: 200, body: data });
  router.on('POST', '/_emulator/companies', (req) => ok(control.createCompany(body(req.json()) as { name: string })));
  router.on('POST', '/_emulator/users', (req) => ok(control.createUser(body(req.json()) as never)));
  router.on('GET', '/_emulator/activities', (req) =>
    ok(control.listActivities({ includeDeleted: req.query.get('includeDeleted') === 'true' })),
  );
  router.on('GET', '/_emulator/activities/:id', (req) => {
    const a = control.getActivity(parseIdParam(req.params.id));
    if (!a) throw new HttpError(404, { success: false, error: 'Activity not found' });
    return ok(a);
  });
  for (const [path, create, update, remove] of [
    ['activities', control.createActivity, control.updateActivity, control.deleteActivity],
    ['deals', control.createDeal, control.updateDeal, control.deleteDeal],
    ['persons', control.createPerson, control.updatePerson, control.deletePerson],
    ['organizations', control.createOrganization, control.updateOrganization, control.deleteOrganization],
  ] as const) {
    router.on('POST', `/_emulator/${path}`, (req) => ok((create as (i: never) => unknown)(body(req.json()) as never)));
    router.on('PATCH', `/_emulator/${path}/:id`, (req) => {
      const { userId, ...patch } = body(req.json());
      return ok(
        (update as (id: number, p: never, o?: { userId?: number }) => unknown)(
          parseIdParam(req.params.id),
          patch as never,
          { userId },
        ),
      );
    });
    router.on('DELETE', `/_emulator/${path}/:id`, (req) => {
      const userId = req.query.get('userId');
      (remove as (id: number, o?: { userId?: number }) => void)(parseIdParam(req.params.id), {
        userId: userId ? Number(userId) : undefined,
      });
      return ok();
    });
  }
  router.on('GET', '/_emulator/webhooks', () => ok(control.listWebhooks()));
  router.on('POST', '/_emulator/webhooks/ban', (req) => {
    const b = body(req.json()) as { companyOrUserId?: number; durationMs?: number };
    control.banWebhooks(b.companyOrUserId, b.durationMs);
    return ok();
  });
  router.on('POST', '/_emulator/webhooks/unban', () => (control.unbanWebhooks(), ok()));
  router.on('PUT', '/_emulator/faults', (req) => (control.setFaults(body(req.json()) as FaultConfig), ok()));
  router.on(
    'PUT',
    '/_emulator/rate-limits',
    (req) => (control.setRateLimits(body(req.json()) as Partial<RateLimitSettings>), ok()),
  );
  router.on('PUT', '/_emulator/search-index', (req) => {
    const { delayMs } = body(req.json()) as { delayMs?: unknown };
    control.setSearchIndexDelay(typeof delayMs === 'number' ? delayMs : Number.NaN);
    return ok();
  });
  router.on('GET', '/_emulator/stats', () => ok(control.stats()));
  router.on('GET', '/_emulator/changes', (req) => {
    const q = (k: string) => req.query.get(k) ?? undefined;
    const n = (k: string) => (q(k) === undefined ? undefined : Number(q(k)));
    return ok(
      control.changes({
        sinceMs: n('sinceMs'),
        entity: q('entity') as EntityName | undefined,
        entityId: n('entityId'),
        changeSource: q('changeSource') as ChangeSource | undefined,
      }),
    );
  });
  router.on('POST', '/_emulator/stats/reset', () => (control.resetStats(), ok()));
  router.on('POST', '/_emulator/reset', () => (control.reset(), ok()));
}
