/**
 * The Events collection: insert/get/patch/update/delete/list/instances with the validation, versioning (etag,
 * `updated`, `sequence`) and incremental-sync semantics of Calendar API v3. Calendar-scoped, auth-free: the server
 * resolves the user and calendar first. Every write reports the calendar as changed so push channels fire.
 */
import {
  deriveHangoutLink,
  meetConference,
  pendingMeetConference,
  settleConferenceData,
  type ConferenceDataVersion,
} from './conference.js';
import { errors } from './errors.js';
import { checkNewEventType, checkTypeUnchanged } from './event-types.js';
import { expand, MAX_INSTANCES, Occurrence, parseInstanceId, stampInstant, validateRecurrence } from './recurrence.js';
import { AccessRole, Calendar, GoogleEvent, ROLE_RANK, Store, StoredEvent, User } from './store.js';
import { decodePageToken, decodeSyncToken, encodePageToken, encodeSyncToken } from './sync-token.js';
import { EventDateTime, hasOffset, instantOf, isValidTimeZone, parseInstant, rfc3339Ms, withOffset } from './time.js';

export const EXT_PROP_LIMITS = { keyChars: 44, valueChars: 1024, count: 300, totalBytes: 32 * 1024 };
const READ_ONLY = [
  'kind',
  'etag',
  'created',
  'updated',
  'htmlLink',
  'creator',
  'organizer',
  'sequence',
  'recurringEventId',
  'hangoutLink',
];
/** Objects that a patch replaces as a whole (merging `date` into a `dateTime` start would make an invalid time). */
const REPLACED_OBJECTS = new Set(['start', 'end', 'originalStartTime']);
const SYNC_FORBIDDEN = [
  'timeMin',
  'timeMax',
  'q',
  'orderBy',
  'updatedMin',
  'iCalUID',
  'privateExtendedProperty',
  'sharedExtendedProperty',
];
const EVENT_ID_RE = /^[a-v0-9]{5,1024}$/;
const YEAR = 365 * 86_400_000;

export interface WriteContext {
  /** The acting user (organizer/creator of new events). */
  user: User;
  /** `sendUpdates` query value; undefined when absent or for control-API writes. */
  sendUpdates?: string;
  /** `If-Match` header value. */
  ifMatch?: string;
  /** Which operation, for the invitation log. */
  operation: string;
  /**
   * The write comes from the organizer's side (control API: the organizer edits the invitation, or the user edits
   * their own event in the UI), so the attendee-copy restrictions do not apply.
   */
  asOrganizer?: boolean;
  /** `conferenceDataVersion` query value (0 when absent); control writes act as the UI, which knows version 1. */
  conferenceDataVersion?: ConferenceDataVersion;
}

export interface EventServiceOptions {
  /**
   * 0 (default): a Meet create request succeeds within the write. > 0: the write answers `pending` without entry
   * points, and the conference appears this many ms later as a new version of the event (new etag, `updated`).
   */
  conferenceCreateDelayMs?: number;
}

/**
 * What an attendee may change on their copy of someone else's event ("Handle API errors",
 * 403 forbiddenForNonOrganizer; Events resource: reminders, colorId, transparency and private extended properties
 * are per-copy, and an attendee answers through their own `attendees[].responseStatus`). Everything else belongs to
 * the organizer. Stricter reading: `guestsCanModify` is not honoured (an attendee never changes shared fields).
 */
const ATTENDEE_CHANGEABLE = new Set(['reminders', 'colorId', 'transparency']);
const SELF_ATTENDEE_CHANGEABLE = new Set(['responseStatus', 'comment', 'additionalGuests']);

export interface InvitationRecord {
  operation: string;
  calendarId: string;
  eventId: string;
  sendUpdates: string;
  attendees: string[];
  /** Addresses that would have received mail (none unless sendUpdates is all/externalOnly). */
  notified: string[];
}

export class EventService {
  constructor(
    private readonly store: Store,
    private readonly onChange: (cal: Calendar) => void,
    private readonly onInvitation: (rec: InvitationRecord) => void,
    private readonly options: EventServiceOptions = {},
  ) {}

  private readonly pendingConferences = new Set<NodeJS.Timeout>();

  /** Forgets conference creations still pending (emulator reset or close). */
  cancelPendingConferences(): void {
    for (const t of this.pendingConferences) clearTimeout(t);
    this.pendingConferences.clear();
  }

  // ---- calendar resolution -------------------------------------------------------------------------------

  resolveCalendar(user: User, calendarIdParam: string, minRole: AccessRole): Calendar {
    const id = calendarIdParam === 'primary' ? user.email : calendarIdParam;
    const entry = user.calendarList.get(id);
    const cal = this.store.calendars.get(id);
    if (!entry || !cal) throw errors.notFound();
    if (ROLE_RANK[entry.accessRole] < ROLE_RANK[minRole]) throw errors.requiredAccessLevel();
    return cal;
  }

