/**
 * HTTP surface of the Google Calendar emulator. Calendar API v3 is served at the origin root under
 * `/calendar/v3/...` (the official client, given `rootUrl`, drops any path prefix), OAuth under `/token`,
 * `/o/oauth2/v2/auth`, `/oauth2/v*\/userinfo`, and the control API under `/_emulator/...`.
 *
 * Each API request passes, in order: injected latency → bearer auth (401 authError) → injected error fault →
 * per-user quota (403/429) → the handler. Stats count every API request that reached a route.
 */
import { FaultInjector } from '../shared/faults.js';
import {
  HttpError,
  Router,
  serve,
  type EmuRequest,
  type EmuResponse,
  type RunningServer,
} from '../shared/http-server.js';
import { sleep } from '../shared/random.js';
import { parseConferenceDataVersion } from './conference.js';
import {
  createControl,
  emptyStats,
  type GoogleControl,
  type GoogleStats,
  type InvitationInput,
  type ResponseStatus,
  type TypedEventInput,
} from './control.js';
import { errors, googleError, googleErrorBody, injectedError } from './errors.js';
import { EventService, type WriteContext } from './events.js';
import { bearerUser, registerOAuthRoutes } from './oauth.js';
import { PushService } from './push.js';
import { Quota } from './quota.js';
import { ROLE_RANK, Store, type AccessRole, type User } from './store.js';

export interface GoogleEmulatorOptions {
  port?: number;
  host?: string;
  /** Requests per user per rolling minute (default 600). */
  quotaPerMinute?: number;
  /** Seeds ids, tokens, fault and rate-limit choices (default 1). */
  seed?: number;
  /** TTL of a push channel when `params.ttl` is absent (default 604800 = 7 days). */
  defaultChannelTtlSeconds?: number;
  /** Lifetime of issued access tokens (default 3600). */
  accessTokenTtlSeconds?: number;
  /** Delays before retrying a push delivery answered 5xx or failing to connect (default [1000, 5000, 30000]). */
  pushRetryDelaysMs?: number[];
  /**
   * Accept `http://` push addresses in `events.watch` (default false: Google requires HTTPS, push guide). For
   * the sandbox and tests, whose receivers listen on plain loopback HTTP.
   */
  allowInsecurePushAddresses?: boolean;
  /**
   * How long a Meet create request (`conferenceData.createRequest`) stays `pending` (default 0: it succeeds within
   * the write). Longer: the write answers `pending` and the conference arrives later as a new event version.
   */
  conferenceCreateDelayMs?: number;
}

export interface GoogleEmulator {
  /** Origin, e.g. `http://127.0.0.1:PORT`; give `rootUrl: url + '/'` to `@googleapis/calendar`. */
  url: string;
  /** OAuth token endpoint (`url + '/token'`), for OAuth2Client's `endpoints.oauth2TokenUrl`. */
  tokenUrl: string;
  /** The emulator's one OAuth client (our app's client id and secret in tests and the sandbox). */
  oauthClient: { clientId: string; clientSecret: string };
  /** OAuth authorize endpoint (`url + '/o/oauth2/v2/auth'`), for `endpoints.oauth2AuthBaseUrl`. */
  authUrl: string;
  control: GoogleControl;
  close(): Promise<void>;
}

const API = '/calendar/v3';

