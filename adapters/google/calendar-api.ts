/**
 * The official Google Calendar client (`@googleapis/calendar`), set up for the sync: our OAuth app, the
 * user's stored tokens (refreshed tokens are handed back to be persisted), an overridable API root and token
 * endpoint (the emulators in tests and the sandbox), and the client's own retries turned off — they skip
 * POST/PATCH and 403 rate limits, so Temporal retries everything with our classification instead.
 */
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client, type Credentials } from 'google-auth-library';
import type { GoogleCredentials } from '../store/connections.js';
import { recordApiCall } from '../../lib/metrics.js';
import { googleErrorInfo, toGoogleFailure, type GoogleErrorInfo } from './errors.js';

export interface GoogleAppConfig {
  clientId: string;
  clientSecret: string;
  /** e.g. the emulator's origin + '/'; Google's default when undefined. */
  rootUrl?: string;
  /** OAuth token endpoint; Google's default when undefined. */
  tokenUrl?: string;
  /** OAuth consent screen; Google's default when undefined. */
  authUrl?: string;
  /** Where Google sends the user back after consent. */
  redirectUri?: string;
}

type Event = calendar_v3.Schema$Event;
type ApiCall<T> = (cal: calendar_v3.Calendar) => Promise<{ data: T }>;
/** Whether Google's failure is an answer the caller handles (e.g. 404 → `gone`), not a failure to classify. */
type Expected = (info: GoogleErrorInfo) => boolean;
type Answer<T> = { ok: true; data: T } | { ok: false; info: GoogleErrorInfo };

const status =
  (...statuses: number[]): Expected =>
  (info) =>
    info.status !== undefined && statuses.includes(info.status);
const GONE = status(404, 410);
/** 403 `forbiddenForNonOrganizer`: only the organizer may change (or move) the event. */
const NOT_ORGANIZER: Expected = (info) => info.status === 403 && info.reason === 'forbiddenForNonOrganizer';
/** 400 `cannotChangeOrganizerOfInstance`: one instance of a recurring event cannot move on its own. */
const RECURRING_INSTANCE: Expected = (info) => info.status === 400 && info.reason === 'cannotChangeOrganizerOfInstance';

/** Whom Google mails about a change: the invitation setting's `sendUpdates`. */
export type SendUpdates = 'all' | 'none';

/** An event Google does not hold any more: deleted (404, 410) or returned as `cancelled`. */
export type Gone = { result: 'gone' };

export type InsertEventResult = { result: 'created'; event: Event } | { result: 'alreadyExists' };

export type UpdateEventResult =
  | { result: 'updated'; event: Event }
  /** 412: the event changed since the etag sent as `If-Match`; read it again to see how. */
  | { result: 'changed' }
  | Gone
  /** 403 `forbiddenForNonOrganizer`: someone else organizes the event. */
  | { result: 'notAllowed' };

/** Why Google will not move an event (`events.move`): a recurring instance, or someone else's event. */
export type MoveRefusal = 'recurring-instance' | 'invitation-organized-by-someone-else';
export type MoveEventResult = { result: 'moved'; event: Event } | Gone | { result: 'notAllowed'; why: MoveRefusal };

export type ListEventsResult =
  | { result: 'page'; items: Event[]; nextPageToken?: string; nextSyncToken?: string }
  /** 410 `fullSyncRequired`: the sync token is no longer valid; list the calendar again without one. */
  | { result: 'fullSyncRequired' };

export interface WatchRequest {
  channelId: string;
  /** Where Google posts the notifications. */
  address: string;
  /** Sent back with each notification (`X-Goog-Channel-Token`). */
  token: string;
  ttlSeconds: number;
}
export type WatchResult =
  | { result: 'watching'; resourceId: string | null; expiration: string | null }
  /** 400 `channelIdNotUnique`: a channel with this id exists already (an earlier attempt created it). */
  | { result: 'channelExists' };

export interface CalendarListPage {
  items?: calendar_v3.Schema$CalendarListEntry[];
  nextPageToken?: string | null;
}

/**
 * The Google Calendar API in the words the sync uses. Every call refreshes the access token and retries once on
 * 401 (a token revoked before its expiry); the answers a caller acts on come back as results (`gone`, `changed`,
 * `notAllowed`, `alreadyExists`, `fullSyncRequired`), any other failure as a classified ApplicationFailure
 * (`toGoogleFailure`).
 */
