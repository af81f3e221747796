/**
 * The control API: what a test, benchmark or sandbox does "from Google's side" — create users and calendars,
 * edit events as if in the Google Calendar UI (these writes version events and fire push notifications exactly
 * like API writes), break things (expired tokens, invalidated sync tokens, quota, faults) and read counters.
 * The same operations are served over HTTP under `/_emulator/...` (see server.ts).
 */
import type { FaultConfig, FaultInjector } from '../shared/faults.js';
import { errors, googleError } from './errors.js';
import { EVENT_TYPES, uiDefaults, type EventType } from './event-types.js';
import type { EventService, InvitationRecord } from './events.js';
import type { Channel, PushService, PushStats } from './push.js';
import { emptyPushStats } from './push.js';
import type { Quota } from './quota.js';
import type { AccessRole, GoogleEvent, Store, User } from './store.js';
import { ROLE_RANK } from './store.js';

export interface CreatedUser {
  userId: string;
  email: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken: string;
  primaryCalendarId: string;
}

export interface CalendarListEntryInfo {
  id: string;
  summary: string;
  timeZone: string;
  accessRole: AccessRole;
  primary: boolean;
}

export interface GoogleStats {
  requests: {
    total: number;
    /** Keyed `"<METHOD> <route pattern>"`, e.g. `"POST /calendar/v3/calendars/:calendarId/events"`. */
    byRoute: Record<string, number>;
    /** Keyed by operation name, e.g. `"events.insert"`. */
    byOperation: Record<string, number>;
    /** Keyed by the authenticated user's email. */
    byUser: Record<string, number>;
  };
  /** Requests answered with a quota error. */
  rateLimited: number;
  /** Requests answered with an injected fault. */
  injectedErrors: number;
  /** Requests answered 401. */
  authFailures: number;
  push: PushStats;
  /** One record per event write: the `sendUpdates` given and who would have been mailed. */
  invitations: InvitationRecord[];
}

export const emptyStats = (): GoogleStats => ({
  requests: { total: 0, byRoute: {}, byOperation: {}, byUser: {} },
  rateLimited: 0,
  injectedErrors: 0,
  authFailures: 0,
  push: emptyPushStats(),
  invitations: [],
});

/** An event organized by someone else that lands on the user's calendar as their attendee copy. */
export interface InvitationInput extends Record<string, unknown> {
  organizer: { email: string; displayName?: string };
  /** The user's answer; default `needsAction`. */
  responseStatus?: 'needsAction' | 'declined' | 'tentative' | 'accepted';
}

/** An event of a special type as the user (or Gmail, for `fromGmail`) makes it in Google's own products. */
export type TypedEventInput = { eventType: Exclude<EventType, 'default'> } & Record<string, unknown>;

export const RESPONSE_STATUSES = ['needsAction', 'declined', 'tentative', 'accepted'] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

export interface EventInspection {
  event: GoogleEvent;
  /** `sendUpdates` of the last API write of this event, if one was given. */
  lastSendUpdates?: string;
}

export interface GoogleControl {
  createUser(input: { email: string }): CreatedUser;
  createCalendar(
    email: string,
    input: { summary: string; id?: string; timeZone?: string; description?: string },
    accessRole?: AccessRole,
  ): CalendarListEntryInfo;
  listCalendars(email: string): CalendarListEntryInfo[];
  upsertEvent(email: string, calendarId: string, event: Record<string, unknown>): GoogleEvent;
  createInvitation(email: string, calendarId: string, input: InvitationInput): GoogleEvent;
  /**
   * A focus-time, out-of-office, working-location, birthday or Gmail event, created as in the Calendar UI (or by
   * Gmail): the type's usual fields (`focusTimeProperties`, `transparency`, a birthday's yearly recurrence, …)
   * are filled in unless given; the API's type rules apply (primary calendar only for status events).
   */
  createTypedEvent(email: string, calendarId: string, input: TypedEventInput): GoogleEvent;
  /**
   * The user answers an invitation on their calendar (Yes / No / Maybe in the UI): their own attendee entry's
   * `responseStatus` changes, as a new version of the event (etag, `updated`, sync tokens, push).
   */
  respondToInvitation(email: string, calendarId: string, eventId: string, responseStatus: ResponseStatus): GoogleEvent;
  deleteEvent(email: string, calendarId: string, eventId: string): void;
  listEvents(email: string, calendarId: string, opts?: { includeDeleted?: boolean }): GoogleEvent[];
  inspectEvent(email: string, calendarId: string, eventId: string): EventInspection;
  invalidateSyncTokens(email?: string, calendarId?: string): void;
  expireAccessTokens(email?: string): void;
  setQuota(perMinute: number): void;
  /** While true, every API request answers 403 `dailyLimitExceeded` (the project's daily quota is spent). */
  setDailyLimitExceeded(exceeded: boolean): void;
  /** Revokes a user's refresh token (the user removed the app's access): refreshing then answers invalid_grant. */
  revokeRefreshToken(email: string): void;
  setFaults(config: FaultConfig): void;
  listChannels(): Channel[];
  stats(): GoogleStats;
  resetStats(): void;
  reset(): void;
}