  // ---- writes --------------------------------------------------------------------------------------------

  insert(cal: Calendar, body: unknown, ctx: WriteContext): GoogleEvent {
    const input = asObject(body);
    let id: string;
    if (input.id !== undefined && input.id !== null) {
      if (typeof input.id !== 'string' || !EVENT_ID_RE.test(input.id))
        throw errors.badRequest('Invalid resource id value.');
      id = input.id;
      // Ids of deleted events stay taken: the real API answers 409 for them as well.
      if (cal.events.has(id)) throw errors.duplicate();
    } else {
      do id = this.store.randomId(26);
      while (cal.events.has(id));
    }
    const now = this.store.nextUpdated();
    const fields = stripReadOnly(input);
    delete fields.id;
    const resource: GoogleEvent = {
      kind: 'calendar#event',
      id,
      etag: '',
      status: 'confirmed',
      htmlLink: htmlLink(id, cal.id),
      created: rfc3339Ms(now),
      updated: rfc3339Ms(now),
      iCalUID: typeof input.iCalUID === 'string' ? input.iCalUID : `${id}@google.com`,
      sequence: 0,
      ...fields,
      creator: { email: ctx.user.email, self: true },
      organizer: organizerOf(cal, ctx.user),
    } as GoogleEvent;
    if (resource.status === 'cancelled') resource.status = 'confirmed';
    checkNewEventType(resource, {
      fromGoogle: ctx.asOrganizer === true,
      primaryCalendar: this.store.users.has(cal.id),
    });
    const created = this.settleConference(resource, undefined, ctx, 'insert');
    validateEvent(resource);
    normalizeTimes(resource);
    this.commit(cal, resource, now, ctx, true);
    if (created) this.afterConferenceRequest(cal, resource.id, created, ctx);
    return clone(resource);
  }

  /** Applies `conferenceDataVersion` and a create request to `next`; the request id of a conference to finish. */
  private settleConference(
    next: Record<string, unknown>,
    previous: GoogleEvent | undefined,
    ctx: WriteContext,
    write: 'insert' | 'patch' | 'update',
  ): string | undefined {
    const { create } = settleConferenceData(next, previous, ctx.conferenceDataVersion ?? 0, write);
    if (create) {
      next.conferenceData =
        (this.options.conferenceCreateDelayMs ?? 0) > 0
          ? pendingMeetConference(create.requestId)
          : meetConference(this.meetCode(), create.requestId);
    }
    deriveHangoutLink(next);
    const status = (next.conferenceData as { createRequest?: { status?: { statusCode?: string } } } | undefined)
      ?.createRequest?.status?.statusCode;
    return create && status === 'pending' ? create.requestId : undefined;
  }

  /** A pending Meet request succeeds later: the conference arrives as a new version of the event. */
  private afterConferenceRequest(cal: Calendar, eventId: string, requestId: string, ctx: WriteContext): void {
    const timer = setTimeout(() => {
      this.pendingConferences.delete(timer);
      const stored = cal.events.get(eventId);
      const data = stored?.resource.conferenceData as
        { createRequest?: { requestId?: string; status?: { statusCode?: string } } } | undefined;
      if (!stored || stored.resource.status === 'cancelled') return;
      if (data?.createRequest?.requestId !== requestId || data.createRequest.status?.statusCode !== 'pending') return;
      const next = clone(stored.resource);
      next.conferenceData = meetConference(this.meetCode(), requestId);
      deriveHangoutLink(next);
      this.commit(cal, next, this.store.nextUpdated(), { user: ctx.user, operation: 'conference.created' }, false);
    }, this.options.conferenceCreateDelayMs);
    timer.unref();
    this.pendingConferences.add(timer);
  }

  /** A Meet meeting code: `xxx-xxxx-xxx`, lower-case letters. */
  private meetCode(): string {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    return `${this.store.randomId(3, letters)}-${this.store.randomId(4, letters)}-${this.store.randomId(3, letters)}`;
  }

