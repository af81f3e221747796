import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { calendar_v3 } from '@googleapis/calendar';
import { expectGoogleError, startHarness, timed, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.emu.close();
});

async function insertN(n: number, day = 10): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const hh = String(i % 24).padStart(2, '0');
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: timed(`2030-01-${day}T${hh}:00:00Z`, `2030-01-${day}T${hh}:30:00Z`),
    });
    ids.push(data.id!);
  }
  return ids;
}

/** Pages through a listing with the official client; returns items and the final sync token. */
async function listAll(params: calendar_v3.Params$Resource$Events$List) {
  const items: calendar_v3.Schema$Event[] = [];
  const pages: calendar_v3.Schema$Events[] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await h.cal.events.list({ calendarId: 'primary', ...params, ...(pageToken ? { pageToken } : {}) });
    pages.push(data);
    items.push(...(data.items ?? []));
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  return { items, pages, nextSyncToken: pages.at(-1)!.nextSyncToken! };
}

describe('events.list, paging and incremental sync', () => {
  it('pages with maxResults and gives nextSyncToken only on the last page', async () => {
    const ids = await insertN(5);
    const { items, pages, nextSyncToken } = await listAll({ maxResults: 2 });
    expect(pages.length).toBe(3);
    expect(pages.slice(0, 2).every((p) => p.nextPageToken && !p.nextSyncToken)).toBe(true);
    expect(pages[2]!.nextPageToken).toBeFalsy();
    expect(nextSyncToken).toBeTruthy();
    expect(items.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(pages[0]!.kind).toBe('calendar#events');
    expect(pages[0]!.timeZone).toBe('UTC');
  });

  it('defaults to 250 results per page and caps maxResults at 2500', async () => {
    const ids = await insertN(3);
    const first = await h.cal.events.list({ calendarId: 'primary' });
    expect(first.data.items!.length).toBe(ids.length);
    const capped = await h.cal.events.list({ calendarId: 'primary', maxResults: 10_000 });
    expect(capped.data.items!.length).toBe(ids.length);
    await expectGoogleError(h.cal.events.list({ calendarId: 'primary', maxResults: 0 }), 400, 'invalid');
  });

  it('returns only changes since the sync token, with deletions as cancelled even without showDeleted', async () => {
    const [a, b, c] = await insertN(3);
    const { nextSyncToken } = await listAll({});
    await h.cal.events.patch({ calendarId: 'primary', eventId: a!, requestBody: { summary: 'changed' } });
    await h.cal.events.delete({ calendarId: 'primary', eventId: b! });
    const d = (
      await h.cal.events.insert({
        calendarId: 'primary',
        requestBody: timed('2030-02-01T10:00:00Z', '2030-02-01T11:00:00Z'),
      })
    ).data.id!;
    const inc = await listAll({ syncToken: nextSyncToken });
    const byId = new Map(inc.items.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual([a, b, d].sort());
    expect(byId.get(a!)!.summary).toBe('changed');
    expect(byId.get(b!)!.status).toBe('cancelled');
    expect(byId.has(c!)).toBe(false);
    // Nothing changed since: empty result with a fresh token.
    const again = await listAll({ syncToken: inc.nextSyncToken });
    expect(again.items).toEqual([]);
  });

  it('pages incremental results and still returns the sync token only at the end', async () => {
    const { nextSyncToken } = await listAll({});
    const ids = await insertN(5);
    const inc = await listAll({ syncToken: nextSyncToken, maxResults: 2 });
    expect(inc.pages.length).toBe(3);
    expect(inc.items.map((e) => e.id).sort()).toEqual([...ids].sort());
  });

  it('covers changes made while paging in the next incremental sync', async () => {
    await insertN(4);
    const p1 = await h.cal.events.list({ calendarId: 'primary', maxResults: 2 });
    const late = (
      await h.cal.events.insert({
        calendarId: 'primary',
        requestBody: timed('2030-03-01T10:00:00Z', '2030-03-01T11:00:00Z'),
      })
    ).data.id!;
    const p2 = await h.cal.events.list({ calendarId: 'primary', maxResults: 2, pageToken: p1.data.nextPageToken! });
    let token = p2.data.nextSyncToken;
    let pageToken = p2.data.nextPageToken;
    while (pageToken) {
      const p = await h.cal.events.list({ calendarId: 'primary', maxResults: 2, pageToken });
      token = p.data.nextSyncToken;
      pageToken = p.data.nextPageToken;
    }
    const inc = await listAll({ syncToken: token! });
    expect(inc.items.map((e) => e.id)).toContain(late);
  });

  it('answers 410 fullSyncRequired for an invalidated sync token', async () => {
    await insertN(1);
    const { nextSyncToken } = await listAll({});
    h.emu.control.invalidateSyncTokens('alice@example.com');
    const body = await expectGoogleError(
      h.cal.events.list({ calendarId: 'primary', syncToken: nextSyncToken }),
      410,
      'fullSyncRequired',
    );
    expect(body.error.errors[0]!.domain).toBe('global');
    // A full sync gives a working token again.
    const fresh = await listAll({});
    expect((await h.cal.events.list({ calendarId: 'primary', syncToken: fresh.nextSyncToken })).status).toBe(200);
  });

  it('answers 400 for a sync token that is not one the emulator issued', async () => {
    await expectGoogleError(h.cal.events.list({ calendarId: 'primary', syncToken: 'not-a-token' }), 400, 'invalid');
  });

  it('answers 410 for a sync token of another calendar', async () => {
    const other = (await h.cal.calendars.insert({ requestBody: { summary: 'Other' } })).data.id!;
    const { nextSyncToken } = await listAll({});
    await expectGoogleError(
      h.cal.events.list({ calendarId: other, syncToken: nextSyncToken }),
      410,
      'fullSyncRequired',
    );
  });

  it('rejects every forbidden parameter combined with syncToken with 400', async () => {
    const { nextSyncToken } = await listAll({});
    const forbidden: calendar_v3.Params$Resource$Events$List[] = [
      { timeMin: '2030-01-01T00:00:00Z' },
      { timeMax: '2030-01-01T00:00:00Z' },
      { q: 'x' },
      { orderBy: 'updated' },
      { updatedMin: '2030-01-01T00:00:00Z' },
      { iCalUID: 'x@google.com' },
      { privateExtendedProperty: ['a=b'] },
      { sharedExtendedProperty: ['a=b'] },
    ];
    for (const extra of forbidden) {
      const body = await expectGoogleError(
        h.cal.events.list({ calendarId: 'primary', syncToken: nextSyncToken, ...extra }),
        400,
        'invalid',
      );
      expect(body.error.errors[0]!.location).toBe(Object.keys(extra)[0]);
    }
  });

  it('filters by timeMin (against end) and timeMax (against start)', async () => {
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { ...timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z'), id: 'first00001' },
    });
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { ...timed('2030-01-12T10:00:00Z', '2030-01-12T11:00:00Z'), id: 'late000001' },
    });
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { start: { date: '2030-01-11' }, end: { date: '2030-01-12' }, id: 'fulldate01' },
    });
    const ids = async (p: calendar_v3.Params$Resource$Events$List) =>
      ((await h.cal.events.list({ calendarId: 'primary', ...p })).data.items ?? []).map((e) => e.id).sort();
    expect(await ids({ timeMin: '2030-01-10T10:30:00Z' })).toEqual(['first00001', 'fulldate01', 'late000001']);
    expect(await ids({ timeMin: '2030-01-10T11:00:00Z' })).toEqual(['fulldate01', 'late000001']);
    expect(await ids({ timeMax: '2030-01-11T00:00:00Z' })).toEqual(['first00001']);
    // The all-day end date is exclusive: it does not reach into the 12th.
    expect(await ids({ timeMin: '2030-01-12T00:00:00Z' })).toEqual(['late000001']);
    await expectGoogleError(
      h.cal.events.list({ calendarId: 'primary', timeMin: '2030-01-12T00:00:00Z', timeMax: '2030-01-11T00:00:00Z' }),
      400,
      'timeRangeEmpty',
    );
  });

  it('hides deleted events from full lists unless showDeleted is set', async () => {
    const [a, b] = await insertN(2);
    await h.cal.events.delete({ calendarId: 'primary', eventId: a! });
    const plain = await listAll({});
    expect(plain.items.map((e) => e.id)).toEqual([b]);
    const withDeleted = await listAll({ showDeleted: true });
    expect(withDeleted.items.find((e) => e.id === a)?.status).toBe('cancelled');
  });

  it('filters by privateExtendedProperty key=value', async () => {
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        ...timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z'),
        id: 'linked0001',
        extendedProperties: { private: { activityId: '42', conn: 'c1' } },
      },
    });
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        ...timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z'),
        id: 'linked0002',
        extendedProperties: { private: { activityId: '43' } },
      },
    });
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        ...timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z'),
        id: 'shared0001',
        extendedProperties: { shared: { activityId: '42' } },
      },
    });
    const r = await h.cal.events.list({ calendarId: 'primary', privateExtendedProperty: ['activityId=42'] });
    expect(r.data.items!.map((e) => e.id)).toEqual(['linked0001']);
    const both = await h.cal.events.list({
      calendarId: 'primary',
      privateExtendedProperty: ['activityId=42', 'conn=c1'],
    });
    expect(both.data.items!.map((e) => e.id)).toEqual(['linked0001']);
    const none = await h.cal.events.list({
      calendarId: 'primary',
      privateExtendedProperty: ['activityId=42', 'conn=c2'],
    });
    expect(none.data.items).toEqual([]);
  });

  it('expands recurring events into instances with singleEvents, with instance ids and recurringEventId', async () => {
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        id: 'standup001',
        summary: 'Standup',
        start: { dateTime: '2030-01-07T09:00:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2030-01-07T09:15:00', timeZone: 'Europe/Berlin' },
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
      },
    });
    const master = await h.cal.events.list({ calendarId: 'primary' });
    expect(master.data.items!.map((e) => e.id)).toEqual(['standup001']);
    const single = await h.cal.events.list({ calendarId: 'primary', singleEvents: true, orderBy: 'startTime' });
    const items = single.data.items!;
    expect(items.map((e) => e.id)).toEqual([
      'standup001_20300107T080000Z',
      'standup001_20300114T080000Z',
      'standup001_20300121T080000Z',
    ]);
    expect(items.every((e) => e.recurringEventId === 'standup001' && e.recurrence === undefined)).toBe(true);
    expect(items[1]!.originalStartTime).toEqual({ dateTime: '2030-01-14T09:00:00+01:00', timeZone: 'Europe/Berlin' });
    expect(items[1]!.start).toEqual({ dateTime: '2030-01-14T09:00:00+01:00', timeZone: 'Europe/Berlin' });
    const windowed = await h.cal.events.list({
      calendarId: 'primary',
      singleEvents: true,
      timeMin: '2030-01-10T00:00:00Z',
      timeMax: '2030-01-20T00:00:00Z',
    });
    expect(windowed.data.items!.map((e) => e.id)).toEqual(['standup001_20300114T080000Z']);
    await expectGoogleError(h.cal.events.list({ calendarId: 'primary', orderBy: 'startTime' }), 400, 'invalid');
  });

  it('keeps a recurring wall-clock time across a DST change', async () => {
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        id: 'dstrule001',
        start: { dateTime: '2030-03-25T09:00:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2030-03-25T10:00:00', timeZone: 'Europe/Berlin' },
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=2'],
      },
    });
    const items = (await h.cal.events.list({ calendarId: 'primary', singleEvents: true })).data.items!;
    // Berlin moves to CEST on 2030-03-31: 09:00 local is 08:00Z before and 07:00Z after.
    expect(items.map((e) => e.id)).toEqual(['dstrule001_20300325T080000Z', 'dstrule001_20300401T070000Z']);
  });

  it('modifies and deletes single instances as exceptions of the recurring event', async () => {
    await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        id: 'repeat0001',
        start: { date: '2030-01-01' },
        end: { date: '2030-01-02' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
      },
    });
    const inst = (await h.cal.events.get({ calendarId: 'primary', eventId: 'repeat0001_20300102' })).data;
    expect(inst.recurringEventId).toBe('repeat0001');
    const { nextSyncToken } = await listAll({ singleEvents: true });
    await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'repeat0001_20300102',
      requestBody: { summary: 'moved' },
    });
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'repeat0001_20300103' });
    const items = (await h.cal.events.list({ calendarId: 'primary', singleEvents: true })).data.items!;
    expect(items.map((e) => [e.id, e.summary ?? null])).toEqual([
      ['repeat0001_20300101', null],
      ['repeat0001_20300102', 'moved'],
    ]);
    const inst2 = await h.cal.events.instances({ calendarId: 'primary', eventId: 'repeat0001' });
    expect(inst2.data.items!.map((e) => [e.id, e.summary ?? null])).toEqual([
      ['repeat0001_20300101', null],
      ['repeat0001_20300102', 'moved'],
    ]);
    const inc = await listAll({ syncToken: nextSyncToken, singleEvents: true });
    expect(inc.items.map((e) => [e.id, e.status]).sort()).toEqual([
      ['repeat0001_20300102', 'confirmed'],
      ['repeat0001_20300103', 'cancelled'],
    ]);
  });
});
