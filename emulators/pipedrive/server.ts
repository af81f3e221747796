/**
 * Wires the emulator: one HTTP server acting as the company API domain (`/api/v2`, `/api/v1`, `/v1`), the
 * OAuth server (`/oauth/...`) and the control API (`/_emulator/...`). Every API route goes through `api()`,
 * which counts the call, authenticates, applies injected faults, enforces the rate limits and stamps the
 * rate-limit headers on the answer — success or error.
 */
import type { EmuRequest, EmuResponse, RunningServer } from '../shared/http-server.js';
import { HttpError, Router, serve } from '../shared/http-server.js';
import { sleep } from '../shared/random.js';
import { FaultInjector } from '../shared/faults.js';
import type { FaultConfig } from '../shared/faults.js';
import { registerActivityRoutes } from './activities.js';
import type { Caller, Core } from './core.js';
import { createControl, registerControlRoutes } from './control.js';
import type { PipedriveControl } from './control.js';
import { registerEntityRoutes } from './entities.js';
import { PersonSearchIndex, registerSearchRoutes } from './search.js';
import { errorBody, pdError } from './errors.js';
import { registerOAuthRoutes } from './oauth.js';
import { checkScope } from './scopes.js';
import { costOf, isSearchRoute, RateLimiter } from './rate-limit.js';
import type { RateLimitSettings } from './rate-limit.js';
import { emptyStats } from './stats.js';
import type { PipedriveStats } from './stats.js';
import { Store } from './store.js';
import { registerV1Routes } from './v1.js';
import { CHANGE_LOG_LIMIT, DEFAULT_WEBHOOK_POLICY, WebhookDispatcher } from './webhooks.js';
import type { ChangeRecord } from './webhooks.js';

export type ApiHandler = (req: EmuRequest, caller: Caller) => EmuResponse | Promise<EmuResponse>;
/** Registers an authenticated, rate-limited API route; `routeName` names it in stats and the cost table. */
export type ApiRoute = (
  router: Router,
  method: string,
  pattern: string,
  handler: ApiHandler,
  routeName?: string,
) => void;

export interface PipedriveEmulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Delays before the retries of a failed webhook delivery (default [3000, 30000, 150000]). */
  webhookRetryDelaysMs?: number[];
  /** How long a webhook delivery attempt may take before it counts as failed (default 10 000 ms). */
  webhookTimeoutMs?: number;
  /** Events whose first delivery attempt fails before the webhook is banned (default 10). */
  banAfterFailures?: number;
  /** Ban duration (default 30 min). */
  banDurationMs?: number;
  dailyTokenBudget?: number;
  burstLimitPer2s?: number;
}

export interface PipedriveEmulator {
  /** The company API domain, e.g. http://127.0.0.1:PORT. v2 base path: url + '/api/v2'; v1: url + '/v1' (or '/api/v1'). */
  url: string;
  /** OAuth server origin (same server): /oauth/authorize, /oauth/token, /oauth/revoke. */
  oauthUrl: string;
  control: PipedriveControl;
  close(): Promise<void>;
}