  /**
   * An invitation: an event organized by someone else, as it appears on an attendee's calendar — `organizer` is
   * the other person (no `self`: the Events resource says it defaults to false), `creator` likewise, and the
   * attendee list holds the organizer (`organizer: true`) and the user (`self: true`, `responseStatus`).
   */
  insertInvitation(
    cal: Calendar,
    body: unknown,
    organizer: { email: string; displayName?: string },
    ctx: WriteContext & { responseStatus?: string },
  ): GoogleEvent {
    const input = asObject(body);
    const me = ctx.user.email;
    const others = (Array.isArray(input.attendees) ? (input.attendees as Array<Record<string, unknown>>) : []).filter(
      (a) => a.email !== me && a.email !== organizer.email,
    );
    const response = ctx.responseStatus ?? 'needsAction';
    if (!['needsAction', 'declined', 'tentative', 'accepted'].includes(response))
      throw errors.badRequest('Invalid responseStatus value.');
    const attendees = [
      { ...organizer, organizer: true, responseStatus: 'accepted' },
      ...others,
      { email: me, self: true, responseStatus: response },
    ];
    const created = this.insert(cal, { ...input, attendees }, { ...ctx, asOrganizer: true });
    const stored = cal.events.get(created.id)!;
    stored.resource.organizer = { ...organizer };
    stored.resource.creator = { ...organizer };
    return clone(stored.resource);
  }

  patch(cal: Calendar, eventId: string, body: unknown, ctx: WriteContext): GoogleEvent {
    const stored = this.findForWrite(cal, eventId, ctx);
    const next = deepMerge(structuredClone(stored.resource) as Record<string, unknown>, stripReadOnly(asObject(body)));
    return this.rewrite(cal, next, ctx, stored.resource, 'patch');
  }

  update(cal: Calendar, eventId: string, body: unknown, ctx: WriteContext): GoogleEvent {
    const stored = this.findForWrite(cal, eventId, ctx);
    const r = stored.resource;
    const keep = {
      kind: r.kind,
      id: r.id,
      etag: r.etag,
      status: r.status,
      htmlLink: r.htmlLink,
      created: r.created,
      updated: r.updated,
      iCalUID: r.iCalUID,
      sequence: r.sequence,
      creator: r.creator,
      organizer: r.organizer,
      ...(r.recurringEventId ? { recurringEventId: r.recurringEventId, originalStartTime: r.originalStartTime } : {}),
    };
    const fields = dropNulls(stripReadOnly(asObject(body)));
    delete fields.id;
    delete fields.iCalUID;
    const next = { ...keep, ...fields };
    return this.rewrite(cal, next, ctx, r, 'update');
  }

  /** 403 forbiddenForNonOrganizer when an attendee's write changes anything but their own per-copy fields. */
  private checkAttendeeWrite(before: GoogleEvent, next: Record<string, unknown>, ctx: WriteContext): void {
    if (ctx.asOrganizer || !isAttendeeCopy(before)) return;
    const changed = changedAttendeeForbiddenFields(before as Record<string, unknown>, next, ctx.user.email);
    if (changed.length > 0) throw errors.forbiddenForNonOrganizer();
  }

  delete(cal: Calendar, eventId: string, ctx: WriteContext): void {
    const stored = cal.events.get(eventId) ?? this.materializeInstance(cal, eventId);
    if (!stored) throw errors.notFound();
    if (stored.resource.status === 'cancelled') throw errors.deleted();
    checkIfMatch(stored, ctx.ifMatch);
    const now = this.store.nextUpdated();
    const next = { ...stored.resource, status: 'cancelled' as const };
    this.commit(cal, next, now, ctx, false);
    // Deleting a series deletes its modified instances too (they belong to it; the recurring-events guide).
    if (next.recurrence) {
      for (const ex of [...cal.events.values()]) {
        const r = ex.resource;
        if (r.recurringEventId === next.id && r.status !== 'cancelled')
          this.commit(cal, { ...r, status: 'cancelled' }, this.store.nextUpdated(), ctx, false);
      }
    }
  }

  /**
   * `events.move`: the event leaves `from` (which keeps a deleted copy, so incremental syncs there report it
   * `cancelled`) and appears in `to` under the same id with that calendar as organizer. Instances of recurring
   * events and non-default event types cannot be moved; an id live in `to` already is a 409 like an insert.
   */
  move(from: Calendar, to: Calendar, eventId: string, ctx: WriteContext): GoogleEvent {
    if (this.virtualInstance(from, eventId)) throw errors.cannotChangeOrganizerOfInstance();
    const stored = from.events.get(eventId);
    if (!stored) throw errors.notFound();
    if (stored.resource.status === 'cancelled') throw errors.deleted();
    if (stored.resource.recurringEventId) throw errors.cannotChangeOrganizerOfInstance();
    // Only the organizer can change the organizer, which is what a move does (Events resource, `organizer`).
    if (isAttendeeCopy(stored.resource)) throw errors.forbiddenForNonOrganizer();
    const type = stored.resource.eventType;
    if (type !== undefined && type !== 'default')
      throw errors.badRequest(`Cannot move events of type ${String(type)}.`);
    if (from.id === to.id) return clone(stored.resource);
    // A copy left behind by an earlier move (or deletion) does not block it: the event can move back.
    const existing = to.events.get(eventId);
    if (existing && existing.resource.status !== 'cancelled') throw errors.duplicate();
    const moved = clone(stored.resource);
    moved.organizer = organizerOf(to, ctx.user);
    moved.htmlLink = htmlLink(eventId, to.id);
    this.commit(from, { ...stored.resource, status: 'cancelled' }, this.store.nextUpdated(), ctx, false);
    this.commit(to, moved, this.store.nextUpdated(), ctx, false, stored.resource.sequence);
    return clone(moved);
  }

