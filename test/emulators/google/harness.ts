/**
 * Shared set-up for the Google emulator conformance tests: an emulator, a user, and the OFFICIAL clients
 * (`@googleapis/calendar` with retries off, google-auth-library's OAuth2Client pointed at the emulator's token
 * endpoint), plus a real `node:http` receiver for push notifications.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import { expect } from 'vitest';
import {
  startGoogleEmulator,
  type CreatedUser,
  type GoogleEmulator,
  type GoogleEmulatorOptions,
} from '../../../emulators/google/index.js';

export interface Harness {
  emu: GoogleEmulator;
  user: CreatedUser;
  auth: OAuth2Client;
  cal: calendar_v3.Calendar;
}

export function oauthClient(emu: GoogleEmulator, user: CreatedUser): OAuth2Client {
  return new OAuth2Client({
    clientId: user.clientId,
    clientSecret: user.clientSecret,
    redirectUri: 'http://127.0.0.1:1/callback',
    endpoints: { oauth2TokenUrl: emu.tokenUrl, oauth2AuthBaseUrl: emu.authUrl },
  });
}

export function calendarClient(emu: GoogleEmulator, auth: OAuth2Client): calendar_v3.Calendar {
  return calendar({ version: 'v3', auth, rootUrl: emu.url + '/', retry: false });
}

export async function startHarness(opts: GoogleEmulatorOptions = {}, email = 'alice@example.com'): Promise<Harness> {
  const emu = await startGoogleEmulator({ seed: 7, ...opts });
  const user = emu.control.createUser({ email });
  const auth = oauthClient(emu, user);
  // With an expiry_date the client refreshes only when the token is due. Without one, OAuth2Client refreshes and
  // retries once on ANY 401 or 403 — including 403 rate limits — which would hide raw errors from the tests.
  auth.setCredentials({
    access_token: user.accessToken,
    refresh_token: user.refreshToken,
    expiry_date: Date.now() + 3_600_000,
  });
  return { emu, user, auth, cal: calendarClient(emu, auth) };
}

export interface GoogleErrorBody {
  error: {
    code: number;
    message: string;
    status?: string;
    errors: Array<{ domain: string; reason: string; message: string; location?: string }>;
  };
}

/** Awaits a call expected to fail; asserts status and reason and returns the parsed error body. */
export async function expectGoogleError(p: Promise<unknown>, status: number, reason: string): Promise<GoogleErrorBody> {
  const err = await p.then(
    () => {
      throw new Error(`expected HTTP ${status} ${reason}, but the call succeeded`);
    },
    (e: unknown) => e as { status?: number; response?: { status: number; data: unknown } },
  );
  expect(err.response?.status, JSON.stringify(err.response?.data ?? String(err))).toBe(status);
  const body = err.response!.data as GoogleErrorBody;
  expect(body.error.code).toBe(status);
  expect(body.error.errors[0]!.reason).toBe(reason);
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.errors[0]!.domain).toBe('string');
  return body;
}

export interface ReceivedPush {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server that records push notifications; `status` decides what it answers. */
export async function startReceiver(status: () => number = () => 200) {
  const received: ReceivedPush[] = [];
  /** Every request, including those answered with 5xx. */
  const attempts: Array<ReceivedPush & { status: number }> = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status();
      attempts.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: code });
      if (code < 500) received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(code).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  return {
    url,
    received,
    attempts,
    /** Resolves once `n` notifications have been recorded (fails after `timeoutMs`). */
    async waitFor(n: number, timeoutMs = 3000): Promise<ReceivedPush[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} push notifications, got ${received.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return received.slice(0, n);
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const timed = (startIso: string, endIso: string): calendar_v3.Schema$Event => ({
  summary: 'Meeting',
  start: { dateTime: startIso },
  end: { dateTime: endIso },
});
