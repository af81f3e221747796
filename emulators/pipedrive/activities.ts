/**
 * Activities, API v2 (https://developers.pipedrive.com/docs/api/v1/Activities — v2 section):
 * list with cursor pagination and filters, get one, add, update (PATCH), delete (soft: `is_deleted`, then 404).
 * The same create/update/delete functions back the control API, which acts "in the web app"
 * (`change_source: 'app'`), so both paths share validation, `update_time` and webhooks.
 */
import type { Router } from '../shared/http-server.js';
import type { Caller, Core } from './core.js';
import {
  asObject,
  commit,
  now,
  optBool,
  optInt,
  optString,
  paginate,
  parseIdParam,
  parseIntQuery,
  parsePageQuery,
  parseRfc3339,
} from './core.js';
import { badRequest, notFound } from './errors.js';
import type { Activity, Attendee, Location } from './store.js';
import type { ChangeSource } from './webhooks.js';
import type { ApiRoute } from './server.js';

export type ActivityInput = Partial<
  Pick<
    Activity,
    | 'subject'
    | 'type'
    | 'owner_id'
    | 'deal_id'
    | 'lead_id'
    | 'person_id'
    | 'org_id'
    | 'project_id'
    | 'due_date'
    | 'due_time'
    | 'duration'
    | 'busy'
    | 'done'
    | 'location'
    | 'participants'
    | 'public_description'
    | 'priority'
    | 'outcome'
    | 'note'
    | 'conference_meeting_client'
    | 'conference_meeting_url'
    | 'conference_meeting_id'
  > & { attendees: Partial<Attendee>[] }
>;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d)?$/;
const DURATION_RE = /^(\d{2,3}):([0-5]\d)(:[0-5]\d)?$/;
/**
 * API v2 answers times and durations as `HH:MM:SS` (the v2 reference's examples); requests may give `HH:MM`
 * (the format the field descriptions state) or `HH:MM:SS`.
 */
const withSeconds = (t: string): string => (t.split(':').length === 2 ? `${t}:00` : t);
const LOCATION_KEYS = [
  'value',
  'country',
  'admin_area_level_1',
  'admin_area_level_2',
  'locality',
  'sublocality',
  'route',
  'street_number',
  'subpremise',
  'postal_code',
] as const;

function validDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/**
 * Fields the v2 request schema does not let be `null` (AddActivityRequest in the pipedrive package's v2 models:
 * only `outcome` is `number | null`). An API request that sends `null` for one gets a 400. Stricter reading of a
 * schema that simply omits `null`: the real API may coerce some of them. The link ids (`deal_id`, `person_id`,
 * `org_id`, `lead_id`, `project_id`) are not in this list: the schema offers no other way to unlink.
 */
export const NOT_NULLABLE = [
  'subject',
  'type',
  'owner_id',
  'due_date',
  'due_time',
  'duration',
  'busy',
  'done',
  'location',
  'participants',
  'attendees',
  'public_description',
  'priority',
  'note',
] as const;

/**
 * Validates a request body into a partial activity; every field is optional (v2 PATCH semantics). `api` requests
 * are held to the v2 schema's nullability; the control API (the web app) may clear fields with `null`.
 */
