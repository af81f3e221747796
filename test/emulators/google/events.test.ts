import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectGoogleError, startHarness, timed, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.emu.close();
});

const slot = timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z');

describe('events CRUD (official client)', () => {
  it('inserts an event with a client-chosen base32hex id and returns the server fields', async () => {
    const res = await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'abc123def456' } });
    expect(res.status).toBe(200);
    const ev = res.data;
    expect(ev.id).toBe('abc123def456');
    expect(ev.kind).toBe('calendar#event');
    expect(ev.status).toBe('confirmed');
    expect(ev.etag).toMatch(/^"\d+"$/);
    expect(ev.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(ev.created).toBe(ev.updated);
    expect(ev.sequence).toBe(0);
    expect(ev.iCalUID).toBe('abc123def456@google.com');
    expect(ev.htmlLink).toMatch(/^https:\/\/www\.google\.com\/calendar\/event\?eid=/);
    expect(ev.organizer).toEqual({ email: 'alice@example.com', self: true });
    expect(ev.creator).toEqual({ email: 'alice@example.com', self: true });
    expect(ev.start).toEqual({ dateTime: '2030-01-10T10:00:00Z' });
  });

  it('generates a base32hex id when the client gives none', async () => {
    const { data } = await h.cal.events.insert({ calendarId: 'primary', requestBody: slot });
    expect(data.id).toMatch(/^[a-v0-9]{5,1024}$/);
  });

  it('rejects ids outside base32hex or shorter than 5 characters with 400 invalid', async () => {
    for (const id of ['abcw1234', 'ABCDEF12', 'ab12', 'abc-12345']) {
      await expectGoogleError(
        h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id } }),
        400,
        'invalid',
      );
    }
  });

  it('answers 409 duplicate when the id already exists, even after the event was deleted', async () => {
    await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'dup00001' } });
    const body = await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'dup00001' } }),
      409,
      'duplicate',
    );
    expect(body.error.errors[0]!.domain).toBe('global');
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'dup00001' });
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'dup00001' } }),
      409,
      'duplicate',
    );
  });

  it('gets a deleted event with status cancelled', async () => {
    await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'gone00001' } });
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'gone00001' });
    const { data } = await h.cal.events.get({ calendarId: 'primary', eventId: 'gone00001' });
    expect(data.status).toBe('cancelled');
  });

  it('answers 410 deleted for deleting an already deleted event and 404 notFound for an unknown one', async () => {
    await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'del000001' } });
    const res = await h.cal.events.delete({ calendarId: 'primary', eventId: 'del000001' });
    expect(res.status).toBe(204);
    await expectGoogleError(h.cal.events.delete({ calendarId: 'primary', eventId: 'del000001' }), 410, 'deleted');
    await expectGoogleError(h.cal.events.delete({ calendarId: 'primary', eventId: 'nope00001' }), 404, 'notFound');
    await expectGoogleError(h.cal.events.get({ calendarId: 'primary', eventId: 'nope00001' }), 404, 'notFound');
  });

  it('restores a deleted event when it is patched back to confirmed', async () => {
    await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'back00001' } });
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'back00001' });
    const { data } = await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'back00001',
      requestBody: { status: 'confirmed' },
    });
    expect(data.status).toBe('confirmed');
    const listed = await h.cal.events.list({ calendarId: 'primary' });
    expect(listed.data.items!.map((e) => e.id)).toEqual(['back00001']);
  });

  it('changes etag, updated and sequence on every write', async () => {
    const a = (await h.cal.events.insert({ calendarId: 'primary', requestBody: slot })).data;
    const b = (await h.cal.events.patch({ calendarId: 'primary', eventId: a.id!, requestBody: { summary: 'x' } })).data;
    const c = (await h.cal.events.patch({ calendarId: 'primary', eventId: a.id!, requestBody: { summary: 'y' } })).data;
    expect(new Set([a.etag, b.etag, c.etag]).size).toBe(3);
    expect(Date.parse(b.updated!)).toBeGreaterThan(Date.parse(a.updated!));
    expect(Date.parse(c.updated!)).toBeGreaterThan(Date.parse(b.updated!));
    expect([a.sequence, b.sequence, c.sequence]).toEqual([0, 1, 2]);
    expect(c.created).toBe(a.created);
  });

  it('patch merges objects, replaces arrays and removes keys set to null', async () => {
    const a = (
      await h.cal.events.insert({
        calendarId: 'primary',
        requestBody: {
          ...slot,
          location: 'Berlin',
          attendees: [{ email: 'x@example.com' }, { email: 'y@example.com' }],
          extendedProperties: { private: { a: '1', b: '2' } },
        },
      })
    ).data;
    const p = (
      await h.cal.events.patch({
        calendarId: 'primary',
        eventId: a.id!,
        requestBody: {
          attendees: [{ email: 'z@example.com' }],
          extendedProperties: { private: { b: null as unknown as string, c: '3' } },
          location: null as unknown as string,
        },
      })
    ).data;
    expect(p.attendees).toEqual([{ email: 'z@example.com' }]);
    expect(p.extendedProperties).toEqual({ private: { a: '1', c: '3' } });
    expect(p.location).toBeUndefined();
    expect(p.summary).toBe('Meeting');
  });

  it('update replaces the whole resource, dropping fields that are absent', async () => {
    const a = (
      await h.cal.events.insert({
        calendarId: 'primary',
        requestBody: { ...slot, location: 'Berlin', extendedProperties: { private: { k: 'v' } } },
      })
    ).data;
    const u = (
      await h.cal.events.update({ calendarId: 'primary', eventId: a.id!, requestBody: { ...slot, summary: 'New' } })
    ).data;
    expect(u.summary).toBe('New');
    expect(u.location).toBeUndefined();
    expect(u.extendedProperties).toBeUndefined();
    expect(u.id).toBe(a.id);
    expect(u.created).toBe(a.created);
  });

  it('answers 412 conditionNotMet when If-Match does not match the current etag on patch, update and delete', async () => {
    const a = (await h.cal.events.insert({ calendarId: 'primary', requestBody: slot })).data;
    await h.cal.events.patch({ calendarId: 'primary', eventId: a.id!, requestBody: { summary: 'changed' } });
    const stale = { headers: { 'If-Match': a.etag! } };
    const body = await expectGoogleError(
      h.cal.events.patch({ calendarId: 'primary', eventId: a.id!, requestBody: { summary: 'x' } }, stale),
      412,
      'conditionNotMet',
    );
    expect(body.error.errors[0]!.location).toBe('If-Match');
    await expectGoogleError(
      h.cal.events.update({ calendarId: 'primary', eventId: a.id!, requestBody: slot }, stale),
      412,
      'conditionNotMet',
    );
    await expectGoogleError(
      h.cal.events.delete({ calendarId: 'primary', eventId: a.id! }, stale),
      412,
      'conditionNotMet',
    );
    const current = (await h.cal.events.get({ calendarId: 'primary', eventId: a.id! })).data;
    const ok = await h.cal.events.patch(
      { calendarId: 'primary', eventId: a.id!, requestBody: { summary: 'y' } },
      { headers: { 'If-Match': current.etag! } },
    );
    expect(ok.data.summary).toBe('y');
  });

  it('requires start and end on insert with 400 required', async () => {
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'x', start: slot.start } }),
      400,
      'required',
    );
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'x', end: slot.end } }),
      400,
      'required',
    );
  });

  it('rejects mixing date and dateTime between start and end with 400 invalid', async () => {
    await expectGoogleError(
      h.cal.events.insert({
        calendarId: 'primary',
        requestBody: { start: { date: '2030-01-10' }, end: { dateTime: '2030-01-10T11:00:00Z' } },
      }),
      400,
      'invalid',
    );
  });

  it('answers 400 timeRangeEmpty when the end is before the start, and for an all-day event whose exclusive end equals its start', async () => {
    const body = await expectGoogleError(
      h.cal.events.insert({
        calendarId: 'primary',
        requestBody: timed('2030-01-10T11:00:00Z', '2030-01-10T10:00:00Z'),
      }),
      400,
      'timeRangeEmpty',
    );
    expect(body.error.errors[0]!.domain).toBe('calendar');
    await expectGoogleError(
      h.cal.events.insert({
        calendarId: 'primary',
        requestBody: { start: { date: '2030-01-10' }, end: { date: '2030-01-10' } },
      }),
      400,
      'timeRangeEmpty',
    );
    const ok = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { start: { date: '2030-01-10' }, end: { date: '2030-01-11' } },
    });
    expect(ok.data.start).toEqual({ date: '2030-01-10' });
  });

  it('requires a time zone for a dateTime without offset', async () => {
    await expectGoogleError(
      h.cal.events.insert({
        calendarId: 'primary',
        requestBody: { start: { dateTime: '2030-01-10T10:00:00' }, end: { dateTime: '2030-01-10T11:00:00' } },
      }),
      400,
      'required',
    );
    const ok = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        start: { dateTime: '2030-01-10T10:00:00', timeZone: 'Europe/Berlin' },
        end: { dateTime: '2030-01-10T11:00:00', timeZone: 'Europe/Berlin' },
      },
    });
    expect(ok.status).toBe(200);
  });

  it('enforces the documented extended property limits with 400', async () => {
    const insert = (priv: Record<string, string>) =>
      h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, extendedProperties: { private: priv } } });
    await expectGoogleError(insert({ ['k'.repeat(45)]: 'v' }), 400, 'invalid');
    await expectGoogleError(insert({ k: 'v'.repeat(1025) }), 400, 'invalid');
    const many: Record<string, string> = {};
    for (let i = 0; i < 301; i++) many[`k${i}`] = 'v';
    await expectGoogleError(insert(many), 400, 'invalid');
    const big: Record<string, string> = {};
    for (let i = 0; i < 40; i++) big[`key${i}`] = 'v'.repeat(1000);
    await expectGoogleError(insert(big), 400, 'invalid');
    const ok = await insert({ ['k'.repeat(44)]: 'v'.repeat(1024) });
    expect(ok.status).toBe(200);
  });

  it('accepts sendUpdates and records that no invitation was sent for none', async () => {
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      sendUpdates: 'none',
      requestBody: { ...slot, attendees: [{ email: 'bob@example.com' }] },
    });
    await h.cal.events.patch({
      calendarId: 'primary',
      eventId: data.id!,
      sendUpdates: 'all',
      requestBody: { summary: 'z' },
    });
    const inv = h.emu.control.stats().invitations.filter((i) => i.eventId === data.id);
    expect(inv.map((i) => [i.operation, i.sendUpdates, i.notified])).toEqual([
      ['events.insert', 'none', []],
      ['events.patch', 'all', ['bob@example.com']],
    ]);
    expect(h.emu.control.inspectEvent('alice@example.com', 'primary', data.id!).lastSendUpdates).toBe('all');
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', sendUpdates: 'bogus', requestBody: slot }),
      400,
      'invalidParameter',
    );
  });

  it('lists calendars filtered by minAccessRole and creates and gets a secondary calendar', async () => {
    h.emu.control.createCalendar('alice@example.com', { summary: 'Shared read-only' }, 'reader');
    const created = (await h.cal.calendars.insert({ requestBody: { summary: 'Pipedrive' } })).data;
    expect(created.id).toMatch(/@group\.calendar\.google\.com$/);
    expect((await h.cal.calendars.get({ calendarId: created.id! })).data.summary).toBe('Pipedrive');
    const all = (await h.cal.calendarList.list()).data.items!;
    expect(all.map((c) => c.summary).sort()).toEqual(['Pipedrive', 'Shared read-only', 'alice@example.com']);
    expect(all.find((c) => c.primary)?.id).toBe('alice@example.com');
    const writable = (await h.cal.calendarList.list({ minAccessRole: 'writer' })).data.items!;
    expect(writable.map((c) => c.summary).sort()).toEqual(['Pipedrive', 'alice@example.com']);
    await expectGoogleError(h.cal.calendars.insert({ requestBody: {} }), 400, 'required');
    await expectGoogleError(h.cal.calendars.get({ calendarId: 'nobody@example.com' }), 404, 'notFound');
  });

  it('refuses writes to a calendar the user can only read with 403 requiredAccessLevel', async () => {
    const ro = h.emu.control.createCalendar('alice@example.com', { summary: 'RO' }, 'reader');
    await expectGoogleError(h.cal.events.insert({ calendarId: ro.id, requestBody: slot }), 403, 'requiredAccessLevel');
    const list = await h.cal.events.list({ calendarId: ro.id });
    expect(list.data.accessRole).toBe('reader');
  });

  it('moves an event to another calendar under the same id, leaving a deleted copy behind', async () => {
    const target = (await h.cal.calendars.insert({ requestBody: { summary: 'Pipedrive' } })).data.id!;
    const created = (
      await h.cal.events.insert({
        calendarId: 'primary',
        requestBody: { ...slot, id: 'move12345', summary: 'Draft', extendedProperties: { private: { k: 'v' } } },
      })
    ).data;
    const ev = (
      await h.cal.events.patch({ calendarId: 'primary', eventId: created.id!, requestBody: { summary: 'Call' } })
    ).data;
    expect(ev.sequence).toBe(1);
    const { data: sourceSync } = await h.cal.events.list({ calendarId: 'primary' });

    const moved = (await h.cal.events.move({ calendarId: 'primary', eventId: ev.id!, destination: target })).data;
    expect(moved).toMatchObject({ id: ev.id, summary: 'Call', status: 'confirmed', sequence: ev.sequence! + 1 });
    expect(moved.organizer).toEqual({ email: target, displayName: 'Pipedrive', self: true });
    expect(moved.etag).not.toBe(ev.etag);
    expect((await h.cal.events.get({ calendarId: target, eventId: ev.id! })).data.etag).toBe(moved.etag);
    // The source reports the event deleted, by get and by its incremental sync.
    expect((await h.cal.events.get({ calendarId: 'primary', eventId: ev.id! })).data.status).toBe('cancelled');
    const changes = (await h.cal.events.list({ calendarId: 'primary', syncToken: sourceSync.nextSyncToken! })).data;
    expect(changes.items!.map((e) => [e.id, e.status])).toEqual([[ev.id, 'cancelled']]);

    // Moving it again from the source finds it deleted there; moving it back works.
    await expectGoogleError(
      h.cal.events.move({ calendarId: 'primary', eventId: ev.id!, destination: target }),
      410,
      'deleted',
    );
    const back = (await h.cal.events.move({ calendarId: target, eventId: ev.id!, destination: 'primary' })).data;
    expect(back).toMatchObject({
      id: ev.id,
      status: 'confirmed',
      organizer: { email: 'alice@example.com', self: true },
    });
    expect((await h.cal.events.get({ calendarId: target, eventId: ev.id! })).data.status).toBe('cancelled');
    // An event live under the same id in the destination blocks the move.
    await h.cal.events.insert({ calendarId: target, requestBody: { ...slot, id: 'taken12345' } });
    await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, id: 'taken12345' } });
    await expectGoogleError(
      h.cal.events.move({ calendarId: 'primary', eventId: 'taken12345', destination: target }),
      409,
      'duplicate',
    );
  });

  it('refuses to move an unknown event, an instance of a recurring one, or into a calendar the user cannot write', async () => {
    const ro = h.emu.control.createCalendar('alice@example.com', { summary: 'RO' }, 'reader');
    const target = (await h.cal.calendars.insert({ requestBody: { summary: 'Pipedrive' } })).data.id!;
    await expectGoogleError(
      h.cal.events.move({ calendarId: 'primary', eventId: 'unknown123', destination: target }),
      404,
      'notFound',
    );
    const ev = (await h.cal.events.insert({ calendarId: 'primary', requestBody: slot })).data;
    await expectGoogleError(
      h.cal.events.move({ calendarId: 'primary', eventId: ev.id!, destination: ro.id }),
      403,
      'requiredAccessLevel',
    );
    const series = (
      await h.cal.events.insert({
        calendarId: 'primary',
        requestBody: {
          start: { dateTime: '2030-01-07T09:00:00', timeZone: 'Europe/Berlin' },
          end: { dateTime: '2030-01-07T09:15:00', timeZone: 'Europe/Berlin' },
          recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
        },
      })
    ).data;
    const [instance] = (await h.cal.events.instances({ calendarId: 'primary', eventId: series.id! })).data.items!;
    await expectGoogleError(
      h.cal.events.move({ calendarId: 'primary', eventId: instance!.id!, destination: target }),
      400,
      'cannotChangeOrganizerOfInstance',
    );
    // Nothing moved.
    expect((await h.cal.events.list({ calendarId: target })).data.items).toEqual([]);
  });

  it('answers unknown routes with a Google-shaped 404', async () => {
    const res = await fetch(`${h.emu.url}/calendar/v3/nothing-here`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: number; errors: Array<{ reason: string }> } };
    expect(body.error.code).toBe(404);
    expect(body.error.errors[0]!.reason).toBe('notFound');
  });
});
