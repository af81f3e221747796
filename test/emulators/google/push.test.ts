import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlowReceiver } from '../slow-receiver.js';
import { expectGoogleError, sleep, startHarness, startReceiver, timed, type Harness } from './harness.js';

let h: Harness;
let rx: Awaited<ReturnType<typeof startReceiver>>;
beforeEach(async () => {
  h = await startHarness({ pushRetryDelaysMs: [30, 30], allowInsecurePushAddresses: true });
  rx = await startReceiver();
});
afterEach(async () => {
  await h.emu.close();
  await rx.close();
});

const slot = timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z');
const watch = (id: string, extra: Record<string, unknown> = {}, calendarId = 'primary') =>
  h.cal.events.watch({
    calendarId,
    requestBody: { id, type: 'web_hook', address: rx.url, token: 'secret-token', ...extra },
  });

describe('push notifications (events.watch, channels.stop)', () => {
  it('returns an api#channel with resourceId, resourceUri, token and an expiration in ms since epoch', async () => {
    const before = Date.now();
    const { data } = await watch('chan-1', { params: { ttl: '3600' } });
    expect(data.kind).toBe('api#channel');
    expect(data.id).toBe('chan-1');
    expect(data.token).toBe('secret-token');
    expect(data.resourceId).toMatch(/^[\w-]+$/);
    expect(data.resourceUri).toBe(`${h.emu.url}/calendar/v3/calendars/primary/events?alt=json`);
    expect(typeof data.expiration).toBe('string');
    const exp = Number(data.expiration);
    expect(exp).toBeGreaterThanOrEqual(before + 3600_000);
    expect(exp).toBeLessThan(Date.now() + 3600_000 + 1000);
  });

  it('uses a 7-day channel lifetime when no ttl is given', async () => {
    const { data } = await watch('chan-default');
    expect(Number(data.expiration) - Date.now()).toBeGreaterThan(604_800_000 - 5_000);
  });

  it('sends sync right after watch, then exists on every change, as empty POSTs with X-Goog headers and increasing message numbers', async () => {
    const { data: ch } = await watch('chan-2');
    const [sync] = await rx.waitFor(1);
    expect(sync!.headers['x-goog-resource-state']).toBe('sync');
    await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    await rx.waitFor(2);
    const { data: ev } = await h.cal.events.list({ calendarId: 'primary' });
    await h.cal.events.patch({ calendarId: 'primary', eventId: ev.items![0]!.id!, requestBody: { summary: 'x' } });
    const all = await rx.waitFor(3);
    expect(all.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync', 'exists', 'exists']);
    const numbers = all.map((r) => Number(r.headers['x-goog-message-number']));
    expect(numbers[0]).toBeGreaterThanOrEqual(1);
    expect(numbers[1]).toBeGreaterThan(numbers[0]!);
    expect(numbers[2]).toBeGreaterThan(numbers[1]!);
    for (const r of all) {
      expect(r.body).toBe('');
      expect(r.headers['x-goog-channel-id']).toBe('chan-2');
      expect(r.headers['x-goog-channel-token']).toBe('secret-token');
      expect(r.headers['x-goog-resource-id']).toBe(ch.resourceId);
      expect(r.headers['x-goog-resource-uri']).toBe(ch.resourceUri);
      expect(new Date(r.headers['x-goog-channel-expiration'] as string).getTime()).toBe(
        Math.floor(Number(ch.expiration) / 1000) * 1000,
      );
      expect(r.headers['x-goog-channel-expiration']).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    }
  });

  it('omits X-Goog-Channel-Token when the channel has no token', async () => {
    await h.cal.events.watch({
      calendarId: 'primary',
      requestBody: { id: 'no-token', type: 'web_hook', address: rx.url },
    });
    const [sync] = await rx.waitFor(1);
    expect(sync!.headers['x-goog-channel-id']).toBe('no-token');
    expect('x-goog-channel-token' in sync!.headers).toBe(false);
  });

  it('notifies for edits seeded through the control API exactly like API writes, bumping etag, updated and sequence', async () => {
    await watch('chan-3');
    await rx.waitFor(1);
    const seeded = h.emu.control.upsertEvent('alice@example.com', 'primary', {
      ...slot,
      id: 'seeded0001',
      summary: 'from UI',
    });
    await rx.waitFor(2);
    await sleep(2);
    const edited = h.emu.control.upsertEvent('alice@example.com', 'primary', {
      id: 'seeded0001',
      summary: 'edited in UI',
    });
    expect(edited.etag).not.toBe(seeded.etag);
    expect(edited.sequence).toBe(seeded.sequence + 1);
    expect(Date.parse(edited.updated)).toBeGreaterThan(Date.parse(seeded.updated));
    expect(edited.start).toEqual(slot.start);
    h.emu.control.deleteEvent('alice@example.com', 'primary', 'seeded0001');
    const all = await rx.waitFor(4);
    expect(all.slice(1).map((r) => r.headers['x-goog-resource-state'])).toEqual(['exists', 'exists', 'exists']);
    const got = await h.cal.events.get({ calendarId: 'primary', eventId: 'seeded0001' });
    expect(got.data.status).toBe('cancelled');
  });

  it('stops delivering after channels.stop and answers 404 for an unknown channel', async () => {
    const { data: ch } = await watch('chan-4');
    await rx.waitFor(1);
    const res = await h.cal.channels.stop({ requestBody: { id: ch.id!, resourceId: ch.resourceId! } });
    expect(res.status).toBe(204);
    await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    await sleep(150);
    expect(rx.received.length).toBe(1);
    await expectGoogleError(
      h.cal.channels.stop({ requestBody: { id: 'never-created', resourceId: ch.resourceId! } }),
      404,
      'notFound',
    );
  });

  it('stops delivering once the channel has expired', async () => {
    await watch('chan-5', { params: { ttl: '1' } });
    await rx.waitFor(1);
    await sleep(1100);
    await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    await sleep(150);
    expect(rx.received.length).toBe(1);
  });

  it('only notifies channels watching the calendar that changed', async () => {
    const other = (await h.cal.calendars.insert({ requestBody: { summary: 'Other' } })).data.id!;
    await watch('chan-other', {}, other);
    await rx.waitFor(1);
    await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    await sleep(150);
    expect(rx.received.length).toBe(1);
    await h.cal.events.insert({ calendarId: other, requestBody: slot });
    const all = await rx.waitFor(2);
    expect(all[1]!.headers['x-goog-resource-state']).toBe('exists');
  });

  it('rejects a channel id that is already in use with 400 channelIdNotUnique', async () => {
    await watch('chan-dup');
    await expectGoogleError(watch('chan-dup'), 400, 'channelIdNotUnique');
  });

  it('retries a delivery answered with 5xx, keeping its message number', async () => {
    await rx.close();
    let calls = 0;
    rx = await startReceiver(() => (++calls === 1 ? 503 : 200));
    await watch('chan-retry');
    const [got] = await rx.waitFor(1);
    expect(calls).toBe(2);
    expect(got!.headers['x-goog-resource-state']).toBe('sync');
    expect(rx.attempts.map((a) => [a.status, a.headers['x-goog-message-number']])).toEqual([
      [503, got!.headers['x-goog-message-number']],
      [200, got!.headers['x-goog-message-number']],
    ]);
    await sleep(30);
    const stats = h.emu.control.stats().push;
    expect(stats.retried).toBe(1);
    expect(stats.sent).toBe(1);
  });

  it('does not retry a failed delivery once its channel has been stopped', async () => {
    await rx.close();
    rx = await startReceiver(() => 503);
    const { data: ch } = await watch('chan-stop-retry');
    while (rx.attempts.length < 1) await sleep(5);
    await h.cal.channels.stop({ requestBody: { id: ch.id!, resourceId: ch.resourceId! } });
    await sleep(150);
    expect(rx.attempts.length).toBe(1);
    expect(h.emu.control.stats().push.skippedInactive).toBe(1);
  });

  it('gives up after the configured retries when the receiver keeps failing', async () => {
    await rx.close();
    let calls = 0;
    rx = await startReceiver(() => (++calls, 500));
    await watch('chan-fail');
    await sleep(250);
    expect(calls).toBe(3);
    expect(h.emu.control.stats().push.failed).toBe(1);
  });

  it('drops or duplicates deliveries as the fault configuration says', async () => {
    h.emu.control.setFaults({ delivery: { dropRate: 1 } });
    await watch('chan-drop');
    await sleep(150);
    expect(rx.received.length).toBe(0);
    expect(h.emu.control.stats().push.dropped).toBe(1);
    h.emu.control.setFaults({ delivery: { duplicateRate: 1 } });
    await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    const two = await rx.waitFor(2);
    expect(two.map((r) => r.headers['x-goog-message-number'])).toEqual([
      two[0]!.headers['x-goog-message-number'],
      two[0]!.headers['x-goog-message-number'],
    ]);
    expect(two[0]!.headers['x-goog-resource-state']).toBe('exists');
  });

  it('holds at most 16 notifications per channel in flight and queues the rest', async () => {
    const slow = await startSlowReceiver(300);
    try {
      await h.cal.events.watch({
        calendarId: 'primary',
        requestBody: { id: 'chan-burst', type: 'web_hook', address: slow.url },
      });
      await Promise.all(
        Array.from({ length: 40 }, () => h.cal.events.insert({ calendarId: 'primary', requestBody: slot })),
      );
      // The sync message and one exists per insert.
      await slow.answered(41);
      expect(slow.stats.maxOpen).toBe(16);
      expect(h.emu.control.stats().push).toMatchObject({ sent: 41, failed: 0 });
    } finally {
      await slow.close();
    }
  });

  it('never blocks the API write on a receiver that does not answer', async () => {
    const hanging = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    try {
      const address = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
      await h.cal.events.watch({ calendarId: 'primary', requestBody: { id: 'chan-hang', type: 'web_hook', address } });
      const write = h.cal.events.insert({ calendarId: 'primary', requestBody: slot }).then(() => 'done');
      const winner = await Promise.race([write, sleep(1000).then(() => 'timeout')]);
      expect(winner).toBe('done');
    } finally {
      await h.emu.close();
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
    }
  });
});