  /**
   * Writes a validated resource as a new version: fresh etag, `updated`, `sequence`, change counter; notifies.
   * The sequence continues from the stored version, or from `fromSequence` for an event arriving from elsewhere.
   */
  private commit(
    cal: Calendar,
    resource: GoogleEvent,
    now: number,
    ctx: WriteContext,
    isNew: boolean,
    fromSequence?: number,
  ): void {
    const prev = cal.events.get(resource.id);
    resource.updated = rfc3339Ms(now);
    resource.sequence = isNew ? 0 : (fromSequence ?? prev?.resource.sequence ?? 0) + 1;
    const change = this.store.nextChange();
    resource.etag = `"${now * 1000 + (change % 1000)}"`;
    const stored: StoredEvent = { resource, changeSeq: change };
    if (ctx.sendUpdates !== undefined) stored.lastSendUpdates = ctx.sendUpdates;
    cal.events.set(resource.id, stored);
    const attendees = Array.isArray(resource.attendees)
      ? (resource.attendees as Array<{ email?: string }>).map((a) => a.email ?? '')
      : [];
    const mode = ctx.sendUpdates ?? 'none';
    this.onInvitation({
      operation: ctx.operation,
      calendarId: cal.id,
      eventId: resource.id,
      sendUpdates: ctx.sendUpdates ?? '(absent)',
      attendees,
      notified: mode === 'all' || mode === 'externalOnly' ? attendees.filter((a) => a !== ctx.user.email) : [],
    });
    this.onChange(cal);
  }

  private rewrite(
    cal: Calendar,
    next: Record<string, unknown>,
    ctx: WriteContext,
    previous: GoogleEvent,
    write: 'patch' | 'update',
  ): GoogleEvent {
    const resource = next as GoogleEvent;
    checkTypeUnchanged(next, previous.eventType);
    // Conference data before the attendee check, which compares what will be stored.
    const created = this.settleConference(next, previous, ctx, write);
    this.checkAttendeeWrite(previous, next, ctx);
    if (!['confirmed', 'tentative', 'cancelled'].includes(resource.status))
      throw errors.badRequest('Invalid event status.');
    if (resource.status !== 'cancelled') validateEvent(resource);
    else validateExtendedProperties(resource.extendedProperties);
    normalizeTimes(resource);
    this.commit(cal, resource, this.store.nextUpdated(), ctx, false);
    if (created) this.afterConferenceRequest(cal, resource.id, created, ctx);
    return clone(resource);
  }

  private findForWrite(cal: Calendar, eventId: string, ctx: WriteContext): StoredEvent {
    const stored = cal.events.get(eventId) ?? this.materializeInstance(cal, eventId);
    if (!stored) throw errors.notFound();
    checkIfMatch(stored, ctx.ifMatch);
    return stored;
  }

  /** A not-yet-modified instance of a recurring event, as a stored exception-to-be (not saved until committed). */
  private materializeInstance(cal: Calendar, eventId: string): StoredEvent | undefined {
    const virtual = this.virtualInstance(cal, eventId);
    return virtual ? { resource: virtual, changeSeq: 0 } : undefined;
  }

  private virtualInstance(cal: Calendar, eventId: string): GoogleEvent | undefined {
    const parsed = parseInstanceId(eventId);
    if (!parsed) return undefined;
    const master = cal.events.get(parsed.masterId)?.resource;
    if (!master?.recurrence || !master.start || !master.end) return undefined;
    const at = stampInstant(parsed.stamp);
    if (at === undefined) return undefined;
    const occ = expand(master.start, master.end, master.recurrence, at - 86_400_000, at + 86_400_000).find(
      (o) => o.stamp === parsed.stamp,
    );
    return occ ? instanceOf(master, occ) : undefined;
  }

  // ---- reads ---------------------------------------------------------------------------------------------

  get(cal: Calendar, eventId: string): GoogleEvent {
    const stored = cal.events.get(eventId);
    if (stored) return clone(stored.resource);
    const virtual = this.virtualInstance(cal, eventId);
    if (virtual) return virtual;
    throw errors.notFound();
  }

