/**
 * The JSON API behind the settings page, always for the signed-in user's own connection: the session names
 * it, so no request can reach another user's settings. Changes require the page's CSRF token.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { calendar_v3 } from '@googleapis/calendar';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recentAudit } from '../../adapters/store/audit-log.js';
import { googleCalendarApiFor, pipedriveApiFor } from '../../adapters/connection-apis.js';
import {
  deleteCredentials,
  getConnection,
  loadCredentials,
  type Connection,
} from '../../adapters/store/connections.js';
import { renderTitle, templateProblems } from '../../sync-rules/title-template.js';
import { INVALID_SETTINGS } from '../../workflows/contract.js';
import { checkUploadOptions } from '../../workflows/upload-options.js';
import { rejectedIssues } from '../update-rejection.js';
import type { SyncClient } from '../sync-client.js';
import { HttpProblem } from './http-problem.js';
import { SESSION_COOKIE, type Session, type Sessions } from './session.js';
import type { WebConfig } from './web-config.js';

export interface SettingsApiDeps {
  web: WebConfig;
  sessions: Sessions;
  sync: SyncClient;
}

interface Response {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type Handler = (req: FastifyRequest, connection: Connection, session: Session) => Promise<Response>;

interface SignedInRoute {
  handler: Handler;
  /** Changes something: needs the CSRF token too. */
  change: boolean;
}

const json = (body: unknown, status = 200): Response => ({ status, body });

/** The settings API's bodies are small JSON documents. */
const SETTINGS_BODY_LIMIT = 32 * 1024;

/** Google's largest `calendarList.list` page (its default is 100). */
const CALENDAR_PAGE_SIZE = 250;
/** Pages read at most: 2,500 calendars, far beyond any real account, and a bound on a looping page token. */
const CALENDAR_PAGES_MAX = 10;

interface CalendarListPage {
  items?: calendar_v3.Schema$CalendarListEntry[];
  nextPageToken?: string | null;
}

/** Every entry of a paged `calendarList.list`, following `nextPageToken` up to `CALENDAR_PAGES_MAX` pages. */
export async function writableCalendars(
  page: (pageToken: string | undefined) => Promise<CalendarListPage>,
): Promise<calendar_v3.Schema$CalendarListEntry[]> {
  const items: calendar_v3.Schema$CalendarListEntry[] = [];
  let pageToken: string | undefined;
  for (let i = 0; i < CALENDAR_PAGES_MAX; i++) {
    const list = await page(pageToken);
    items.push(...(list.items ?? []));
    pageToken = list.nextPageToken ?? undefined;
    if (!pageToken) break;
  }
  return items;
}

