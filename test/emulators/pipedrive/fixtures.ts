/**
 * Shared setup for the Pipedrive emulator conformance tests: an emulator per test file, official clients
 * pointed at it, a "raw" transport that keeps HTTP status and headers, and a real webhook receiver.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AxiosInstance, AxiosResponse } from 'axios';
import * as v1 from 'pipedrive/v1';
import * as v2 from 'pipedrive/v2';
import type { CreatedUser, PipedriveEmulator } from '../../../emulators/pipedrive/index.js';

export function clients(emu: PipedriveEmulator, auth: { apiKey?: string; accessToken?: string }) {
  const c2 = new v2.Configuration({ ...auth, basePath: `${emu.url}/api/v2` });
  const c1 = new v1.Configuration({ ...auth, basePath: `${emu.url}/v1` });
  return {
    activities: new v2.ActivitiesApi(c2),
    deals: new v2.DealsApi(c2),
    persons: new v2.PersonsApi(c2),
    organizations: new v2.OrganizationsApi(c2),
    webhooks: new v1.WebhooksApi(c1),
    users: new v1.UsersApi(c1),
    activityTypes: new v1.ActivityTypesApi(c1),
  };
}

type RawApi<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => Promise<AxiosResponse<R>>
    : T[K];
};

/**
 * The official client's interceptors unwrap `response.data` and reject with the body alone, dropping status
 * and headers. Clearing them on the instance's own axios gives the full AxiosResponse, and AxiosError
 * (with `.response.status/headers`) on non-2xx — the same requests, just an unwrapped answer.
 */
export function raw<T extends object>(api: T): RawApi<T> {
  (api as unknown as { axios: AxiosInstance }).axios.interceptors.response.clear();
  return api as unknown as RawApi<T>;
}

/** Awaits a call expected to fail and returns the HTTP response of the failure. */
export async function failure(p: Promise<unknown>): Promise<AxiosResponse> {
  try {
    await p;
  } catch (err) {
    const res = (err as { response?: AxiosResponse }).response;
    if (res) return res;
    throw err;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

export function seedCompany(emu: PipedriveEmulator, name = 'Acme'): { companyId: number; user: CreatedUser } {
  const { companyId } = emu.control.createCompany({ name });
  const user = emu.control.createUser({ companyId, name: `${name} Owner`, email: `owner@${name.toLowerCase()}.test` });
  return { companyId, user };
}

export interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: {
    meta: Record<string, unknown> & {
      action: string;
      entity: string;
      entity_id: string;
      id: string;
      attempt: number;
      change_source: string;
    };
    data: Record<string, unknown> | null;
    previous: Record<string, unknown> | null;
  };
}

/** A real HTTP endpoint that records webhook deliveries; `respond(n)` picks the status for the n-th request. */
export async function startReceiver(respond: (n: number, d: Delivery) => number = () => 200) {
  const deliveries: Delivery[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const d: Delivery = {
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Delivery['body'],
      };
      deliveries.push(d);
      res.writeHead(respond(deliveries.length, d));
      res.end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/pipedrive`,
    deliveries,
    /** Resolves once at least `n` deliveries arrived, or rejects after `timeoutMs`. */
    async waitFor(n: number, timeoutMs = 3000): Promise<Delivery[]> {
      const deadline = Date.now() + timeoutMs;
      while (deliveries.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${n} deliveries, got ${deliveries.length}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return deliveries;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` holds (fails after `timeoutMs`): for outcomes that take a moment under load. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