  instances(cal: Calendar, eventId: string, query: URLSearchParams, role: AccessRole): unknown {
    const master = cal.events.get(eventId)?.resource;
    if (!master) throw errors.notFound();
    const pageTokenParam = query.get('pageToken');
    const page = pageTokenParam !== null ? decodePageToken(pageTokenParam) : undefined;
    if (pageTokenParam !== null && !page) throw errors.badRequest('Invalid page token value.', 'invalid', 'pageToken');
    if (!master.recurrence) return this.page(cal, role, [], query, undefined, page);
    const timeMin = parseTimeParam(query, 'timeMin');
    const timeMax = parseTimeParam(query, 'timeMax');
    const showDeleted = query.get('showDeleted') === 'true';
    // Unlike a singleEvents listing, instances() shows modified instances in place of the generated ones.
    const items = this.expandMaster(cal, master, timeMin, timeMax, { showDeleted });
    return this.page(
      cal,
      role,
      items.map((i) => i.ev),
      query,
      undefined,
      page,
    );
  }

  list(cal: Calendar, query: URLSearchParams, role: AccessRole): unknown {
    const syncTokenParam = query.get('syncToken');
    const pageTokenParam = query.get('pageToken');
    let since: number | undefined;
    if (syncTokenParam !== null) {
      for (const p of SYNC_FORBIDDEN) {
        if (query.has(p))
          throw errors.badRequest(`The parameter '${p}' cannot be used together with a sync token.`, 'invalid', p);
      }
      const tok = decodeSyncToken(syncTokenParam);
      if (!tok) throw errors.badRequest('Invalid sync token value.', 'invalid', 'syncToken');
      if (tok.calendarId !== cal.id || tok.epoch !== cal.syncEpoch || tok.change > this.store.currentChange) {
        throw errors.fullSyncRequired();
      }
      since = tok.change;
    }
    const page = pageTokenParam !== null ? decodePageToken(pageTokenParam) : undefined;
    if (pageTokenParam !== null && !page) throw errors.badRequest('Invalid page token value.', 'invalid', 'pageToken');
    if (page?.since !== undefined) since = page.since;

    const singleEvents = query.get('singleEvents') === 'true';
    const showDeleted = query.get('showDeleted') === 'true';
    const orderBy = query.get('orderBy');
    if (orderBy !== null && orderBy !== 'startTime' && orderBy !== 'updated')
      throw errors.badRequest('Invalid value for orderBy.', 'invalid', 'orderBy');
    if (orderBy === 'startTime' && !singleEvents) {
      throw errors.badRequest(
        'The requested ordering is not available for the particular query.',
        'invalid',
        'orderBy',
      );
    }
    const timeMin = parseTimeParam(query, 'timeMin');
    const timeMax = parseTimeParam(query, 'timeMax');
    if (timeMin !== undefined && timeMax !== undefined && timeMin >= timeMax) throw errors.timeRangeEmpty('timeMax');
    const updatedMinRaw = query.get('updatedMin');
    const updatedMin = updatedMinRaw !== null ? parseTimeParam(query, 'updatedMin') : undefined;
    const iCalUID = query.get('iCalUID');
    const q = query.get('q')?.toLowerCase();
    const privFilters = propertyFilters(query.getAll('privateExtendedProperty'), 'privateExtendedProperty');
    const sharedFilters = propertyFilters(query.getAll('sharedExtendedProperty'), 'sharedExtendedProperty');

    const items: Array<{ ev: GoogleEvent; startMs: number }> = [];
    for (const stored of cal.events.values()) {
      const ev = stored.resource;
      const cancelled = ev.status === 'cancelled';
      if (since !== undefined) {
        if (stored.changeSeq <= since) continue;
      } else if (cancelled) {
        // Deleted entries show with showDeleted, and always once updatedMin is given (per the reference).
        const recentlyDeleted = updatedMin !== undefined && Date.parse(ev.updated) >= updatedMin;
        if (!showDeleted && !recentlyDeleted) continue;
      }
      if (updatedMin !== undefined && Date.parse(ev.updated) < updatedMin) continue;
      if (iCalUID !== null && ev.iCalUID !== iCalUID) continue;
      if (!matchesProps(ev.extendedProperties?.private, privFilters)) continue;
      if (!matchesProps(ev.extendedProperties?.shared, sharedFilters)) continue;
      if (
        q &&
        !['summary', 'description', 'location'].some((f) =>
          String(ev[f] ?? '')
            .toLowerCase()
            .includes(q),
        )
      )
        continue;

      if (ev.recurrence && singleEvents && !cancelled) {
        for (const inst of this.expandMaster(cal, ev, timeMin, timeMax)) items.push(inst);
        continue;
      }
      if (ev.recurrence && singleEvents && cancelled) {
        // events.list `showDeleted`: "If showDeleted and singleEvents are both True, only single instances of
        // deleted events (but not the underlying recurring events) are returned." A sync token implies
        // showDeleted (deletions are always in an incremental result).
        for (const inst of this.expandMaster(cal, ev, timeMin, timeMax))
          items.push({ ev: minimalCancelled(inst.ev), startMs: inst.startMs });
        continue;
      }
      const s = instantOf(ev.start) ?? 0;
      if (timeMin !== undefined || timeMax !== undefined) {
        if (ev.recurrence) {
          if (!ev.start || !ev.end) continue;
          const occ = expand(ev.start, ev.end, ev.recurrence, timeMin ?? -8.64e15, timeMax ?? s + 100 * YEAR);
          if (occ.length === 0) continue;
        } else if (!overlaps(ev, timeMin, timeMax)) continue;
      }
      items.push({ ev: cancelled ? minimalCancelled(ev) : clone(ev), startMs: s });
    }
    if (orderBy === 'startTime') items.sort((a, b) => a.startMs - b.startMs || cmp(a.ev.id, b.ev.id));
    else if (orderBy === 'updated') items.sort((a, b) => cmp(a.ev.updated, b.ev.updated) || cmp(a.ev.id, b.ev.id));
    else items.sort((a, b) => cmp(a.ev.id, b.ev.id));
    return this.page(
      cal,
      role,
      items.map((i) => i.ev),
      query,
      since,
      page,
    );
  }

