/**
 * The v1 endpoints the sync uses: the current user (`/v1/users/me`), activity types (`/v1/activityTypes`) and
 * webhooks (`/v1/webhooks`, https://pipedrive.readme.io/docs/guide-for-webhooks-v2). Served under both `/v1`
 * (api.pipedrive.com style, the official v1 client's default base path) and `/api/v1` (company-domain style).
 */
import type { EmuRequest, Router } from '../shared/http-server.js';
import type { Caller, Core } from './core.js';
import { asObject, optInt, optString, parseIdParam } from './core.js';
import { badRequest, notFound, pdError } from './errors.js';
import type { Store, User, Webhook } from './store.js';
import { pdTime } from './store.js';
import type { ApiRoute } from './server.js';

/** v1 timestamps: `YYYY-MM-DD HH:MM:SS` (UTC). */
const v1Time = (iso: string | null) => (iso ? iso.replace('T', ' ').replace('Z', '') : null);

export function userView(store: Store, u: User): Record<string, unknown> {
  const company = store.companies.get(u.company_id);
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    company_id: u.company_id,
    company_name: company?.name,
    company_domain: company?.domain,
    company_country: 'DE',
    default_currency: 'EUR',
    locale: 'en_US',
    lang: 1,
    language: { language_code: 'en', country_code: 'US' },
    phone: null,
    activated: true,
    active_flag: true,
    is_admin: u.is_admin,
    role_id: 1,
    timezone_name: u.timezone_name,
    timezone_offset: '+00:00',
    created: v1Time(u.add_time),
    modified: null,
    last_login: v1Time(u.add_time),
    has_created_company: u.is_admin,
    icon_url: null,
    is_you: true,
    access: [{ app: 'sales', admin: u.is_admin, permission_set_id: 'emulator' }],
  };
}

export function webhookView(w: Webhook): Record<string, unknown> {
  return {
    id: w.id,
    company_id: w.company_id,
    owner_id: w.owner_id,
    user_id: w.user_id,
    event_action: w.event_action,
    event_object: w.event_object,
    subscription_url: w.subscription_url,
    version: w.version,
    is_active: w.is_active ? 1 : 0,
    add_time: v1Time(w.add_time),
    remove_time: v1Time(w.remove_time),
    type: 'general',
    http_auth_user: w.http_auth_user,
    http_auth_password: w.http_auth_password,
    remove_reason: null,
    last_delivery_time: v1Time(w.last_delivery_time),
    last_http_status: w.last_http_status,
    admin_id: w.owner_id,
    name: w.name,
  };
}

const ACTIONS = ['create', 'change', 'delete', '*'];
const OBJECTS = [
  'activity',
  'deal',
  'lead',
  'note',
  'organization',
  'person',
  'pipeline',
  'product',
  'stage',
  'user',
  '*',
];
const MAX_WEBHOOKS_PER_USER = 40;

export function registerV1Routes(router: Router, api: ApiRoute, core: Core): void {
  const both = (
    method: string,
    path: string,
    handler: (req: EmuRequest, caller: Caller) => ReturnType<Parameters<ApiRoute>[3]>,
  ) => {
    api(router, method, `/v1${path}`, handler);
    api(router, method, `/api/v1${path}`, handler, `/v1${path}`);
  };

  both('GET', '/users/me', (_req, caller) => ({
    status: 200,
    body: { success: true, data: userView(core.store(), caller.user) },
  }));

  both('GET', '/activityTypes', (_req, caller) => ({
    status: 200,
    body: {
      success: true,
      data: (core.store().activityTypes.get(caller.company.id) ?? []).map((t) => ({
        ...t,
        add_time: v1Time(t.add_time),
        update_time: v1Time(t.update_time),
      })),
    },
  }));

  both('GET', '/webhooks', (_req, caller) => {
    const hooks = [...core.store().webhooks.values()].filter(
      (w) =>
        w.is_active &&
        w.company_id === caller.company.id &&
        (caller.user.is_admin || w.user_id === caller.user.id || w.owner_id === caller.user.id),
    );
    return { status: 200, body: { success: true, status: 'ok', data: hooks.map(webhookView) } };
  });

  both('POST', '/webhooks', (req, caller) => {
    const body = asObject(req.json());
    const url = optString(body, 'subscription_url');
    if (!url) throw badRequest('subscription_url is required');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badRequest('subscription_url must be a full, valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw badRequest('subscription_url must be an http(s) URL');
    const action = optString(body, 'event_action');
    if (!action || !ACTIONS.includes(action)) throw badRequest(`event_action must be one of: ${ACTIONS.join(', ')}`);
    const object = optString(body, 'event_object');
    if (!object || !OBJECTS.includes(object)) throw badRequest(`event_object must be one of: ${OBJECTS.join(', ')}`);
    // `name` is required (AddWebhookRequest in the pipedrive package's v1 models).
    const name = optString(body, 'name');
    if (name === undefined || name === null || name.trim() === '') throw badRequest('name is required');
    // Webhooks v2 is the default version since 17 March 2025 (AddWebhookRequest `version`).
    const version = optString(body, 'version') ?? '2.0';
    if (version !== '2.0')
      throw badRequest(`version '${version}' is not supported by the emulator: create webhooks with version '2.0'`);
    const userId = optInt(body, 'user_id') ?? caller.user.id;
    const user = core.store().users.get(userId);
    if (!user || user.company_id !== caller.company.id)
      throw badRequest(`user_id ${userId} is not a user of this company`);
    if (userId !== caller.user.id && !caller.user.is_admin)
      throw pdError(403, 'Only admins can create webhooks for other users');
    const store = core.store();
    const owned = [...store.webhooks.values()].filter((w) => w.is_active && w.user_id === userId).length;
    if (owned >= MAX_WEBHOOKS_PER_USER)
      throw badRequest(`The maximum of ${MAX_WEBHOOKS_PER_USER} webhooks per user has been reached`);
    const hook: Webhook = {
      id: store.newId('webhook'),
      company_id: caller.company.id,
      owner_id: caller.user.id,
      user_id: userId,
      name,
      subscription_url: url,
      event_action: action,
      event_object: object,
      http_auth_user: optString(body, 'http_auth_user') ?? null,
      http_auth_password: optString(body, 'http_auth_password') ?? null,
      version,
      is_active: true,
      add_time: pdTime(),
      remove_time: null,
      last_delivery_time: null,
      last_http_status: null,
      ban_counter: 0,
      banned_until: 0,
    };
    store.webhooks.set(hook.id, hook);
    return { status: 201, body: { success: true, status: 'ok', data: webhookView(hook) } };
  });

  both('DELETE', '/webhooks/:id', (req, caller) => {
    const hook = core.store().webhooks.get(parseIdParam(req.params.id));
    if (!hook || !hook.is_active || hook.company_id !== caller.company.id) throw notFound('Webhook');
    if (!caller.user.is_admin && hook.user_id !== caller.user.id && hook.owner_id !== caller.user.id)
      throw notFound('Webhook');
    hook.is_active = false;
    hook.remove_time = pdTime();
    core.store().webhooks.delete(hook.id);
    return { status: 200, body: { success: true, status: 'ok' } };
  });
}