export function parseActivityInput(
  core: Core,
  companyId: number,
  raw: unknown,
  opts: { api?: boolean } = {},
): ActivityInput {
  const body = asObject(raw);
  if (opts.api) {
    for (const key of NOT_NULLABLE) if (body[key] === null) throw badRequest(`${key} must not be null`);
  }
  const out: ActivityInput = {};
  const store = core.store();

  const subject = optString(body, 'subject');
  if (subject !== undefined) {
    if (subject === null || subject.trim() === '') throw badRequest('subject must be a non-empty string');
    out.subject = subject;
  }
  const type = optString(body, 'type');
  if (type !== undefined) {
    const types = store.activityTypes.get(companyId) ?? [];
    if (type === null || !types.some((t) => t.key_string === type && t.active_flag)) {
      throw badRequest(
        `type '${String(type)}' is not an active activity type (known: ${types.map((t) => t.key_string).join(', ')})`,
      );
    }
    out.type = type;
  }
  const owner = optInt(body, 'owner_id');
  if (owner !== undefined) {
    const u = owner === null ? undefined : store.users.get(owner);
    if (!u || u.company_id !== companyId) throw badRequest(`owner_id ${String(owner)} is not a user of this company`);
    out.owner_id = u.id;
  }
  for (const [key, table] of [
    ['deal_id', store.deals],
    ['person_id', store.persons],
    ['org_id', store.organizations],
  ] as const) {
    const v = optInt(body, key);
    if (v === undefined) continue;
    if (v !== null) {
      const rec = table.get(v);
      if (!rec || rec.is_deleted || rec.company_id !== companyId) throw badRequest(`${key} ${v} does not exist`);
    }
    out[key] = v;
  }
  const project = optInt(body, 'project_id');
  if (project !== undefined) out.project_id = project;
  const lead = optString(body, 'lead_id');
  if (lead !== undefined) out.lead_id = lead;

  const dueDate = optString(body, 'due_date');
  if (dueDate !== undefined) {
    if (dueDate !== null && !validDate(dueDate))
      throw badRequest(`due_date '${dueDate}' must be a date in YYYY-MM-DD format`);
    out.due_date = dueDate;
  }
  const dueTime = optString(body, 'due_time');
  if (dueTime !== undefined) {
    if (dueTime !== null && dueTime !== '' && !TIME_RE.test(dueTime))
      throw badRequest(`due_time '${dueTime}' must be a time in HH:MM or HH:MM:SS format (UTC)`);
    out.due_time = dueTime ? withSeconds(dueTime) : null;
  }
  const duration = optString(body, 'duration');
  if (duration !== undefined) {
    if (duration !== null && duration !== '' && !DURATION_RE.test(duration))
      throw badRequest(`duration '${duration}' must be in HH:MM or HH:MM:SS format`);
    out.duration = duration ? withSeconds(duration) : null;
  }
  const busy = optBool(body, 'busy');
  if (busy !== undefined) out.busy = busy;
  const done = optBool(body, 'done');
  if (done !== undefined) out.done = done;
  for (const key of [
    'public_description',
    'note',
    'conference_meeting_client',
    'conference_meeting_url',
    'conference_meeting_id',
  ] as const) {
    const v = optString(body, key);
    if (v !== undefined) out[key] = v;
  }
  const priority = optInt(body, 'priority');
  if (priority !== undefined) out.priority = priority;
  const outcome = optInt(body, 'outcome');
  if (outcome !== undefined) out.outcome = outcome;

  if (body.location !== undefined) {
    const loc = body.location;
    if (loc === null) out.location = null;
    else if (typeof loc === 'string') out.location = { value: loc };
    else if (typeof loc === 'object' && !Array.isArray(loc)) {
      const l: Location = {};
      for (const k of LOCATION_KEYS) {
        const v = (loc as Record<string, unknown>)[k];
        if (v === undefined) continue;
        if (v !== null && typeof v !== 'string') throw badRequest(`location.${k} must be a string`);
        l[k] = v;
      }
      // An address with nothing in it is no address (how a client clears it without null).
      out.location = Object.values(l).some((v) => v !== null && v !== '') ? l : null;
    } else throw badRequest('location must be an object');
  }
  if (body.participants !== undefined) {
    if (!Array.isArray(body.participants)) throw badRequest('participants must be an array');
    out.participants = body.participants.map((p, i) => {
      const o = asObject(p);
      const pid = optInt(o, 'person_id');
      if (pid === undefined || pid === null) throw badRequest(`participants[${i}].person_id is required`);
      const person = store.persons.get(pid);
      if (!person || person.is_deleted || person.company_id !== companyId)
        throw badRequest(`participants[${i}].person_id ${pid} does not exist`);
      return { person_id: pid, primary: optBool(o, 'primary') ?? false };
    });
  }
  if (body.attendees !== undefined) {
    if (!Array.isArray(body.attendees)) throw badRequest('attendees must be an array');
    out.attendees = body.attendees.map((a, i) => {
      const o = asObject(a);
      const email = optString(o, 'email');
      if (!email || !/^[^\s@]+@[^\s@]+$/.test(email))
        throw badRequest(`attendees[${i}].email must be a valid email address`);
      return {
        email,
        name: optString(o, 'name') ?? null,
        status: optString(o, 'status') ?? null,
        is_organizer: optBool(o, 'is_organizer') ?? false,
        person_id: optInt(o, 'person_id') ?? null,
        user_id: optInt(o, 'user_id') ?? null,
      };
    });
  }
  return out;
}