  private expandMaster(
    cal: Calendar,
    master: GoogleEvent,
    timeMin: number | undefined,
    timeMax: number | undefined,
    /** Whether stored exceptions replace their generated instance (instances()) or are skipped (list()). */
    exceptions?: { showDeleted: boolean },
  ): Array<{ ev: GoogleEvent; startMs: number }> {
    if (!master.start || !master.end || !master.recurrence) return [];
    const from = timeMin ?? -8.64e15;
    const to = timeMax ?? Math.max(Date.now(), instantOf(master.start) ?? 0) + 2 * YEAR;
    const out: Array<{ ev: GoogleEvent; startMs: number }> = [];
    for (const occ of expand(master.start, master.end, master.recurrence, from, to)) {
      const exception = cal.events.get(`${master.id}_${occ.stamp}`);
      if (exception) {
        // In list(), modified instances are stored events in their own right and are listed (or not) on their own.
        const ex = exception.resource;
        if (exceptions && (ex.status !== 'cancelled' || exceptions.showDeleted)) {
          out.push({
            ev: ex.status === 'cancelled' ? minimalCancelled(ex) : clone(ex),
            startMs: instantOf(ex.start) ?? occ.startMs,
          });
        }
        continue;
      }
      out.push({ ev: instanceOf(master, occ), startMs: occ.startMs });
      if (out.length >= MAX_INSTANCES) break;
    }
    return out;
  }

  private page(
    cal: Calendar,
    role: AccessRole,
    list: GoogleEvent[],
    query: URLSearchParams,
    since: number | undefined,
    page: ReturnType<typeof decodePageToken>,
  ): unknown {
    const maxRaw = query.get('maxResults');
    let max = 250;
    if (maxRaw !== null) {
      const n = Number(maxRaw);
      if (!Number.isInteger(n) || n < 1)
        throw errors.badRequest('Invalid value for maxResults.', 'invalid', 'maxResults');
      max = Math.min(n, 2500);
    }
    const snapshot = page?.snapshot ?? this.store.currentChange;
    const offset = page?.offset ?? 0;
    const slice = list.slice(offset, offset + max);
    const more = offset + max < list.length;
    const token = more
      ? {
          nextPageToken: encodePageToken({
            offset: offset + max,
            snapshot,
            ...(since !== undefined ? { since } : {}),
            query: cal.id,
          }),
        }
      : { nextSyncToken: encodeSyncToken({ calendarId: cal.id, change: snapshot, epoch: cal.syncEpoch }) };
    return { ...this.envelopeBase(cal, role, snapshot), ...token, items: slice };
  }

  private envelopeBase(cal: Calendar, role: AccessRole, snapshot: number) {
    let latest = 0;
    for (const s of cal.events.values()) latest = Math.max(latest, Date.parse(s.resource.updated));
    return {
      kind: 'calendar#events',
      etag: `"${snapshot}"`,
      summary: cal.summary,
      ...(cal.description ? { description: cal.description } : {}),
      updated: rfc3339Ms(latest || Date.now()),
      timeZone: cal.timeZone,
      accessRole: role,
      defaultReminders: [],
    };
  }
}

