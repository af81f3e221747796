/**
 * Temporal payloads are encrypted end to end: what the Temporal server stores in a user's history holds no event
 * title or attendee email in clear, while the codec endpoint (for the Temporal UI and CLI) decrypts it for an
 * operator holding the admin token — and for no one else.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { calendar_v3 } from '@googleapis/calendar';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logger.js';
import { startHttpServer, type RunningHttpServer } from '../../client/http/server.js';
import { codecEndpointFromEnv } from '../../client/http/codec-endpoint.js';
import { ENCRYPTED_ENCODING, payloadFromJson, payloadToJson, type JsonPayload } from '../../lib/payload-codec.js';
import { workflowIdFor } from '../../workflows/names.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';
import { pipedriveWebhook } from '../../testing/pipedrive-webhook.js';
import { LOCAL_ACTIVITY_MARKER, localActivityMarker } from '../../testing/activity-runs.js';

/** What the SDK core writes into a local activity's marker besides the result: no user data. */
const CORE_MARKER_FIELDS = [
  'seq',
  'attempt',
  'activity_id',
  'activity_type',
  'complete_time',
  'backoff',
  'original_schedule_time',
];

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const UI_ORIGIN = 'http://localhost:8233';

let h: Harness;
let http: RunningHttpServer;
beforeAll(async () => {
  h = await startHarness();
  http = await startHttpServer({
    db: h.stack.db,
    sync: h.sync,
    secrets: h.deps.secrets,
    log: silentLogger,
    codec: { codec: h.stack.payloadCodec, namespace: 'default', adminToken: ADMIN_TOKEN, corsOrigins: [UI_ORIGIN] },
  });
});
afterAll(async () => {
  await http?.close();
  await h?.close();
});

/** Every payload in a history (as `historyToJSON` writes it), except search attributes, which Temporal indexes in clear. */
function payloadsIn(node: unknown, out: JsonPayload[] = []): JsonPayload[] {
  if (typeof node !== 'object' || node === null) return out;
  // Patch markers (`patched()`) are written by the SDK core, not through the data converter; they hold only the
  // patch id, no user data.
  if ((node as { markerName?: unknown }).markerName === 'core_patch') return out;
  // A local activity's marker (workflows/local-first.ts) holds the core's bookkeeping in `details.data` — its
  // sequence number, attempt, activity type and times, checked below to be no more — and the activity's result
  // or failure, which went through the data converter like any other.
  if ((node as { markerName?: unknown }).markerName === LOCAL_ACTIVITY_MARKER) {
    const { details, markerName: _name, ...rest } = node as { details?: Record<string, unknown>; markerName: string };
    const { data: _bookkeeping, ...results } = details ?? {};
    return payloadsIn({ ...rest, details: results }, out);
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'searchAttributes' || typeof value !== 'object' || value === null) continue;
    if ('metadata' in value && typeof (value as JsonPayload).metadata?.encoding === 'string') {
      out.push(value as JsonPayload);
    } else {
      payloadsIn(value, out);
    }
  }
  return out;
}

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

