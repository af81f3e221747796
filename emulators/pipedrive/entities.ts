/**
 * Deals, persons and organizations, API v2: the fields the sync needs (names and titles for event titles,
 * links, owner, contact details) with list/get/add/update/delete. Same commit path as activities, so renames
 * fire `change` webhooks with `previous`.
 */
import type { Router } from '../shared/http-server.js';
import type { Caller, Core } from './core.js';
import {
  asObject,
  commit,
  now,
  optInt,
  optString,
  paginate,
  parseIdParam,
  parseIntQuery,
  parsePageQuery,
  parseRfc3339,
} from './core.js';
import { badRequest, notFound } from './errors.js';
import type { ContactItem, Deal, EntityName, EntityRecord, Organization, Person } from './store.js';
import type { ChangeSource } from './webhooks.js';
import type { ApiRoute } from './server.js';

export type DealInput = Partial<
  Pick<Deal, 'title' | 'owner_id' | 'person_id' | 'org_id' | 'value' | 'currency' | 'status'>
>;
export type PersonInput = Partial<Pick<Person, 'name' | 'owner_id' | 'org_id' | 'emails' | 'phones'>>;
export type OrganizationInput = Partial<Pick<Organization, 'name' | 'owner_id' | 'address'>>;

interface EntitySpec<T extends EntityRecord, I> {
  entity: Exclude<EntityName, 'activity'>;
  path: string;
  label: string;
  table: (core: Core) => Map<number, T>;
  parse: (core: Core, companyId: number, body: Record<string, unknown>, creating: boolean) => I;
  build: (
    base: {
      id: number;
      company_id: number;
      owner_id: number;
      add_time: string;
      update_time: string;
      is_deleted: false;
      creator_user_id: number;
    },
    input: I,
  ) => T;
  serialize: (r: T) => Record<string, unknown>;
}

function requireName(body: Record<string, unknown>, key: string, creating: boolean): string | undefined {
  const v = optString(body, key);
  if (v === undefined) {
    if (creating) throw badRequest(`${key} is required`);
    return undefined;
  }
  if (v === null || v.trim() === '') throw badRequest(`${key} must be a non-empty string`);
  return v;
}

function checkOwner(core: Core, companyId: number, body: Record<string, unknown>): number | undefined {
  const owner = optInt(body, 'owner_id');
  if (owner === undefined) return undefined;
  const u = owner === null ? undefined : core.store().users.get(owner);
  if (!u || u.company_id !== companyId) throw badRequest(`owner_id ${String(owner)} is not a user of this company`);
  return u.id;
}

function checkLink(
  core: Core,
  companyId: number,
  body: Record<string, unknown>,
  key: 'person_id' | 'org_id',
): number | null | undefined {
  const v = optInt(body, key);
  if (v === undefined || v === null) return v;
  const table = key === 'person_id' ? core.store().persons : core.store().organizations;
  const rec = table.get(v);
  if (!rec || rec.is_deleted || rec.company_id !== companyId) throw badRequest(`${key} ${v} does not exist`);
  return v;
}

function contactItems(body: Record<string, unknown>, key: string): ContactItem[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw badRequest(`${key} must be an array of {value, primary, label}`);
  return v.map((item, i) => {
    const o = asObject(item);
    const value = optString(o, 'value');
    if (!value) throw badRequest(`${key}[${i}].value is required`);
    return { value, primary: o.primary === true, label: typeof o.label === 'string' ? o.label : 'work' };
  });
}

const strip = <T extends { company_id: number }>(r: T): Record<string, unknown> => {
  const { company_id: _c, ...rest } = r;
  void _c;
  return rest;
};

export const dealSpec: EntitySpec<Deal, DealInput> = {
  entity: 'deal',
  path: 'deals',
  label: 'Deal',
  table: (core) => core.store().deals,
  parse(core, companyId, body, creating) {
    const out: DealInput = {};
    const title = requireName(body, 'title', creating);
    if (title !== undefined) out.title = title;
    const owner = checkOwner(core, companyId, body);
    if (owner !== undefined) out.owner_id = owner;
    const person = checkLink(core, companyId, body, 'person_id');
    if (person !== undefined) out.person_id = person;
    const org = checkLink(core, companyId, body, 'org_id');
    if (org !== undefined) out.org_id = org;
    if (body.value !== undefined) {
      if (typeof body.value !== 'number') throw badRequest('value must be a number');
      out.value = body.value;
    }
    const currency = optString(body, 'currency');
    if (currency) out.currency = currency;
    const status = optString(body, 'status');
    if (status !== undefined) {
      if (status !== 'open' && status !== 'won' && status !== 'lost')
        throw badRequest('status must be one of open, won, lost');
      out.status = status;
    }
    return out;
  },
  build: (base, input) => ({
    ...base,
    title: '',
    person_id: null,
    org_id: null,
    value: 0,
    currency: 'EUR',
    status: 'open',
    ...input,
  }),
  serialize: strip,
};

