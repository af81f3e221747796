/**
 * What every route module needs: the state, the clock-stamped commit of a change (which fires the webhook),
 * the authenticated caller and cursor pagination. Kept separate so route files stay about their entity.
 */
import { badRequest } from './errors.js';
import type { Company, EntityName, EntityRecord, Store, User } from './store.js';
import { pdTime } from './store.js';
import type { ChangeAction, ChangeSource, ChangeEvent } from './webhooks.js';

export interface Core {
  store(): Store;
  emit(event: ChangeEvent): void;
}

export interface Caller {
  user: User;
  company: Company;
  /** The api_token or access_token used; the burst limit is counted per credential. */
  credential: string;
  kind: 'api_token' | 'oauth';
  /** The access token's scopes (OAuth only). */
  scope?: string;
}

/**
 * Records a change and notifies webhooks. `previous` carries, per Pipedrive v2, the old values of the fields
 * that changed (null on create; the whole last state on delete, where `data` is null).
 */
export function commit<T extends EntityRecord>(
  core: Core,
  entity: EntityName,
  action: ChangeAction,
  before: T | undefined,
  after: T,
  actorUserId: number,
  source: ChangeSource,
  serialize: (r: T) => Record<string, unknown>,
): void {
  const store = core.store();
  let previous: Record<string, unknown> | null = null;
  if (action === 'change' && before) {
    const b = serialize(before);
    const a = serialize(after);
    previous = {};
    for (const key of Object.keys(b)) {
      if (key === 'update_time') continue;
      if (JSON.stringify(b[key]) !== JSON.stringify(a[key])) previous[key] = b[key];
    }
    if (Object.keys(previous).length === 0) return; // nothing changed: no update_time bump, no webhook
    // The v2 guide's `previous` carries the old `update_time` alongside the changed fields.
    previous.update_time = b.update_time ?? null;
  }
  store.table(entity).set(after.id, after);
  if (action === 'delete' && before) previous = serialize(before);
  core.emit({
    action,
    entity,
    entityId: after.id,
    companyId: after.company_id,
    userId: actorUserId,
    changeSource: source,
    data: action === 'delete' ? null : serialize(after),
    previous,
  });
}

export const now = () => pdTime();

// ---- cursor pagination (opaque cursor = position after the last item of the previous page, keyset style)

export interface PageQuery {
  limit: number;
  cursor: { v: string | number | null; id: number } | undefined;
  sortBy: string;
  desc: boolean;
}

export function parsePageQuery(q: URLSearchParams, sortable: string[], defaultSort = 'id'): PageQuery {
  const limitRaw = q.get('limit');
  let limit = 100;
  if (limitRaw !== null) {
    limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1) throw badRequest('limit must be a positive integer');
    if (limit > 500) throw badRequest('limit must not be greater than 500');
  }
  const sortBy = q.get('sort_by') ?? defaultSort;
  if (!sortable.includes(sortBy)) throw badRequest(`sort_by must be one of: ${sortable.join(', ')}`);
  const dir = q.get('sort_direction') ?? 'asc';
  if (dir !== 'asc' && dir !== 'desc') throw badRequest('sort_direction must be asc or desc');
  const cursorRaw = q.get('cursor');
  let cursor: PageQuery['cursor'];
  if (cursorRaw) {
    try {
      const parsed = JSON.parse(Buffer.from(cursorRaw, 'base64url').toString('utf8')) as {
        s: string;
        d: string;
        v: string | number | null;
        id: number;
      };
      if (typeof parsed.id !== 'number' || parsed.s !== sortBy || parsed.d !== dir) throw new Error('mismatch');
      cursor = { v: parsed.v, id: parsed.id };
    } catch {
      throw badRequest('Invalid cursor');
    }
  }
  return { limit, cursor, sortBy, desc: dir === 'desc' };
}

export function paginate<T extends { id: number }>(
  items: T[],
  page: PageQuery,
): { data: T[]; next_cursor: string | null } {
  const key = (r: T): string | number | null => {
    const v = (r as Record<string, unknown>)[page.sortBy];
    return v === undefined ? null : (v as string | number | null);
  };
  const cmp = (av: string | number | null, aid: number, bv: string | number | null, bid: number): number => {
    let c = 0;
    if (av !== bv) {
      if (av === null) c = -1;
      else if (bv === null) c = 1;
      else c = av < bv ? -1 : 1;
    }
    if (c === 0) c = aid - bid;
    return page.desc ? -c : c;
  };
  const sorted = [...items].sort((a, b) => cmp(key(a), a.id, key(b), b.id));
  const start = page.cursor ? sorted.filter((r) => cmp(key(r), r.id, page.cursor!.v, page.cursor!.id) > 0) : sorted;
  const data = start.slice(0, page.limit);
  const last = data[data.length - 1];
  const more = start.length > page.limit && last !== undefined;
  const next_cursor = more
    ? Buffer.from(
        JSON.stringify({ s: page.sortBy, d: page.desc ? 'desc' : 'asc', v: key(last), id: last.id }),
      ).toString('base64url')
    : null;
  return { data, next_cursor };
}

// ---- small validators shared by the entity modules

export function optInt(body: Record<string, unknown>, key: string): number | null | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw badRequest(`${key} must be an integer`);
  return v;
}

export function optString(body: Record<string, unknown>, key: string): string | null | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

export function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${key} must be a boolean`);
  return v;
}

export function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('Request body must be a JSON object');
  return body as Record<string, unknown>;
}

export function parseIdParam(raw: string | undefined): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw badRequest('id must be a positive integer');
  return id;
}

export function parseIntQuery(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw badRequest(`${key} must be an integer`);
  return n;
}

/** RFC 3339 timestamp → epoch ms, or 400. */
export function parseRfc3339(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw badRequest(`${key} must be an RFC 3339 date-time, e.g. 2025-01-01T10:20:00Z`);
  }
  return Date.parse(raw);
}