// ---- helpers ---------------------------------------------------------------------------------------------

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw errors.badRequest('Invalid JSON payload received.');
  return body as Record<string, unknown>;
}

function stripReadOnly(input: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(input);
  for (const k of READ_ONLY) delete out[k];
  return out;
}

function dropNulls(o: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) if (v === null) delete o[k];
  return o;
}

/** Patch semantics: objects merge key by key, `null` removes a key, arrays and scalars replace. */
export function deepMerge(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
  depth = 0,
): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (isPlainObject(v) && isPlainObject(target[k]) && !(depth === 0 && REPLACED_OBJECTS.has(k))) {
      target[k] = deepMerge(target[k] as Record<string, unknown>, v, depth + 1);
    } else target[k] = structuredClone(v);
  }
  return target;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkIfMatch(stored: StoredEvent, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch === '*') return;
  if (ifMatch !== stored.resource.etag) throw errors.conditionNotMet();
}

function htmlLink(id: string, calendarId: string): string {
  const eid = Buffer.from(`${id} ${calendarId}`).toString('base64').replace(/=+$/, '');
  return `https://www.google.com/calendar/event?eid=${eid}`;
}

function organizerOf(cal: Calendar, user: User): Record<string, unknown> {
  return cal.id === user.email
    ? { email: user.email, self: true }
    : { email: cal.id, displayName: cal.summary, self: true };
}

function instanceOf(master: GoogleEvent, occ: Occurrence): GoogleEvent {
  const inst = clone(master) as GoogleEvent;
  delete inst.recurrence;
  inst.id = `${master.id}_${occ.stamp}`;
  inst.recurringEventId = master.id;
  inst.originalStartTime = occ.originalStartTime;
  inst.start = occ.start;
  inst.end = occ.end;
  inst.htmlLink = master.htmlLink;
  return inst;
}

/** Someone else's event on this calendar: the organizer is not this calendar (Events resource, `organizer.self`). */
export function isAttendeeCopy(ev: GoogleEvent): boolean {
  const organizer = ev.organizer as { self?: boolean } | undefined;
  return organizer !== undefined && organizer.self !== true;
}

/** Top-level fields (or `attendees`) an attendee's write would change beyond what an attendee may change. */
function changedAttendeeForbiddenFields(
  before: Record<string, unknown>,
  next: Record<string, unknown>,
  selfEmail: string,
): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(next)]);
  const out: string[] = [];
  for (const k of keys) {
    if (READ_ONLY.includes(k) || ATTENDEE_CHANGEABLE.has(k) || k === 'id' || k === 'iCalUID') continue;
    if (k === 'extendedProperties') {
      const b = (before[k] ?? {}) as Record<string, unknown>;
      const n = (next[k] ?? {}) as Record<string, unknown>;
      if (JSON.stringify(b.shared ?? {}) !== JSON.stringify(n.shared ?? {})) out.push('extendedProperties.shared');
      continue;
    }
    if (k === 'attendees') {
      const strip = (list: unknown) =>
        JSON.stringify(
          (Array.isArray(list) ? (list as Array<Record<string, unknown>>) : []).map((a) =>
            a.email === selfEmail || a.self === true
              ? Object.fromEntries(Object.entries(a).filter(([f]) => !SELF_ATTENDEE_CHANGEABLE.has(f) && f !== 'self'))
              : a,
          ),
        );
      if (strip(before[k]) !== strip(next[k])) out.push('attendees');
      continue;
    }
    if (JSON.stringify(before[k]) !== JSON.stringify(next[k])) out.push(k);
  }
  return out;
}

function minimalCancelled(ev: GoogleEvent): GoogleEvent {
  // Incremental results describe deletions with little more than the id (documented by the API as "may only
  // contain the id"); clients must not depend on the deleted event's fields.
  return {
    kind: 'calendar#event',
    etag: ev.etag,
    id: ev.id,
    status: 'cancelled',
    updated: ev.updated,
    ...(ev.recurringEventId ? { recurringEventId: ev.recurringEventId, originalStartTime: ev.originalStartTime } : {}),
  } as GoogleEvent;
}

function overlaps(ev: GoogleEvent, timeMin: number | undefined, timeMax: number | undefined): boolean {
  const s = instantOf(ev.start);
  const e = instantOf(ev.end);
  if (s === undefined || e === undefined) return true;
  if (timeMax !== undefined && s >= timeMax) return false;
  if (timeMin !== undefined && !(e > timeMin || (e === s && s >= timeMin))) return false;
  return true;
}

function parseTimeParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  const ms = parseInstant(v);
  if (ms === undefined || !hasOffset(v)) throw errors.badRequest(`Bad Request`, 'badRequest', name);
  return ms;
}