export async function startGoogleEmulator(opts: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  const seed = opts.seed ?? 1;
  const defaultQuota = opts.quotaPerMinute ?? 600;
  const accessTokenTtl = opts.accessTokenTtlSeconds ?? 3600;
  const channelTtl = opts.defaultChannelTtlSeconds ?? 604_800;
  const state: { stats: GoogleStats } = { stats: emptyStats() };
  const store = new Store(seed);
  const faults = new FaultInjector({ seed });
  const quota = new Quota(defaultQuota, seed);
  let baseUrl = '';
  const push = new PushService(
    faults,
    state,
    opts.pushRetryDelaysMs ?? [1000, 5000, 30000],
    () => baseUrl,
    opts.allowInsecurePushAddresses ?? false,
  );
  const events = new EventService(
    store,
    (cal) => push.notify(cal),
    (rec) => {
      // Bounded so long benchmark runs do not grow without limit; tests look at recent writes.
      const log = state.stats.invitations;
      log.push(rec);
      if (log.length > 10_000) log.splice(0, log.length - 10_000);
    },
    { conferenceCreateDelayMs: opts.conferenceCreateDelayMs ?? 0 },
  );
  /** The project's daily quota (`setDailyLimitExceeded`): every API request answers 403 dailyLimitExceeded. */
  const dailyLimit = { exceeded: false };
  const control = createControl({
    dailyLimit,
    store,
    events,
    push,
    quota,
    faults,
    state,
    defaultQuota,
    accessTokenTtlSeconds: accessTokenTtl,
  });

  const router = new Router();

  /** Registers a Calendar API route with the auth → fault → quota pipeline in front of it. */
  const api = (
    method: string,
    pattern: string,
    operation: string,
    handler: (req: EmuRequest, user: User) => EmuResponse,
  ) => {
    router.on(method, API + pattern, async (req) => {
      const s = state.stats;
      s.requests.total++;
      const routeKey = `${method} ${API}${pattern}`;
      s.requests.byRoute[routeKey] = (s.requests.byRoute[routeKey] ?? 0) + 1;
      s.requests.byOperation[operation] = (s.requests.byOperation[operation] ?? 0) + 1;
      const latency = faults.latency();
      if (latency > 0) await sleep(latency);
      const user = bearerUser(store, req);
      if (!user) {
        s.authFailures++;
        throw errors.authError();
      }
      s.requests.byUser[user.email] = (s.requests.byUser[user.email] ?? 0) + 1;
      const injected = faults.pickError();
      if (injected !== undefined) {
        s.injectedErrors++;
        throw injectedError(injected);
      }
      if (dailyLimit.exceeded) {
        s.rateLimited++;
        throw errors.dailyLimitExceeded();
      }
      const limited = quota.check(user.email, Date.now(), operation === 'events.patch' ? 3 : 1);
      if (limited) {
        s.rateLimited++;
        throw errors.rateLimit(limited);
      }
      return handler(req, user);
    });
  };

  const body = (req: EmuRequest): unknown => {
    try {
      return req.json();
    } catch {
      throw googleError(400, { reason: 'parseError', message: 'Parse Error' });
    }
  };
  const writeCtx = (req: EmuRequest, user: User, operation: string): WriteContext => {
    const sendUpdates = req.query.get('sendUpdates') ?? undefined;
    if (sendUpdates !== undefined && !['all', 'externalOnly', 'none'].includes(sendUpdates)) {
      throw errors.badRequest(`Invalid value for sendUpdates: ${sendUpdates}`, 'invalidParameter', 'sendUpdates');
    }
    const ifMatch = typeof req.headers['if-match'] === 'string' ? req.headers['if-match'] : undefined;
    return {
      user,
      operation,
      conferenceDataVersion: parseConferenceDataVersion(req.query.get('conferenceDataVersion')),
      ...(sendUpdates !== undefined ? { sendUpdates } : {}),
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    };
  };
  const roleOf = (user: User, calendarId: string): AccessRole =>
    user.calendarList.get(calendarId === 'primary' ? user.email : calendarId)?.accessRole ?? 'reader';

  // ---- calendarList & calendars ----
  api('GET', '/users/me/calendarList', 'calendarList.list', (req, user) => {
    const min = req.query.get('minAccessRole');
    if (min !== null && !(min in ROLE_RANK))
      throw errors.badRequest('Invalid minAccessRole value.', 'invalid', 'minAccessRole');
    const maxRaw = req.query.get('maxResults');
    // calendarList.list: maxResults "Default is 100 entries. The page size can never be larger than 250".
    let max = 100;
    if (maxRaw !== null) {
      const n = Number(maxRaw);
      if (!Number.isInteger(n) || n < 1)
        throw errors.badRequest('Invalid value for maxResults.', 'invalid', 'maxResults');
      max = Math.min(n, 250);
    }
    const pageTokenRaw = req.query.get('pageToken');
    const offset = pageTokenRaw === null ? 0 : Number(Buffer.from(pageTokenRaw, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0)
      throw errors.badRequest('Invalid page token value.', 'invalid', 'pageToken');
    const all = [...user.calendarList.entries()]
      .filter(([, e]) => min === null || ROLE_RANK[e.accessRole] >= ROLE_RANK[min as AccessRole])
      .map(([id, e]) => {
        const cal = store.calendars.get(id)!;
        return {
          kind: 'calendar#calendarListEntry',
          etag: cal.etag,
          id,
          summary: cal.summary,
          ...(cal.description ? { description: cal.description } : {}),
          timeZone: cal.timeZone,
          colorId: '1',
          backgroundColor: '#9fe1e7',
          foregroundColor: '#000000',
          selected: true,
          accessRole: e.accessRole,
          defaultReminders: [],
          ...(e.primary ? { primary: true } : {}),
        };
      });
    const items = all.slice(offset, offset + max);
    const next = offset + max < all.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
    return {
      status: 200,
      body: {
        kind: 'calendar#calendarList',
        etag: `"${store.currentChange}"`,
        ...(next ? { nextPageToken: next } : {}),
        items,
      },
    };
  });
  const calendarResource = (id: string) => {
    const cal = store.calendars.get(id)!;
    return {
      kind: 'calendar#calendar',
      etag: cal.etag,
      id: cal.id,
      summary: cal.summary,
      ...(cal.description ? { description: cal.description } : {}),
      timeZone: cal.timeZone,
    };
  };
  api('POST', '/calendars', 'calendars.insert', (req, user) => {
    const b = (body(req) ?? {}) as Record<string, unknown>;
    if (typeof b.summary !== 'string' || b.summary.trim() === '') throw errors.required('Missing title.');
    if (b.timeZone !== undefined && typeof b.timeZone !== 'string') throw errors.badRequest('Invalid time zone.');
    const info = control.createCalendar(user.email, {
      summary: b.summary,
      ...(typeof b.timeZone === 'string' ? { timeZone: b.timeZone } : {}),
      ...(typeof b.description === 'string' ? { description: b.description } : {}),
    });
    return { status: 200, body: calendarResource(info.id) };
  });
  api('GET', '/calendars/:calendarId', 'calendars.get', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'freeBusyReader');
    return { status: 200, body: calendarResource(cal.id) };
  });

  // ---- events ----
  api('POST', '/calendars/:calendarId/events/watch', 'events.watch', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'reader');
    return { status: 200, body: push.watch(user, cal, req.params.calendarId!, body(req), channelTtl) };
  });
  api('POST', '/channels/stop', 'channels.stop', (req) => {
    push.stop(body(req));
    return { status: 204 };
  });
  api('GET', '/calendars/:calendarId/events', 'events.list', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'reader');
    return { status: 200, body: events.list(cal, req.query, roleOf(user, cal.id)) };
  });
  api('POST', '/calendars/:calendarId/events', 'events.insert', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'writer');
    return { status: 200, body: events.insert(cal, body(req), writeCtx(req, user, 'events.insert')) };
  });
  api('GET', '/calendars/:calendarId/events/:eventId/instances', 'events.instances', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'reader');
    return { status: 200, body: events.instances(cal, req.params.eventId!, req.query, roleOf(user, cal.id)) };
  });
  api('GET', '/calendars/:calendarId/events/:eventId', 'events.get', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'reader');
    const ev = events.get(cal, req.params.eventId!);
    if (req.headers['if-none-match'] === ev.etag) return { status: 304 };
    return { status: 200, body: ev };
  });
  api('PATCH', '/calendars/:calendarId/events/:eventId', 'events.patch', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'writer');
    return {
      status: 200,
      body: events.patch(cal, req.params.eventId!, body(req), writeCtx(req, user, 'events.patch')),
    };
  });
  api('PUT', '/calendars/:calendarId/events/:eventId', 'events.update', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'writer');
    return {
      status: 200,
      body: events.update(cal, req.params.eventId!, body(req), writeCtx(req, user, 'events.update')),
    };
  });
  api('POST', '/calendars/:calendarId/events/:eventId/move', 'events.move', (req, user) => {
    const from = events.resolveCalendar(user, req.params.calendarId!, 'writer');
    const destination = req.query.get('destination');
    if (!destination) throw errors.required('Required parameter: destination');
    const to = events.resolveCalendar(user, destination, 'writer');
    return { status: 200, body: events.move(from, to, req.params.eventId!, writeCtx(req, user, 'events.move')) };
  });
  api('DELETE', '/calendars/:calendarId/events/:eventId', 'events.delete', (req, user) => {
    const cal = events.resolveCalendar(user, req.params.calendarId!, 'writer');
    events.delete(cal, req.params.eventId!, writeCtx(req, user, 'events.delete'));
    return { status: 204 };
  });

  registerOAuthRoutes(router, {
    store,
    accessTokenTtlSeconds: () => accessTokenTtl,
    createUser: (email) => {
      control.createUser({ email });
      return store.users.get(email)!;
    },
  });
  registerControlRoutes(router, control, body);

  const server: RunningServer = await serve(router, {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    notFound: (req) => ({
      status: 404,
      body: googleErrorBody(404, { reason: 'notFound', message: `Not Found: ${req.method} ${req.path}` }),
    }),
    onError: (err) => {
      console.error('[google-emulator] unexpected error', err);
      return { status: 500, body: googleErrorBody(500, { reason: 'backendError', message: 'Backend Error' }) };
    },
  });
  baseUrl =
    opts.host && opts.host !== '127.0.0.1' && opts.host !== '0.0.0.0'
      ? `http://${opts.host}:${server.port}`
      : server.url;

  return {
    url: baseUrl,
    tokenUrl: `${baseUrl}/token`,
    oauthClient: { clientId: store.client.clientId, clientSecret: store.client.clientSecret },
    authUrl: `${baseUrl}/o/oauth2/v2/auth`,
    control,
    async close() {
      events.cancelPendingConferences();
      push.close();
      await server.close();
    },
  };
}