export async function startPipedriveEmulator(opts: PipedriveEmulatorOptions = {}): Promise<PipedriveEmulator> {
  let store = new Store();
  let stats = emptyStats();
  const faults = new FaultInjector({ seed: opts.seed ?? 1 });
  const limiter = new RateLimiter({
    ...(opts.dailyTokenBudget !== undefined ? { dailyTokenBudget: opts.dailyTokenBudget } : {}),
    ...(opts.burstLimitPer2s !== undefined ? { burstLimitPer2s: opts.burstLimitPer2s } : {}),
  });
  const policy = {
    retryDelaysMs: opts.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_POLICY.retryDelaysMs,
    timeoutMs: opts.webhookTimeoutMs ?? DEFAULT_WEBHOOK_POLICY.timeoutMs,
    banAfterFailures: opts.banAfterFailures ?? DEFAULT_WEBHOOK_POLICY.banAfterFailures,
    banDurationMs: opts.banDurationMs ?? DEFAULT_WEBHOOK_POLICY.banDurationMs,
  };
  const dispatcher = new WebhookDispatcher(
    () => store,
    faults,
    () => stats,
    policy,
  );
  let changeLog: ChangeRecord[] = [];
  const searchIndex = new PersonSearchIndex();
  const core: Core = {
    store: () => store,
    emit: (e) => {
      changeLog.push({
        atMs: Date.now(),
        action: e.action,
        entity: e.entity,
        entityId: e.entityId,
        companyId: e.companyId,
        userId: e.userId,
        changeSource: e.changeSource,
        changedFields: e.action === 'change' && e.previous ? Object.keys(e.previous) : [],
      });
      if (changeLog.length > CHANGE_LOG_LIMIT) changeLog.splice(0, changeLog.length - CHANGE_LOG_LIMIT);
      searchIndex.record(e);
      dispatcher.emit(e);
    },
  };
  let url = '';

  const authenticate = (req: EmuRequest): Caller => {
    const headerToken = req.headers['x-api-token'];
    const apiToken =
      (Array.isArray(headerToken) ? headerToken[0] : headerToken) ?? req.query.get('api_token') ?? undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    let userId: number | undefined;
    let credential = '';
    let kind: Caller['kind'] = 'api_token';
    let scope: string | undefined;
    if (bearer) {
      const grant = store.accessTokens.get(bearer);
      if (grant && grant.expiresAt <= Date.now()) throw pdError(401, 'Access token expired');
      userId = grant?.userId;
      scope = grant?.scope;
      credential = bearer;
      kind = 'oauth';
    } else if (apiToken) {
      userId = store.apiTokens.get(apiToken);
      credential = apiToken;
    }
    const user = userId === undefined ? undefined : store.users.get(userId);
    const company = user ? store.companies.get(user.company_id) : undefined;
    if (!user || !company) throw pdError(401, 'unauthorized access');
    return { user, company, credential, kind, ...(scope !== undefined ? { scope } : {}) };
  };

  const api: ApiRoute = (router, method, pattern, handler, routeName) => {
    const name = `${method} ${routeName ?? pattern}`;
    router.on(method, pattern, async (req) => {
      stats.apiCalls[name] = (stats.apiCalls[name] ?? 0) + 1;
      const latency = faults.latency();
      if (latency > 0) await sleep(latency);
      const caller = authenticate(req);
      if (caller.kind === 'oauth') checkScope(name, caller.scope ?? '');
      const injected = faults.pickError();
      if (injected !== undefined) {
        if (injected === 429) {
          stats.rateLimited++;
          throw pdError(429, 'Request over limit', {
            'retry-after': '2',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': '2',
          });
        }
        throw pdError(injected, injected >= 500 ? 'Internal server error' : `Injected error ${injected}`);
      }
      const cost = costOf(name);
      const decision = limiter.take(caller.credential, caller.company.id, cost, Date.now(), isSearchRoute(name));
      if (!decision.ok) {
        stats.rateLimited++;
        throw pdError(
          429,
          decision.reason === 'burst' ? 'Request over limit' : 'Daily token budget exceeded',
          decision.headers,
          decision.reason === 'burst'
            ? 'Too many requests in the 2-second window; see https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting'
            : 'The company has spent its daily API token budget; it resets at midnight UTC.',
        );
      }
      const companyKey = String(caller.company.id);
      stats.tokensSpent[companyKey] = (stats.tokensSpent[companyKey] ?? 0) + cost;
      try {
        const res = await handler(req, caller);
        return { ...res, headers: { ...decision.headers, ...(res.headers ?? {}) } };
      } catch (err) {
        if (err instanceof HttpError)
          throw new HttpError(err.status, err.body, { ...decision.headers, ...err.headers });
        throw err;
      }
    });
  };

  const router = new Router();
  registerActivityRoutes(router, api, core);
  // Before the entity routes: `/persons/search` would otherwise be read as `/persons/:id`.
  registerSearchRoutes(router, api, core, searchIndex);
  registerEntityRoutes(router, api, core);
  registerV1Routes(router, api, core);
  registerOAuthRoutes(
    router,
    () => store,
    () => url,
  );

  const control = createControl({
    ...core,
    banDurationMs: policy.banDurationMs,
    setFaults: (config: FaultConfig) => faults.configure({ seed: opts.seed ?? 1, ...config }),
    setRateLimits: (limits: Partial<RateLimitSettings>) => limiter.configure(limits),
    setSearchIndexDelay: (ms: number) => searchIndex.setDelay(ms),
    stats: (): PipedriveStats => stats,
    changes: () => changeLog,
    resetStats: () => {
      stats = emptyStats();
    },
    reset: () => {
      dispatcher.cancelAll();
      store = new Store();
      stats = emptyStats();
      changeLog = [];
      searchIndex.clear();
      limiter.reset();
      faults.configure({ seed: opts.seed ?? 1 });
    },
  });
  registerControlRoutes(router, control);

  const running: RunningServer = await serve(router, {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    notFound: (req) => ({ status: 404, body: errorBody(404, `Unknown method ${req.method} ${req.path}`) }),
    onError: (err) => ({ status: 500, body: errorBody(500, `Internal error: ${String(err)}`) }),
  });
  url = running.url;

  return {
    url,
    oauthUrl: url,
    control,
    close: async () => {
      dispatcher.close();
      await running.close();
    },
  };
}