export function registerSettingsApi(app: FastifyInstance, deps: SettingsApiDeps): void {
  const { web, sessions, sync } = deps;
  const db = web.deps.db;
  /**
   * Signed in, and for changes the CSRF token: checked from the headers alone (preParsing), so a request
   * without a session never has its body read; otherwise 401/403 and nothing happens.
   */
  const router = {
    on(method: 'GET' | 'POST' | 'PUT', url: string, route: SignedInRoute) {
      const signedInAs = new WeakMap<FastifyRequest, { session: Session; connection: Connection }>();
      app.route({
        method,
        url,
        bodyLimit: SETTINGS_BODY_LIMIT,
        preParsing: async (req, _reply, payload) => {
          const session = await sessions.current(req);
          const connection = session ? await getConnection(db, session.connectionId) : null;
          if (!session || !connection)
            throw new HttpProblem(401, { error: 'Not signed in. Connect your Google or Pipedrive account first.' });
          const token = req.headers['x-csrf-token'];
          if (route.change && !sessions.csrfValid(session, Array.isArray(token) ? token[0] : token)) {
            throw new HttpProblem(403, {
              error: 'This request did not come from your settings page (missing CSRF token).',
            });
          }
          signedInAs.set(req, { session, connection });
          return payload;
        },
        handler: async (req, reply) => {
          const { session, connection } = signedInAs.get(req)!;
          const res = await route.handler(req, connection, session);
          return reply
            .code(res.status)
            .headers({ 'cache-control': 'no-store', ...res.headers })
            .send(res.body);
        },
      });
    },
  };

  const signedIn = (handler: Handler, { change = false } = {}): SignedInRoute => ({ handler, change });

  const body = <T>(req: FastifyRequest, schema: z.ZodType<T>): T => {
    const raw: unknown = req.body ?? {};
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new HttpProblem(400, {
        error: 'Invalid request.',
        problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
      });
    }
    return parsed.data;
  };

  async function google(connection: Connection) {
    const creds = await loadCredentials(db, web.deps.secrets, connection.id, 'google');
    if (!creds) throw new HttpProblem(409, { error: 'Connect your Google account first.' });
    return googleCalendarApiFor(web.deps, connection.id, creds);
  }

  async function pipedrive(connection: Connection) {
    const creds = await loadCredentials(db, web.deps.secrets, connection.id, 'pipedrive');
    const apiDomain = connection.pipedriveApiDomain;
    if (!creds || !apiDomain) throw new HttpProblem(409, { error: 'Connect your Pipedrive account first.' });
    return pipedriveApiFor(web.deps, { ...connection, pipedriveApiDomain: apiDomain }, creds);
  }

  router.on(
    'GET',
    '/api/me',
    signedIn(async (_req, connection, session) => {
      const [googleCreds, pipedriveCreds, audit, status] = await Promise.all([
        loadCredentials(db, web.deps.secrets, connection.id, 'google'),
        loadCredentials(db, web.deps.secrets, connection.id, 'pipedrive'),
        recentAudit(db, connection.id, 20),
        sync.status(connection.id).catch(() => null),
      ]);
      return json({
        connectionId: connection.id,
        csrf: sessions.csrfToken(session),
        google: googleCreds ? { connected: true, email: connection.googleEmail } : { connected: false },
        pipedrive: pipedriveCreds
          ? {
              connected: true,
              userId: connection.pipedriveUserId,
              companyId: connection.pipedriveCompanyId,
              apiDomain: connection.pipedriveApiDomain,
              via: pipedriveCreds.kind,
            }
          : { connected: false },
        settings: status?.settings ?? connection.settings,
        status,
        audit,
      });
    }),
  );

  router.on(
    'GET',
    '/api/me/calendars',
    signedIn(async (_req, connection) => {
      const api = await google(connection);
      const items = await writableCalendars((pageToken) =>
        api.listWritableCalendars({ maxResults: CALENDAR_PAGE_SIZE, pageToken }),
      );
      return json(
        items.map((c) => ({
          id: c.id,
          summary: c.summaryOverride ?? c.summary,
          primary: c.primary ?? false,
        })),
      );
    }),
  );

  router.on(
    'POST',
    '/api/me/calendars',
    signedIn(
      async (req, connection) => {
        const { summary } = body(req, z.object({ summary: z.string().trim().min(1).max(100).default('Pipedrive') }));
        const api = await google(connection);
        const created = await api.createCalendar(summary);
        req.log.info({ connectionId: connection.id }, 'calendar created');
        return json({ id: created.id, summary: created.summary, primary: false }, 201);
      },
      { change: true },
    ),
  );

  router.on(
    'GET',
    '/api/me/activity-types',
    signedIn(async (_req, connection) => {
      const types = await (await pipedrive(connection)).listActivityTypes();
      return json(types.filter((t) => t.active_flag).map((t) => ({ key: t.key_string, name: t.name })));
    }),
  );

  router.on(
    'POST',
    '/api/me/title-preview',
    signedIn(async (req) => {
      const { template } = body(req, z.object({ template: z.string().max(200) }));
      const problems = templateProblems(template);
      if (problems.length) return json({ ok: false, problems });
      return json({
        ok: true,
        preview: renderTitle(
          template,
          { deal: 'Hammock District', person: 'Hank Scorpio', org: 'Globex' },
          'Discovery call',
        ),
      });
    }),
  );

  router.on(
    'PUT',
    '/api/me/settings',
    signedIn(
      async (req, connection) => {
        const input = body(req, z.record(z.string(), z.unknown()));
        try {
          const settings = await sync.configure(connection.id, { ...connection.settings, ...input });
          return json({ settings });
        } catch (err) {
          const issues = rejectedIssues(err, INVALID_SETTINGS);
          if (issues) {
            return json({ error: 'These settings were not saved.', problems: issues.map((i) => i.message) }, 400);
          }
          if (err instanceof WorkflowUpdateFailedError) {
            return json(
              { error: 'These settings were not saved.', problems: [String(err.cause?.message ?? err.message)] },
              400,
            );
          }
          throw err;
        }
      },
      { change: true },
    ),
  );

  router.on(
    'POST',
    '/api/me/upload',
    signedIn(
      async (req, connection) => {
        const options = body(req, z.record(z.string(), z.unknown()));
        const checked = checkUploadOptions(options);
        if (!checked.ok) {
          return json({ error: 'Invalid request.', problems: checked.issues.map((i) => i.message) }, 400);
        }
        try {
          return json({ workflowId: await sync.uploadUnsynced(connection.id, checked.value) }, 202);
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError)
            return json({ error: String(err.cause?.message ?? err.message) }, 400);
          throw err;
        }
      },
      { change: true },
    ),
  );

  router.on(
    'GET',
    '/api/me/upload',
    signedIn(async (_req, connection) =>
      json({ progress: await sync.uploadProgress(connection.id).catch(() => null) }),
    ),
  );

  router.on(
    'POST',
    '/api/me/disconnect',
    signedIn(
      async (req, connection) => {
        await sync.disconnect(connection.id).catch((err: unknown) => {
          req.log.warn(
            { connectionId: connection.id, error: (err as Error).message },
            'disconnect: workflow not reachable',
          );
        });
        await deleteCredentials(db, connection.id);
        // Every browser signed in to this connection is signed out, not only this one.
        await sessions.revokeAll(connection.id);
        req.log.info({ connectionId: connection.id }, 'connection disconnected');
        return { status: 200, headers: { 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` }, body: { ok: true } };
      },
      { change: true },
    ),
  );
}