export interface ControlDeps {
  dailyLimit: { exceeded: boolean };
  store: Store;
  events: EventService;
  push: PushService;
  quota: Quota;
  faults: FaultInjector;
  state: { stats: GoogleStats };
  defaultQuota: number;
  accessTokenTtlSeconds: number;
}

export function createControl(d: ControlDeps): GoogleControl {
  const { store } = d;

  const userOf = (email: string): User => {
    const u = store.users.get(email);
    if (!u) throw googleError(404, { reason: 'notFound', message: `No emulator user ${email}` });
    return u;
  };
  const entryInfo = (u: User, id: string): CalendarListEntryInfo => {
    const cal = store.calendars.get(id)!;
    const e = u.calendarList.get(id)!;
    return { id, summary: cal.summary, timeZone: cal.timeZone, accessRole: e.accessRole, primary: e.primary };
  };

  const control: GoogleControl = {
    createUser({ email }) {
      if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email))
        throw errors.badRequest('A valid email is required.');
      let user = store.users.get(email);
      if (!user) {
        user = {
          userId: String(100000000000000000000n + BigInt(store.users.size + 1)),
          email,
          refreshToken: store.randomToken('1//emu-'),
          calendarList: new Map(),
        };
        store.users.set(email, user);
        store.refreshTokens.set(user.refreshToken, email);
        store.createCalendar({ id: email, summary: email });
        user.calendarList.set(email, { accessRole: 'owner', primary: true });
      }
      return {
        userId: user.userId,
        email,
        clientId: store.client.clientId,
        clientSecret: store.client.clientSecret,
        refreshToken: user.refreshToken,
        accessToken: store.issueAccessToken(email, d.accessTokenTtlSeconds),
        primaryCalendarId: email,
      };
    },
    createCalendar(email, input, accessRole = 'owner') {
      const u = userOf(email);
      if (!(accessRole in ROLE_RANK)) throw errors.badRequest(`Invalid accessRole ${accessRole}`);
      const id = input.id ?? `${store.randomId(26)}@group.calendar.google.com`;
      if (!store.calendars.has(id)) {
        store.createCalendar({
          id,
          summary: input.summary,
          ...(input.timeZone ? { timeZone: input.timeZone } : {}),
          ...(input.description ? { description: input.description } : {}),
        });
      }
      u.calendarList.set(id, { accessRole, primary: false });
      return entryInfo(u, id);
    },
    listCalendars(email) {
      const u = userOf(email);
      return [...u.calendarList.keys()].map((id) => entryInfo(u, id));
    },
    upsertEvent(email, calendarId, event) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'reader');
      // As the organizer: on the user's own events that is the user; on an invitation it is the other person
      // editing their event (the attendee copy follows the organizer's edits).
      const ctx = { user: u, operation: 'control.upsertEvent', asOrganizer: true, conferenceDataVersion: 1 as const };
      const id = typeof event.id === 'string' ? event.id : undefined;
      const existing = id ? cal.events.get(id) : undefined;
      if (!existing) return d.events.insert(cal, event, ctx);
      // Editing a deleted event in the UI (restoring it from the bin) makes it confirmed again.
      const body =
        existing.resource.status === 'cancelled' && event.status === undefined
          ? { ...event, status: 'confirmed' }
          : event;
      return d.events.patch(cal, existing.resource.id, body, ctx);
    },
    createInvitation(email, calendarId, input) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'writer');
      const { organizer, responseStatus, ...event } = input;
      if (typeof organizer?.email !== 'string' || organizer.email === u.email)
        throw errors.badRequest('An invitation needs an organizer other than the user.');
      return d.events.insertInvitation(cal, event, organizer, {
        user: u,
        operation: 'control.createInvitation',
        conferenceDataVersion: 1,
        ...(responseStatus ? { responseStatus } : {}),
      });
    },
    createTypedEvent(email, calendarId, input) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'writer');
      const type: string = input.eventType;
      if (!(EVENT_TYPES as readonly string[]).includes(type) || type === 'default')
        throw errors.badRequest('Invalid event type.');
      return d.events.insert(
        cal,
        { ...uiDefaults(type as EventType), ...input },
        { user: u, operation: 'control.createTypedEvent', asOrganizer: true, conferenceDataVersion: 1 },
      );
    },
    respondToInvitation(email, calendarId, eventId, responseStatus) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'writer');
      if (!(RESPONSE_STATUSES as readonly string[]).includes(responseStatus))
        throw errors.badRequest('Invalid responseStatus value.');
      const current = d.events.get(cal, eventId);
      const attendees = Array.isArray(current.attendees) ? (current.attendees as Array<Record<string, unknown>>) : [];
      if (!attendees.some((a) => a.self === true))
        throw errors.badRequest('The user is not an attendee of this event.');
      const answered = attendees.map((a) => (a.self === true ? { ...a, responseStatus } : a));
      // As the attendee: only the user's own entry may change (the attendee-copy rules apply).
      return d.events.patch(
        cal,
        eventId,
        { attendees: answered },
        { user: u, operation: 'control.respondToInvitation' },
      );
    },
    deleteEvent(email, calendarId, eventId) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'reader');
      d.events.delete(cal, eventId, { user: u, operation: 'control.deleteEvent' });
    },
    listEvents(email, calendarId, opts = {}) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'freeBusyReader');
      return [...cal.events.values()]
        .filter((s) => opts.includeDeleted || s.resource.status !== 'cancelled')
        .map((s) => structuredClone(s.resource))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
    },
    inspectEvent(email, calendarId, eventId) {
      const u = userOf(email);
      const cal = d.events.resolveCalendar(u, calendarId, 'freeBusyReader');
      const s = cal.events.get(eventId);
      if (!s) throw errors.notFound();
      return {
        event: structuredClone(s.resource),
        ...(s.lastSendUpdates !== undefined ? { lastSendUpdates: s.lastSendUpdates } : {}),
      };
    },
    invalidateSyncTokens(email, calendarId) {
      for (const cal of store.calendars.values()) {
        if (calendarId !== undefined) {
          const id = calendarId === 'primary' && email ? email : calendarId;
          if (cal.id !== id) continue;
        } else if (email !== undefined && !store.users.get(email)?.calendarList.has(cal.id)) continue;
        cal.syncEpoch++;
      }
    },
    expireAccessTokens(email) {
      for (const t of store.accessTokens.values()) if (email === undefined || t.email === email) t.expiresAt = 0;
    },
    setQuota(perMinute) {
      d.quota.set(perMinute);
    },
    setDailyLimitExceeded(exceeded) {
      d.dailyLimit.exceeded = exceeded;
    },
    revokeRefreshToken(email) {
      const u = userOf(email);
      store.refreshTokens.delete(u.refreshToken);
      for (const t of store.accessTokens.values()) if (t.email === email) t.expiresAt = 0;
    },
    setFaults(config) {
      d.faults.configure(config);
    },
    listChannels() {
      return d.push.list();
    },
    stats() {
      return structuredClone(d.state.stats);
    },
    resetStats() {
      d.state.stats = emptyStats();
    },
    reset() {
      d.events.cancelPendingConferences();
      d.push.clear();
      store.clear();
      d.quota.reset(d.defaultQuota);
      d.dailyLimit.exceeded = false;
      d.faults.configure({});
      d.state.stats = emptyStats();
    },
  };
  return control;
}