function formatAddress(l: Location | null): Location | null {
  if (!l) return null;
  const parts = [
    [l.street_number, l.route].filter(Boolean).join(' '),
    l.subpremise,
    l.sublocality,
    [l.postal_code, l.locality].filter(Boolean).join(' '),
    l.admin_area_level_2,
    l.admin_area_level_1,
    l.country,
  ].filter((p) => p);
  const structured = parts.length > 0 ? parts.join(', ') : null;
  return { ...l, value: l.value ?? structured, formatted_address: structured ?? l.value ?? null };
}

/** The API v2 shape; `attendees` is only included when asked for (`include_fields=attendees`) on reads. */
export function serializeActivity(
  a: Activity,
  opts: { attendees?: boolean } = { attendees: true },
): Record<string, unknown> {
  const { company_id: _company, attendees, location, ...rest } = a;
  void _company;
  const out: Record<string, unknown> = { ...rest, location: formatAddress(location) };
  if (opts.attendees) out.attendees = attendees;
  return out;
}

const serializeFull = (a: Activity) => serializeActivity(a, { attendees: true });

export function createActivity(
  core: Core,
  companyId: number,
  actorUserId: number,
  input: ActivityInput,
  source: ChangeSource,
): Activity {
  const store = core.store();
  const types = store.activityTypes.get(companyId) ?? [];
  const type = input.type ?? 'call';
  const t = now();
  const { attendees, ...fields } = input;
  const activity: Activity = {
    id: store.newId('activity'),
    company_id: companyId,
    subject: input.subject ?? types.find((x) => x.key_string === type)?.name ?? 'Activity',
    type,
    owner_id: input.owner_id ?? actorUserId,
    creator_user_id: actorUserId,
    is_deleted: false,
    add_time: t,
    update_time: t,
    deal_id: null,
    lead_id: null,
    person_id: null,
    org_id: null,
    project_id: null,
    due_date: null,
    due_time: null,
    duration: null,
    busy: true,
    done: false,
    marked_as_done_time: null,
    location: null,
    participants: [],
    attendees: [],
    conference_meeting_client: null,
    conference_meeting_url: null,
    conference_meeting_id: null,
    public_description: null,
    priority: null,
    outcome: null,
    note: null,
    ...fields,
  };
  if (attendees) activity.attendees = attendees as Attendee[];
  if (activity.done) activity.marked_as_done_time = t;
  commit(core, 'activity', 'create', undefined, activity, actorUserId, source, serializeFull);
  return activity;
}

export function updateActivity(
  core: Core,
  id: number,
  companyId: number | undefined,
  actorUserId: number | undefined,
  input: ActivityInput,
  source: ChangeSource,
): Activity {
  const before = core.store().activities.get(id);
  if (!before || before.is_deleted || (companyId !== undefined && before.company_id !== companyId))
    throw notFound('Activity');
  const t = now();
  const { attendees, ...fields } = input;
  const after: Activity = { ...before, ...fields, update_time: t };
  if (attendees) after.attendees = attendees as Attendee[];
  if (input.done !== undefined && input.done !== before.done) after.marked_as_done_time = input.done ? t : null;
  commit(core, 'activity', 'change', before, after, actorUserId ?? before.owner_id, source, serializeFull);
  return core.store().activities.get(id)!;
}