function codecRequest(op: 'decode' | 'encode', payloads: JsonPayload[], headers: Record<string, string> = {}) {
  return fetch(`${http.url}/codec/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body: JSON.stringify({ payloads }),
  });
}

describe('payload encryption', () => {
  it('stores no event title, attendee email or title template in clear in Temporal history, and the codec endpoint decodes them', async () => {
    const mark = randomUUID().replace(/-/g, '').slice(0, 12);
    const title = `Board meeting ${mark}`;
    const guest = `guest-${mark}@example.com`;
    const templateMark = `tmpl${mark}`;
    // The title template travels in a workflow update; the activity (title, attendee) in the webhook's signal.
    const user = await h.connectUser({ titleTemplate: `{subject} ${templateMark}` });
    const activity = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: title,
      type: 'meeting',
      due_date: '2026-12-03',
      due_time: '10:00',
      duration: '01:00',
      attendees: [{ email: guest }],
    });
    await h.sync.pipedriveChanged(
      user.connectionId,
      pipedriveWebhook({
        action: 'create',
        entityId: String(activity.id),
        delivery: randomUUID(),
        data: activity,
      }),
    );
    // The worker read the encrypted signal and settings: the event reached Google with both.
    const event = await eventually(async () =>
      (h.google.control.listEvents(user.email, user.calendarId) as calendar_v3.Schema$Event[]).find((e) =>
        e.summary?.includes(title),
      ),
    );
    expect(event.summary).toBe(`${title} ${templateMark}`);
    expect(event.attendees?.map((a) => a.email)).toContain(guest);
    await h.settled(user.connectionId);

    // Read the history raw, with a client that has no codec, as anyone with access to Temporal would.
    const raw = new Client({ connection: h.stack.client.connection, namespace: 'default' });
    const history = await raw.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    for (const secret of [title, mark, guest, templateMark]) expect(bytes.includes(secret)).toBe(false);

    const payloads = payloadsIn(JSON.parse(historyToJSON(history)));
    expect(payloads.length).toBeGreaterThan(3);
    const markers = (history.events ?? []).flatMap((e) => localActivityMarker(e) ?? []);
    expect(markers.length, 'the sync ran as a local step').toBeGreaterThan(0);
    for (const { failed: _failed, ...bookkeeping } of markers)
      expect(
        Object.keys(bookkeeping).every((k) => CORE_MARKER_FIELDS.includes(k)),
        Object.keys(bookkeeping).join(),
      ).toBe(true);
    for (const p of payloads) expect(b64(p.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);

    // An operator with the admin token reads them through the codec endpoint (what the Temporal UI calls).
    const res = await codecRequest('decode', payloads, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
    expect(decoded).toHaveLength(payloads.length);
    expect(decoded.every((p) => b64(p.metadata!.encoding) !== ENCRYPTED_ENCODING)).toBe(true);
    const clear = decoded.map((p) => b64(p.data)).join('\n');
    expect(clear).toContain(title);
    expect(clear).toContain(guest);
    expect(clear).toContain(templateMark);
  });

  it('keeps failure messages out of history in clear too: a retried attempt’s failure is readable only through the codec', async () => {
    const user = await h.connectUser();
    // The first write attempt fails after Google created the event; its retry succeeds and history keeps the
    // failed attempt's error as the activity's `lastFailure`.
    h.crashAt('after-google-insert');
    const activity = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: `Retried ${randomUUID()}`,
      type: 'meeting',
      due_date: '2026-12-04',
      due_time: '10:00',
      duration: '00:30',
    });
    await h.sync.pipedriveChanged(
      user.connectionId,
      pipedriveWebhook({
        action: 'create',
        entityId: String(activity.id),
        delivery: randomUUID(),
        data: activity,
      }),
    );
    await eventually(async () =>
      h.google.control.listEvents(user.email, user.calendarId).length === 1 ? true : undefined,
    );
    await h.settled(user.connectionId);

    const raw = new Client({ connection: h.stack.client.connection, namespace: 'default' });
    const history = await raw.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
    expect(Buffer.from(temporal.api.history.v1.History.encode(history).finish()).includes('simulated crash')).toBe(
      false,
    );
    // The crashed attempt was the local one (workflows/local-first.ts): its failure is in its marker, and the
    // regular activity after it succeeded; a regular attempt's failure would be the next one's `lastFailure`.
    const failures = (history.events ?? []).flatMap(
      (e) => e.activityTaskStartedEventAttributes?.lastFailure ?? e.markerRecordedEventAttributes?.failure ?? [],
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toBe('Encoded failure');
    const [attributes] = payloadsIn(JSON.parse(historyToJSON(history)).events).filter((p) =>
      failures.some(
        (f) => f.encodedAttributes?.data && Buffer.from(f.encodedAttributes.data).toString('base64') === p.data,
      ),
    );
    expect(b64(attributes!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);

    const res = await codecRequest('decode', [attributes!], { authorization: `Bearer ${ADMIN_TOKEN}` });
    const [decoded] = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
    expect(JSON.parse(b64(decoded!.data))).toMatchObject({ message: 'simulated crash at after-google-insert' });
  });

  it('encodes through the endpoint what the worker can decode back, so an operator can also send data from the UI', async () => {
    const value = { note: `from the UI ${randomUUID()}` };
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const plain: JsonPayload = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify(value)).toString('base64'),
    };
    const encoded = ((await (await codecRequest('encode', [plain], auth)).json()) as { payloads: JsonPayload[] })
      .payloads;
    expect(b64(encoded[0]!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(b64(encoded[0]!.data)).not.toContain(value.note);
    const [back] = await h.stack.payloadCodec.decode([payloadFromJson(encoded[0]!)]);
    expect(JSON.parse(Buffer.from(back!.data!).toString())).toEqual(value);
  });

  it('refuses to decode without the admin token (401) or with a wrong one (403), even from the UI origin', async () => {
    const [secret] = await h.stack.payloadCodec.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"secret"') },
    ]);
    const payload = payloadToJson(secret!);

    const missing = await codecRequest('decode', [payload], { origin: UI_ORIGIN });
    expect(missing.status).toBe(401);
    expect(await missing.text()).not.toContain(Buffer.from('"secret"').toString('base64'));
    // The browser still gets CORS headers, so the UI can show the error rather than a network failure.
    expect(missing.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);

    const wrong = await codecRequest('decode', [payload], { authorization: `Bearer ${ADMIN_TOKEN}x` });
    expect(wrong.status).toBe(403);
    const notBearer = await codecRequest('decode', [payload], { authorization: ADMIN_TOKEN });
    expect(notBearer.status).toBe(401);
    const otherNamespace = await codecRequest('decode', [payload], {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'x-namespace': 'someone-else',
    });
    expect(otherNamespace.status).toBe(403);

    const ok = await codecRequest('decode', [payload], { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { payloads: JsonPayload[] }).payloads[0]!.data).toBe(
      Buffer.from('"secret"').toString('base64'),
    );
  });

  it("answers the Temporal UI's CORS preflight for its origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${http.url}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ui = await preflight(UI_ORIGIN);
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ui.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-namespace');
    expect(ui.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');

    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('decrypts nothing for a request that only claims to come from the UI (forged Origin), but does for a signed-in operator', async () => {
    expect(() =>
      codecEndpointFromEnv(h.stack.payloadCodec, 'default', { CODEC_ALLOW_UNAUTHENTICATED_ORIGIN: UI_ORIGIN }),
    ).toThrow(/no longer supported/);

    const [secret] = await h.stack.payloadCodec.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"sandbox"') },
    ]);
    const body = JSON.stringify({ payloads: [payloadToJson(secret!)] });
    const post = (headers: Record<string, string>) =>
      fetch(`${http.url}/codec/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    for (const origin of [UI_ORIGIN, 'http://localhost:9999', 'http://127.0.0.1:8233']) {
      const forged = await post({ origin, referer: `${origin}/namespaces/default/workflows` });
      expect(forged.status, origin).toBe(401);
      expect(await forged.text(), origin).not.toContain('sandbox');
    }
    // A forged cookie of the right name decrypts nothing either.
    expect((await post({ origin: UI_ORIGIN, cookie: `cs_codec=${Date.now() + 1e6}.x` })).status).toBe(401);

    // The operator signs in once with the admin token; the UI then sends the cookie (credentials: include).
    const wrong = await fetch(`${http.url}/codec/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: `${ADMIN_TOKEN}x` }),
    });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const signIn = await fetch(`${http.url}/codec/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const fromUi = await post({ origin: UI_ORIGIN, cookie: cookie.split(';')[0]! });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(fromUi.headers.get('access-control-allow-credentials')).toBe('true');
    expect(b64(((await fromUi.json()) as { payloads: JsonPayload[] }).payloads[0]!.data)).toBe('"sandbox"');
  });
});