/** `/_emulator/...`: the control API over HTTP, JSON in and out, no auth (it is a test harness). */
function registerControlRoutes(router: Router, c: GoogleControl, body: (req: EmuRequest) => unknown): void {
  const obj = (req: EmuRequest) => (body(req) ?? {}) as Record<string, unknown>;
  const ok = (b?: unknown): EmuResponse => (b === undefined ? { status: 204 } : { status: 200, body: b });
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  router.on('POST', '/_emulator/users', (req) => ok(c.createUser({ email: String(obj(req).email ?? '') })));
  router.on('GET', '/_emulator/users/:email/calendars', (req) => ok(c.listCalendars(req.params.email!)));
  router.on('POST', '/_emulator/users/:email/calendars', (req) => {
    const b = obj(req);
    const input = {
      summary: String(b.summary ?? ''),
      ...(str(b.id) ? { id: str(b.id)! } : {}),
      ...(str(b.timeZone) ? { timeZone: str(b.timeZone)! } : {}),
      ...(str(b.description) ? { description: str(b.description)! } : {}),
    };
    return ok(c.createCalendar(req.params.email!, input, (str(b.accessRole) as AccessRole | undefined) ?? 'owner'));
  });
  router.on('GET', '/_emulator/users/:email/calendars/:calendarId/events', (req) =>
    ok(
      c.listEvents(req.params.email!, req.params.calendarId!, {
        includeDeleted: req.query.get('includeDeleted') === 'true',
      }),
    ),
  );
  router.on('POST', '/_emulator/users/:email/calendars/:calendarId/events', (req) =>
    ok(c.upsertEvent(req.params.email!, req.params.calendarId!, obj(req))),
  );
  router.on('POST', '/_emulator/users/:email/calendars/:calendarId/invitations', (req) =>
    ok(c.createInvitation(req.params.email!, req.params.calendarId!, obj(req) as InvitationInput)),
  );
  router.on('POST', '/_emulator/users/:email/calendars/:calendarId/typed-events', (req) =>
    ok(c.createTypedEvent(req.params.email!, req.params.calendarId!, obj(req) as TypedEventInput)),
  );
  router.on('POST', '/_emulator/users/:email/calendars/:calendarId/events/:eventId/response', (req) =>
    ok(
      c.respondToInvitation(
        req.params.email!,
        req.params.calendarId!,
        req.params.eventId!,
        String(obj(req).responseStatus ?? '') as ResponseStatus,
      ),
    ),
  );
  router.on('GET', '/_emulator/users/:email/calendars/:calendarId/events/:eventId', (req) =>
    ok(c.inspectEvent(req.params.email!, req.params.calendarId!, req.params.eventId!)),
  );
  router.on('DELETE', '/_emulator/users/:email/calendars/:calendarId/events/:eventId', (req) => {
    c.deleteEvent(req.params.email!, req.params.calendarId!, req.params.eventId!);
    return ok();
  });
  router.on('POST', '/_emulator/sync-tokens/invalidate', (req) => {
    const b = obj(req);
    c.invalidateSyncTokens(str(b.email), str(b.calendarId));
    return ok();
  });
  router.on('POST', '/_emulator/access-tokens/expire', (req) => {
    c.expireAccessTokens(str(obj(req).email));
    return ok();
  });
  router.on('PUT', '/_emulator/quota', (req) => {
    const n = Number(obj(req).perMinute);
    if (!Number.isFinite(n) || n < 0) throw new HttpError(400, { error: 'perMinute must be a non-negative number' });
    c.setQuota(n);
    return ok();
  });
  router.on('PUT', '/_emulator/faults', (req) => {
    c.setFaults(obj(req));
    return ok();
  });
  router.on('PUT', '/_emulator/daily-limit', (req) => {
    c.setDailyLimitExceeded(obj(req).exceeded === true);
    return ok();
  });
  router.on('POST', '/_emulator/users/:email/revoke', (req) => {
    c.revokeRefreshToken(req.params.email!);
    return ok();
  });
  router.on('GET', '/_emulator/channels', () => ok(c.listChannels()));
  router.on('GET', '/_emulator/stats', () => ok(c.stats()));
  router.on('POST', '/_emulator/stats/reset', () => {
    c.resetStats();
    return ok();
  });
  router.on('POST', '/_emulator/reset', () => {
    c.reset();
    return ok();
  });
}