export const personSpec: EntitySpec<Person, PersonInput> = {
  entity: 'person',
  path: 'persons',
  label: 'Person',
  table: (core) => core.store().persons,
  parse(core, companyId, body, creating) {
    const out: PersonInput = {};
    const name = requireName(body, 'name', creating);
    if (name !== undefined) out.name = name;
    const owner = checkOwner(core, companyId, body);
    if (owner !== undefined) out.owner_id = owner;
    const org = checkLink(core, companyId, body, 'org_id');
    if (org !== undefined) out.org_id = org;
    const emails = contactItems(body, 'emails');
    if (emails) out.emails = emails;
    const phones = contactItems(body, 'phones');
    if (phones) out.phones = phones;
    return out;
  },
  build: ({ creator_user_id: _c, ...base }, input) => {
    void _c;
    return { ...base, name: '', org_id: null, emails: [], phones: [], ...input };
  },
  serialize: strip,
};

export const organizationSpec: EntitySpec<Organization, OrganizationInput> = {
  entity: 'organization',
  path: 'organizations',
  label: 'Organization',
  table: (core) => core.store().organizations,
  parse(core, companyId, body, creating) {
    const out: OrganizationInput = {};
    const name = requireName(body, 'name', creating);
    if (name !== undefined) out.name = name;
    const owner = checkOwner(core, companyId, body);
    if (owner !== undefined) out.owner_id = owner;
    if (body.address !== undefined) {
      const a = body.address;
      if (a === null || typeof a === 'string') out.address = a;
      else if (typeof a === 'object' && typeof (a as { value?: unknown }).value === 'string')
        out.address = (a as { value: string }).value;
      else throw badRequest('address must be a string or {value}');
    }
    return out;
  },
  build: ({ creator_user_id: _c, ...base }, input) => {
    void _c;
    return { ...base, name: '', address: null, ...input };
  },
  serialize: (o) => ({ ...strip(o), address: o.address === null ? null : { value: o.address } }),
};

export function createRecord<T extends EntityRecord, I>(
  spec: EntitySpec<T, I>,
  core: Core,
  companyId: number,
  actorUserId: number,
  input: I,
  source: ChangeSource,
): T {
  const t = now();
  const store = core.store();
  const owner = (input as { owner_id?: number }).owner_id ?? actorUserId;
  const rec = spec.build(
    {
      id: store.newId(spec.entity),
      company_id: companyId,
      owner_id: owner,
      add_time: t,
      update_time: t,
      is_deleted: false,
      creator_user_id: actorUserId,
    },
    input,
  );
  commit(core, spec.entity, 'create', undefined, rec, actorUserId, source, spec.serialize);
  return rec;
}

export function updateRecord<T extends EntityRecord, I>(
  spec: EntitySpec<T, I>,
  core: Core,
  id: number,
  companyId: number | undefined,
  actorUserId: number | undefined,
  input: I,
  source: ChangeSource,
): T {
  const before = spec.table(core).get(id);
  if (!before || before.is_deleted || (companyId !== undefined && before.company_id !== companyId))
    throw notFound(spec.label);
  const after = { ...before, ...input, update_time: now() } as T;
  commit(core, spec.entity, 'change', before, after, actorUserId ?? before.owner_id, source, spec.serialize);
  return spec.table(core).get(id)!;
}

export function deleteRecord<T extends EntityRecord, I>(
  spec: EntitySpec<T, I>,
  core: Core,
  id: number,
  companyId: number | undefined,
  actorUserId: number | undefined,
  source: ChangeSource,
): void {
  const before = spec.table(core).get(id);
  if (!before || before.is_deleted || (companyId !== undefined && before.company_id !== companyId))
    throw notFound(spec.label);
  const after = { ...before, is_deleted: true, update_time: now() } as T;
  commit(core, spec.entity, 'delete', before, after, actorUserId ?? before.owner_id, source, spec.serialize);
}