export interface GoogleCalendarApi {
  /** The event, or null when it is gone (deleted, or `cancelled`). */
  getEvent(calendarId: string, eventId: string): Promise<Event | null>;
  /** `alreadyExists` (409) when an event with the body's id exists — or existed: Google never reuses an id. */
  insertEvent(calendarId: string, body: Event, sendUpdates: SendUpdates): Promise<InsertEventResult>;
  /** A full replacement (`events.update`); with `ifMatch`, only if the event still has that etag. */
  updateEvent(
    calendarId: string,
    eventId: string,
    body: Event,
    opts: { ifMatch?: string | null; sendUpdates: SendUpdates },
  ): Promise<UpdateEventResult>;
  /** `gone` when there was nothing to delete. */
  deleteEvent(calendarId: string, eventId: string, sendUpdates: SendUpdates): Promise<{ result: 'deleted' } | Gone>;
  /** Moves an event to `to` under the same id, mailing nobody; `gone` when it is not in `from`. */
  moveEvent(from: string, eventId: string, to: string): Promise<MoveEventResult>;
  /**
   * One page of the calendar's events, every instance of a recurring event on its own, deleted ones included:
   * the changes since `syncToken`, or the whole calendar without one.
   */
  listEvents(calendarId: string, page: { syncToken?: string; pageToken?: string }): Promise<ListEventsResult>;
  /** Opens a push channel on the calendar's events. */
  watchEvents(calendarId: string, request: WatchRequest): Promise<WatchResult>;
  /** `gone` when Google had already forgotten the channel (expired). */
  stopChannel(channelId: string, resourceId: string): Promise<{ result: 'stopped' } | Gone>;
  /** One page of the calendars the account may write to (`minAccessRole: writer`). */
  listWritableCalendars(page: { pageToken?: string; maxResults: number }): Promise<CalendarListPage>;
  createCalendar(summary: string): Promise<calendar_v3.Schema$Calendar>;
  /** A calendar by id (`primary` is the account's own; its id is the account's e-mail address). */
  getCalendar(calendarId: string): Promise<calendar_v3.Schema$Calendar>;
}

/** Google's page size limit for `events.list`. */
const EVENTS_PAGE_SIZE = 2500;

export function createOAuthClient(app: GoogleAppConfig): OAuth2Client {
  return new OAuth2Client({
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: app.redirectUri,
    endpoints: {
      ...(app.tokenUrl ? { oauth2TokenUrl: app.tokenUrl } : {}),
      ...(app.authUrl ? { oauth2AuthBaseUrl: app.authUrl } : {}),
    },
  });
}