export function deleteActivity(
  core: Core,
  id: number,
  companyId: number | undefined,
  actorUserId: number | undefined,
  source: ChangeSource,
): void {
  const before = core.store().activities.get(id);
  if (!before || before.is_deleted || (companyId !== undefined && before.company_id !== companyId))
    throw notFound('Activity');
  const after: Activity = { ...before, is_deleted: true, update_time: now() };
  commit(core, 'activity', 'delete', before, after, actorUserId ?? before.owner_id, source, serializeFull);
}

function getVisible(core: Core, caller: Caller, rawId: string | undefined): Activity {
  const a = core.store().activities.get(parseIdParam(rawId));
  if (!a || a.is_deleted || a.company_id !== caller.company.id) throw notFound('Activity');
  return a;
}

function includesAttendees(q: URLSearchParams): boolean {
  return (q.get('include_fields') ?? '').split(',').includes('attendees');
}

export function registerActivityRoutes(router: Router, api: ApiRoute, core: Core): void {
  api(router, 'GET', '/api/v2/activities', (req, caller) => {
    const q = req.query;
    const page = parsePageQuery(q, ['id', 'update_time', 'add_time', 'due_date']);
    const filters: ((a: Activity) => boolean)[] = [];
    const idsRaw = q.get('ids');
    if (idsRaw) {
      const ids = idsRaw.split(',').map((s) => Number(s.trim()));
      if (ids.some((n) => !Number.isInteger(n))) throw badRequest('ids must be a comma-separated list of integers');
      if (ids.length > 100) throw badRequest('ids accepts at most 100 ids');
      filters.push((a) => ids.includes(a.id));
    }
    for (const key of ['owner_id', 'deal_id', 'person_id', 'org_id'] as const) {
      const v = parseIntQuery(q, key);
      if (v !== undefined) filters.push((a) => a[key] === v);
    }
    const lead = q.get('lead_id');
    if (lead) filters.push((a) => a.lead_id === lead);
    const done = q.get('done');
    if (done !== null && done !== '') {
      if (done !== 'true' && done !== 'false' && done !== '1' && done !== '0')
        throw badRequest('done must be a boolean');
      const want = done === 'true' || done === '1';
      filters.push((a) => a.done === want);
    }
    const since = parseRfc3339(q, 'updated_since');
    if (since !== undefined) filters.push((a) => Date.parse(a.update_time) >= since);
    const until = parseRfc3339(q, 'updated_until');
    if (until !== undefined) filters.push((a) => Date.parse(a.update_time) < until);
    if (q.get('filter_id')) throw badRequest('filter_id is not supported by the emulator');

    const items = [...core.store().activities.values()].filter(
      (a) => !a.is_deleted && a.company_id === caller.company.id && filters.every((f) => f(a)),
    );
    const { data, next_cursor } = paginate(items, page);
    const attendees = includesAttendees(q);
    return {
      status: 200,
      body: {
        success: true,
        data: data.map((a) => serializeActivity(a, { attendees })),
        additional_data: { next_cursor },
      },
    };
  });

  api(router, 'GET', '/api/v2/activities/:id', (req, caller) => {
    const a = getVisible(core, caller, req.params.id);
    return {
      status: 200,
      body: { success: true, data: serializeActivity(a, { attendees: includesAttendees(req.query) }) },
    };
  });

  api(router, 'POST', '/api/v2/activities', (req, caller) => {
    const input = parseActivityInput(core, caller.company.id, req.json(), { api: true });
    const a = createActivity(core, caller.company.id, caller.user.id, input, 'api');
    return { status: 200, body: { success: true, data: serializeFull(a) } };
  });

  api(router, 'PATCH', '/api/v2/activities/:id', (req, caller) => {
    const id = getVisible(core, caller, req.params.id).id;
    const input = parseActivityInput(core, caller.company.id, req.json(), { api: true });
    const a = updateActivity(core, id, caller.company.id, caller.user.id, input, 'api');
    return { status: 200, body: { success: true, data: serializeFull(a) } };
  });

  api(router, 'DELETE', '/api/v2/activities/:id', (req, caller) => {
    const id = getVisible(core, caller, req.params.id).id;
    deleteActivity(core, id, caller.company.id, caller.user.id, 'api');
    return { status: 200, body: { success: true, data: { id } } };
  });
}