function propertyFilters(values: string[], param: string): Array<[string, string]> {
  return values.map((v) => {
    const i = v.indexOf('=');
    if (i <= 0) throw errors.badRequest(`Invalid ${param} value.`, 'invalid', param);
    return [v.slice(0, i), v.slice(i + 1)];
  });
}

/** All constraints must hold (the events.list reference: "match all given constraints"). */
function matchesProps(props: Record<string, string> | undefined, filters: Array<[string, string]>): boolean {
  return filters.every(([k, v]) => props?.[k] === v);
}

// ---- validation ------------------------------------------------------------------------------------------

function validateTime(t: unknown, which: 'start' | 'end', recurring: boolean): EventDateTime {
  if (!isPlainObject(t) || (t.date == null && t.dateTime == null)) throw errors.required(`Missing ${which} time.`);
  const tz = t.timeZone;
  if (tz != null && (typeof tz !== 'string' || !isValidTimeZone(tz)))
    throw errors.badRequest(`Invalid time zone definition for ${which} time.`);
  if (t.date != null && t.dateTime != null) throw errors.badRequest(`Invalid ${which} time.`);
  if (t.date != null) {
    if (typeof t.date !== 'string' || parseInstant(t.date) === undefined || t.date.includes('T'))
      throw errors.badRequest(`Invalid ${which} time.`);
  } else {
    if (typeof t.dateTime !== 'string' || parseInstant(t.dateTime, (tz as string) ?? 'UTC') === undefined) {
      throw errors.badRequest(`Invalid ${which} time.`);
    }
    if (!hasOffset(t.dateTime) && tz == null) throw errors.required(`Missing time zone definition for ${which} time.`);
    if (recurring && tz == null) throw errors.required(`Missing time zone definition for ${which} time.`);
  }
  return t as EventDateTime;
}

/** Responses carry the offset, as Google's do (a request may give wall time plus `timeZone`). */
function normalizeTimes(ev: GoogleEvent): void {
  if (ev.start) ev.start = withOffset(ev.start);
  if (ev.end) ev.end = withOffset(ev.end);
}

export function validateEvent(ev: GoogleEvent): void {
  const recurring = ev.recurrence !== undefined;
  if (recurring) {
    const problem = validateRecurrence(ev.recurrence);
    if (problem) throw errors.badRequest(problem);
  }
  const start = validateTime(ev.start, 'start', recurring);
  const end = validateTime(ev.end, 'end', recurring);
  if ((start.date != null) !== (end.date != null)) {
    throw errors.badRequest('Start and end times must either both be date or both be dateTime.');
  }
  const s = instantOf(start)!;
  const e = instantOf(end)!;
  if (start.date != null ? e <= s : e < s) throw errors.timeRangeEmpty('end');
  if (ev.transparency !== undefined && ev.transparency !== 'opaque' && ev.transparency !== 'transparent') {
    throw errors.badRequest('Invalid transparency value.');
  }
  if (
    ev.visibility !== undefined &&
    !['default', 'public', 'private', 'confidential'].includes(String(ev.visibility))
  ) {
    throw errors.badRequest('Invalid visibility value.');
  }
  if (ev.attendees !== undefined) {
    if (!Array.isArray(ev.attendees)) throw errors.badRequest('Invalid attendees value.');
    for (const a of ev.attendees as unknown[]) {
      if (!isPlainObject(a) || typeof a.email !== 'string' || a.email === '')
        throw errors.required('Missing attendee email.');
      if (!/^[^@\s]+@[^@\s]+$/.test(a.email)) throw errors.badRequest('Invalid attendee email.');
    }
  }
  validateExtendedProperties(ev.extendedProperties);
}

export function validateExtendedProperties(ep: unknown): void {
  if (ep === undefined) return;
  if (!isPlainObject(ep)) throw errors.badRequest('Invalid extendedProperties value.');
  let count = 0;
  let bytes = 0;
  for (const scope of ['private', 'shared'] as const) {
    const props = ep[scope];
    if (props === undefined) continue;
    if (!isPlainObject(props)) throw errors.badRequest(`Invalid extendedProperties.${scope} value.`);
    for (const [k, v] of Object.entries(props)) {
      if (typeof v !== 'string') throw errors.badRequest('Invalid extended property value.');
      if (k.length > EXT_PROP_LIMITS.keyChars) throw errors.badRequest('Extended property key is too long.');
      if (v.length > EXT_PROP_LIMITS.valueChars) throw errors.badRequest('Extended property value is too long.');
      count++;
      bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
  }
  if (count > EXT_PROP_LIMITS.count) throw errors.badRequest('Too many extended properties.');
  if (bytes > EXT_PROP_LIMITS.totalBytes) throw errors.badRequest('Extended properties are too large.');
}