export function createGoogleCalendarApi(
  app: GoogleAppConfig,
  credentials: GoogleCredentials,
  onTokens: (c: GoogleCredentials) => Promise<void>,
  options: {
    /** The activity attempt, for rate-limit backoff when Google does not say how long to wait. */
    attempt?: number;
    /** Told about every API call and its status (0 when no answer), e.g. for benchmarks. */
    onCall?: (what: string, status: number) => void;
    /** Delay after 403 `dailyLimitExceeded` (default `DAILY_LIMIT_RETRY_MS`). */
    dailyLimitRetryMs?: number;
  } = {},
): GoogleCalendarApi {
  const { attempt = 1, onCall, dailyLimitRetryMs } = options;
  const auth = createOAuthClient(app);
  auth.setCredentials({
    refresh_token: credentials.refreshToken,
    access_token: credentials.accessToken,
    // Always set: without an expiry the library refreshes and silently retries on any 403, which would hide
    // (and double) rate-limit errors. An unknown expiry counts as expired, so the first call refreshes.
    expiry_date: credentials.accessToken ? (credentials.expiryDate ?? 1) : 1,
  });
  let pendingSave: Promise<void> = Promise.resolve();
  auth.on('tokens', (tokens: Credentials) => {
    pendingSave = onTokens({
      refreshToken: tokens.refresh_token ?? credentials.refreshToken,
      accessToken: tokens.access_token ?? undefined,
      expiryDate: tokens.expiry_date ?? undefined,
    });
  });
  const cal = calendar({ version: 'v3', auth, rootUrl: app.rootUrl, retry: false, retryConfig: { retry: 0 } });

  /**
   * Runs one API call: refreshes the access token and retries once on 401; answers with the failures `expected`
   * names, and turns any other failure into a classified ApplicationFailure.
   */
  async function request<T>(what: string, fn: ApiCall<T>, expected: Expected = () => false): Promise<Answer<T>> {
    const once = async () => {
      try {
        const res = await fn(cal);
        onCall?.(what, 200);
        recordApiCall({ service: 'google', operation: what, status: 200, data: res.data });
        return { ok: true as const, data: res.data };
      } catch (err) {
        onCall?.(what, googleErrorInfo(err).status ?? 0);
        recordApiCall({ service: 'google', operation: what, status: googleErrorInfo(err).status ?? 0 });
        throw err;
      }
    };
    try {
      try {
        return await once();
      } catch (err) {
        if (googleErrorInfo(err).status !== 401) throw err;
        auth.setCredentials({ ...auth.credentials, expiry_date: 1 });
        await auth.getAccessToken();
        await pendingSave;
        return await once();
      }
    } catch (err) {
      const info = googleErrorInfo(err);
      if (expected(info)) return { ok: false, info };
      throw toGoogleFailure(err, what, attempt, dailyLimitRetryMs);
    } finally {
      await pendingSave;
    }
  }

  /** The data of a call that expects no failure. */
  async function data<T>(what: string, fn: ApiCall<T>): Promise<T> {
    const answer = await request(what, fn);
    if (!answer.ok) throw new Error(`unreachable: ${what} answered ${answer.info.status}`);
    return answer.data;
  }

  const live = (event: Event) => event.status !== 'cancelled';

  return {
    async getEvent(calendarId, eventId) {
      const got = await request('events.get', (c) => c.events.get({ calendarId, eventId }), GONE);
      return got.ok && live(got.data) ? got.data : null;
    },
    async insertEvent(calendarId, body, sendUpdates) {
      const inserted = await request(
        'events.insert',
        (c) => c.events.insert({ calendarId, requestBody: body, sendUpdates }),
        status(409),
      );
      return inserted.ok ? { result: 'created', event: inserted.data } : { result: 'alreadyExists' };
    },
    async updateEvent(calendarId, eventId, body, { ifMatch, sendUpdates }) {
      const updated = await request(
        'events.update',
        (c) =>
          c.events.update(
            { calendarId, eventId, requestBody: body, sendUpdates },
            ifMatch ? { headers: { 'If-Match': ifMatch } } : {},
          ),
        (info) => GONE(info) || status(412)(info) || NOT_ORGANIZER(info),
      );
      if (updated.ok) return live(updated.data) ? { result: 'updated', event: updated.data } : { result: 'gone' };
      if (updated.info.status === 412) return { result: 'changed' };
      return NOT_ORGANIZER(updated.info) ? { result: 'notAllowed' } : { result: 'gone' };
    },
    async deleteEvent(calendarId, eventId, sendUpdates) {
      const deleted = await request(
        'events.delete',
        (c) => c.events.delete({ calendarId, eventId, sendUpdates }),
        GONE,
      );
      return deleted.ok ? { result: 'deleted' } : { result: 'gone' };
    },
    async moveEvent(from, eventId, to) {
      // Which of the user's calendars holds the event is not news to the guests: nobody is mailed.
      const moved = await request(
        'events.move',
        (c) => c.events.move({ calendarId: from, eventId, destination: to, sendUpdates: 'none' }),
        (info) => GONE(info) || RECURRING_INSTANCE(info) || NOT_ORGANIZER(info),
      );
      if (moved.ok) return { result: 'moved', event: moved.data };
      if (RECURRING_INSTANCE(moved.info)) return { result: 'notAllowed', why: 'recurring-instance' };
      if (NOT_ORGANIZER(moved.info)) return { result: 'notAllowed', why: 'invitation-organized-by-someone-else' };
      return { result: 'gone' };
    },
    async listEvents(calendarId, { syncToken, pageToken }) {
      const page = await request(
        'events.list',
        (c) =>
          c.events.list({
            calendarId,
            syncToken,
            pageToken,
            singleEvents: true,
            showDeleted: true,
            maxResults: EVENTS_PAGE_SIZE,
          }),
        status(410),
      );
      if (!page.ok) return { result: 'fullSyncRequired' };
      return {
        result: 'page',
        items: page.data.items ?? [],
        nextPageToken: page.data.nextPageToken ?? undefined,
        nextSyncToken: page.data.nextSyncToken ?? undefined,
      };
    },
    async watchEvents(calendarId, { channelId, address, token, ttlSeconds }) {
      const watched = await request(
        'events.watch',
        (c) =>
          c.events.watch({
            calendarId,
            requestBody: { id: channelId, type: 'web_hook', address, token, params: { ttl: String(ttlSeconds) } },
          }),
        status(400),
      );
      if (watched.ok) {
        const expiration = watched.data.expiration ? new Date(Number(watched.data.expiration)).toISOString() : null;
        return { result: 'watching', resourceId: watched.data.resourceId ?? null, expiration };
      }
      if (watched.info.reason === 'channelIdNotUnique') return { result: 'channelExists' };
      // Any other 400 is retried as before: the channel may be asked for again with the same id.
      throw new Error(`events.watch rejected channel ${channelId}: ${watched.info.reason ?? watched.info.status}`);
    },
    async stopChannel(channelId, resourceId) {
      const stopped = await request(
        'channels.stop',
        (c) => c.channels.stop({ requestBody: { id: channelId, resourceId } }),
        status(404),
      );
      return stopped.ok ? { result: 'stopped' } : { result: 'gone' };
    },
    listWritableCalendars({ pageToken, maxResults }) {
      return data('calendarList.list', (c) => c.calendarList.list({ minAccessRole: 'writer', maxResults, pageToken }));
    },
    createCalendar(summary) {
      return data('calendars.insert', (c) => c.calendars.insert({ requestBody: { summary } }));
    },
    getCalendar(calendarId) {
      return data('calendars.get', (c) => c.calendars.get({ calendarId }));
    },
  };
}