const DEAL_STATUSES = ['open', 'won', 'lost', 'deleted'] as const;

/**
 * The deal list's own filters (`GET /api/v2/deals`, v2 reference `getDeals`): `person_id`, `org_id` and `status`
 * — one of, or a comma-separated list of, `open`, `won`, `lost`, `deleted`; without it every not deleted deal;
 * `deleted` adds deleted deals (Pipedrive keeps them 30 days; the emulator keeps them all).
 */
function parseDealFilters(q: URLSearchParams): (d: Deal) => boolean {
  const person = parseIntQuery(q, 'person_id');
  const org = parseIntQuery(q, 'org_id');
  const raw = q.get('status');
  const statuses = raw === null || raw === '' ? undefined : raw.split(',').map((s) => s.trim());
  if (statuses?.some((s) => !(DEAL_STATUSES as readonly string[]).includes(s)))
    throw badRequest(`status must be one or more of: ${DEAL_STATUSES.join(', ')}`);
  return (d) =>
    (d.is_deleted ? statuses?.includes('deleted') === true : statuses === undefined || statuses.includes(d.status)) &&
    (person === undefined || d.person_id === person) &&
    (org === undefined || d.org_id === org);
}

function registerEntity<T extends EntityRecord, I>(
  router: Router,
  api: ApiRoute,
  core: Core,
  spec: EntitySpec<T, I>,
): void {
  const base = `/api/v2/${spec.path}`;
  const visible = (caller: Caller, raw: string | undefined): T => {
    const r = spec.table(core).get(parseIdParam(raw));
    if (!r || r.is_deleted || r.company_id !== caller.company.id) throw notFound(spec.label);
    return r;
  };
  api(router, 'GET', base, (req, caller) => {
    const q = req.query;
    const page = parsePageQuery(q, ['id', 'update_time', 'add_time']);
    const owner = parseIntQuery(q, 'owner_id');
    const since = parseRfc3339(q, 'updated_since');
    const until = parseRfc3339(q, 'updated_until');
    const idsRaw = q.get('ids');
    const ids = idsRaw ? idsRaw.split(',').map(Number) : undefined;
    const dealFilter = spec.entity === 'deal' ? parseDealFilters(q) : undefined;
    const items = [...spec.table(core).values()].filter(
      (r) =>
        (dealFilter ? dealFilter(r as unknown as Deal) : !r.is_deleted) &&
        r.company_id === caller.company.id &&
        (owner === undefined || r.owner_id === owner) &&
        (since === undefined || Date.parse(r.update_time) >= since) &&
        (until === undefined || Date.parse(r.update_time) < until) &&
        (ids === undefined || ids.includes(r.id)),
    );
    const { data, next_cursor } = paginate(items, page);
    return { status: 200, body: { success: true, data: data.map(spec.serialize), additional_data: { next_cursor } } };
  });
  api(router, 'GET', `${base}/:id`, (req, caller) => ({
    status: 200,
    body: { success: true, data: spec.serialize(visible(caller, req.params.id)) },
  }));
  api(router, 'POST', base, (req, caller) => {
    const input = spec.parse(core, caller.company.id, asObject(req.json()), true);
    const rec = createRecord(spec, core, caller.company.id, caller.user.id, input, 'api');
    return { status: 200, body: { success: true, data: spec.serialize(rec) } };
  });
  api(router, 'PATCH', `${base}/:id`, (req, caller) => {
    const id = visible(caller, req.params.id).id;
    const input = spec.parse(core, caller.company.id, asObject(req.json()), false);
    const rec = updateRecord(spec, core, id, caller.company.id, caller.user.id, input, 'api');
    return { status: 200, body: { success: true, data: spec.serialize(rec) } };
  });
  api(router, 'DELETE', `${base}/:id`, (req, caller) => {
    const id = visible(caller, req.params.id).id;
    deleteRecord(spec, core, id, caller.company.id, caller.user.id, 'api');
    return { status: 200, body: { success: true, data: { id } } };
  });
}

export function registerEntityRoutes(router: Router, api: ApiRoute, core: Core): void {
  registerEntity(router, api, core, dealSpec);
  registerEntity(router, api, core, personSpec);
  registerEntity(router, api, core, organizationSpec);
}
