/**
 * A typed client of the admin HTTP API (client/admin/routes.ts): the `calendar-sync` CLI and the tests use
 * it, so both exercise the same requests. Every failure is an `AdminApiError` with a message fit for a
 * terminal: the server's own error (and its list of problems) for 4xx/5xx answers, or a plain explanation
 * when the server cannot be reached.
 */
import type {
  ActionResult,
  AdminErrorBody,
  ConnectionDetail,
  ConnectionSummary,
  ResyncView,
  SettingsView,
  UploadProgressView,
  UploadRequest,
  UploadStartedView,
} from './types.js';

export class AdminApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no answer came (server unreachable, timeout). */
    readonly status: number,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export interface AdminApiClientOptions {
  /** Base URL of the sync's HTTP server, e.g. http://localhost:3000. */
  url: string;
  token: string | undefined;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** Socket errors that mean the connection broke before an answer: worth one more try. */
const CONNECTION_RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export class AdminApiClient {
  private readonly base: string;

  constructor(private readonly options: AdminApiClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  listConnections(): Promise<{ connections: ConnectionSummary[] }> {
    return this.request('GET', '/connections');
  }

  connection(id: string, auditLimit?: number): Promise<ConnectionDetail> {
    const query = auditLimit === undefined ? '' : `?audit=${auditLimit}`;
    return this.request('GET', `/connections/${enc(id)}${query}`);
  }

  /** Enables the sync (stored settings merged with `settings`). */
  start(id: string, settings: Record<string, unknown> = {}): Promise<SettingsView> {
    return this.request('POST', `/connections/${enc(id)}/start`, settings);
  }

  pause(id: string): Promise<ActionResult> {
    return this.request('POST', `/connections/${enc(id)}/pause`);
  }

  resume(id: string): Promise<ActionResult> {
    return this.request('POST', `/connections/${enc(id)}/resume`);
  }

  disconnect(id: string): Promise<ActionResult> {
    return this.request('POST', `/connections/${enc(id)}/disconnect`);
  }

  /** Runs the safety-net pass now (idempotent); refused (409) while the sync is off or not running. */
  resync(id: string): Promise<ResyncView> {
    return this.request('POST', `/connections/${enc(id)}/resync`);
  }

  /** Retries one unresolved failure (its subject, as the status lists it); refused (400) if it cannot be. */
  retry(id: string, subject: string): Promise<ActionResult> {
    return this.request('POST', `/connections/${enc(id)}/retry`, { subject });
  }

  settings(id: string): Promise<SettingsView> {
    return this.request('GET', `/connections/${enc(id)}/settings`);
  }

  /** Changes the given settings (merged into the stored ones); rejected with the reasons if invalid. */
  changeSettings(id: string, changes: Record<string, unknown>): Promise<SettingsView> {
    return this.request('PATCH', `/connections/${enc(id)}/settings`, changes);
  }

  /** Starts the upload (or finds the running one). */
  startUpload(id: string, options: UploadRequest = {}): Promise<UploadStartedView> {
    return this.request('POST', `/connections/${enc(id)}/upload`, options);
  }

  uploadProgress(id: string): Promise<UploadProgressView> {
    return this.request('GET', `/connections/${enc(id)}/upload`);
  }

  cancelUpload(id: string): Promise<UploadProgressView> {
    return this.request('POST', `/connections/${enc(id)}/upload/cancel`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.base}/api/admin${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const send = () =>
      fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    let res: globalThis.Response;
    try {
      // A connection reset before any answer is sent again once: every admin operation is idempotent (an upload
      // started twice is one upload, a second cancel or pause changes nothing).
      res = await send().catch((err: unknown) => {
        if (!CONNECTION_RESET.has((err as { cause?: { code?: string } }).cause?.code ?? '')) throw err;
        return send();
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      const why = cause === 'TimeoutError' ? 'no answer in time' : cause;
      throw new AdminApiError(`cannot reach the sync server at ${this.base} (${why})`, 0);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // The connection broke in the middle of the answer: whether the operation happened is unknown.
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new AdminApiError(`the answer from the sync server at ${this.base} was cut off (${cause})`, 0);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const error = parsed as Partial<AdminErrorBody> | undefined;
    throw new AdminApiError(
      describeFailure(res.status, error?.error ?? (text.slice(0, 200) || res.statusText)),
      res.status,
      Array.isArray(error?.problems) ? error.problems : [],
    );
  }
}

function describeFailure(status: number, serverMessage: string): string {
  switch (status) {
    case 401:
      return `not authenticated: ${serverMessage} (set CALENDAR_SYNC_ADMIN_TOKEN)`;
    case 403:
      return `not allowed: ${serverMessage} (check CALENDAR_SYNC_ADMIN_TOKEN)`;
    default:
      return serverMessage;
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
