/**
 * Person search, API v2: `GET /api/v2/persons/search` (the v2 reference's `searchPersons`; the `pipedrive`
 * package's `PersonsApi.searchPersons` and its `GetPersonSearchResponse` model follow the same shape).
 *
 * - `term` is required: at least 2 characters, or 1 with `exact_match` → otherwise 400.
 * - `fields`: a comma-separated subset of `custom_fields, email, notes, phone, name` (default: all of them);
 *   anything else → 400. Persons here have no notes or custom fields, so those never match.
 * - `exact_match=true`: only a whole field value equal to the term matches, **not** case sensitive (as the
 *   reference says); otherwise the term may appear anywhere in a value (case-insensitive).
 * - `organization_id` filters by the person's organization; `limit` (default 100, max 500) and `cursor` page.
 * - The answer is `{success, data: {items: [{result_score, item}]}, additional_data: {next_cursor}}` where `item`
 *   is `{id, type: 'person', name, phones: [string], emails: [string], visible_to, owner: {id},
 *   organization: {id, name, address} | null, custom_fields: [], notes: []}` — e-mails and phones are plain
 *   strings here, unlike the `{value, primary, label}` objects of the person endpoints.
 *
 * Search reads an index, not the records: the index can be set to lag behind writes (`setSearchIndexDelay`),
 * as search indexes commonly do. Pipedrive documents no delay either way; the default is none, and a test that
 * must not depend on search seeing its own writes sets one.
 */
import type { Router } from '../shared/http-server.js';
import type { Caller, Core } from './core.js';
import { paginate, parseIntQuery, parsePageQuery } from './core.js';
import { badRequest } from './errors.js';
import type { ChangeEvent } from './webhooks.js';
import type { ApiRoute } from './server.js';

export const SEARCH_FIELDS = ['custom_fields', 'email', 'notes', 'phone', 'name'] as const;
type SearchField = (typeof SEARCH_FIELDS)[number];

interface IndexedPerson {
  id: number;
  company_id: number;
  name: string;
  owner_id: number;
  org_id: number | null;
  emails: string[];
  phones: string[];
}

/** How many past versions of one person the index keeps (enough to answer with any realistic lag). */
const VERSIONS_KEPT = 8;

/** The persons as search sees them: every committed version with the time it was written. */
export class PersonSearchIndex {
  private versions = new Map<number, { atMs: number; person: IndexedPerson | null }[]>();
  private delayMs = 0;

  setDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw badRequest('search index delay must be a non-negative number');
    this.delayMs = ms;
  }

  clear(): void {
    this.versions.clear();
    this.delayMs = 0;
  }

  /** Fed with every committed change (server.ts); only persons matter. */
  record(e: ChangeEvent, atMs = Date.now()): void {
    if (e.entity !== 'person') return;
    const d = e.data as Record<string, unknown> | null;
    const person: IndexedPerson | null =
      d === null
        ? null
        : {
            id: e.entityId,
            company_id: e.companyId,
            name: String(d.name ?? ''),
            owner_id: Number(d.owner_id),
            org_id: (d.org_id as number | null) ?? null,
            emails: values(d.emails),
            phones: values(d.phones),
          };
    const list = this.versions.get(e.entityId) ?? [];
    list.push({ atMs, person });
    if (list.length > VERSIONS_KEPT) list.splice(0, list.length - VERSIONS_KEPT);
    this.versions.set(e.entityId, list);
  }

  /** The persons of a company as the index shows them at `nowMs` (the newest version old enough). */
  visible(companyId: number, nowMs = Date.now()): IndexedPerson[] {
    const out: IndexedPerson[] = [];
    for (const list of this.versions.values()) {
      const seen = [...list].reverse().find((v) => v.atMs <= nowMs - this.delayMs);
      if (seen?.person && seen.person.company_id === companyId) out.push(seen.person);
    }
    return out;
  }
}

function values(list: unknown): string[] {
  return Array.isArray(list)
    ? list.map((x) => (x as { value?: unknown }).value).filter((v): v is string => typeof v === 'string')
    : [];
}

function parseFields(raw: string | null): SearchField[] {
  if (raw === null || raw === '') return [...SEARCH_FIELDS];
  const fields = raw.split(',').map((f) => f.trim());
  for (const f of fields) {
    if (!(SEARCH_FIELDS as readonly string[]).includes(f))
      throw badRequest(`fields must be a comma-separated list of: ${SEARCH_FIELDS.join(', ')}`);
  }
  return fields as SearchField[];
}

function parseExact(raw: string | null): boolean {
  if (raw === null || raw === '') return false;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw badRequest('exact_match must be a boolean');
}

function fieldValues(p: IndexedPerson, field: SearchField): string[] {
  if (field === 'email') return p.emails;
  if (field === 'phone') return p.phones;
  if (field === 'name') return [p.name];
  return []; // notes, custom_fields: persons here have none
}

export function registerSearchRoutes(router: Router, api: ApiRoute, core: Core, index: PersonSearchIndex): void {
  api(router, 'GET', '/api/v2/persons/search', (req, caller: Caller) => {
    const q = req.query;
    const term = (q.get('term') ?? '').trim();
    const exact = parseExact(q.get('exact_match'));
    if (term.length < (exact ? 1 : 2)) throw badRequest('term must be at least 2 characters long (1 with exact_match)');
    const fields = parseFields(q.get('fields'));
    const orgId = parseIntQuery(q, 'organization_id');
    const page = parsePageQuery(q, ['id']);
    const needle = term.toLowerCase();
    const matches = (v: string) => (exact ? v.toLowerCase() === needle : v.toLowerCase().includes(needle));
    const found = index
      .visible(caller.company.id)
      .filter((p) => orgId === undefined || p.org_id === orgId)
      .filter((p) => fields.some((f) => fieldValues(p, f).some(matches)));
    const { data, next_cursor } = paginate(found, page);
    const orgs = core.store().organizations;
    const items = data.map((p) => {
      const org = p.org_id === null ? undefined : orgs.get(p.org_id);
      return {
        result_score: exact ? 1 : 0.5,
        item: {
          id: p.id,
          type: 'person',
          name: p.name,
          phones: p.phones,
          emails: p.emails,
          visible_to: 3,
          owner: { id: p.owner_id },
          organization: org && !org.is_deleted ? { id: org.id, name: org.name, address: org.address } : null,
          custom_fields: [],
          notes: [],
        },
      };
    });
    return { status: 200, body: { success: true, data: { items }, additional_data: { next_cursor } } };
  });
}
