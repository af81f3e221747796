/**
 * Conformance of behaviours the Calendar API documents and that real calendars are full of: invitations
 * (attendee copies of someone else's event), the deletion of a whole recurring series as seen with
 * `singleEvents`, full replacement by `events.update` against `events.patch`, HTTPS-only push addresses and
 * calendar-list paging. All through the official client.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGoogleEmulator } from '../../../emulators/google/index.js';
import { calendarClient, expectGoogleError, oauthClient, startHarness, timed, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.emu.close();
});

const slot = timed('2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z');
const ORGANIZER = { email: 'boss@other.example', displayName: 'The Boss' };

function invite(id = 'invite0001', responseStatus: 'accepted' | 'needsAction' = 'accepted') {
  return h.emu.control.createInvitation(h.user.email, 'primary', {
    id,
    ...slot,
    summary: 'Quarterly review',
    location: 'Room 4',
    attendees: [{ email: 'carol@other.example' }],
    organizer: ORGANIZER,
    responseStatus,
  });
}

describe('invitations: the attendee copy of an event organized by someone else', () => {
  it('appears on the user calendar with the other organizer and the user as a self attendee', async () => {
    invite();
    const { data } = await h.cal.events.get({ calendarId: 'primary', eventId: 'invite0001' });
    expect(data.organizer?.email).toBe(ORGANIZER.email);
    expect(data.organizer?.self ?? false).toBe(false);
    expect(data.creator?.email).toBe(ORGANIZER.email);
    const me = data.attendees!.find((a) => a.self);
    expect(me).toMatchObject({ email: h.user.email, responseStatus: 'accepted' });
    expect(data.attendees!.find((a) => a.organizer)).toMatchObject({ email: ORGANIZER.email });
    const listed = (await h.cal.events.list({ calendarId: 'primary' })).data.items!;
    expect(listed.map((e) => e.id)).toEqual(['invite0001']);
  });

  it('answers 403 forbiddenForNonOrganizer when the attendee changes the organizer fields, by patch or update', async () => {
    invite();
    const body = await expectGoogleError(
      h.cal.events.patch({ calendarId: 'primary', eventId: 'invite0001', requestBody: { summary: 'Mine now' } }),
      403,
      'forbiddenForNonOrganizer',
    );
    expect(body.error.errors[0]!.domain).toBe('calendar');
    await expectGoogleError(
      h.cal.events.patch({
        calendarId: 'primary',
        eventId: 'invite0001',
        requestBody: { extendedProperties: { shared: { k: 'v' } } },
      }),
      403,
      'forbiddenForNonOrganizer',
    );
    const { data: current } = await h.cal.events.get({ calendarId: 'primary', eventId: 'invite0001' });
    await expectGoogleError(
      h.cal.events.update({
        calendarId: 'primary',
        eventId: 'invite0001',
        requestBody: { ...current, start: { dateTime: '2030-01-10T12:00:00Z' }, end: current.end },
      }),
      403,
      'forbiddenForNonOrganizer',
    );
    // Nothing was written.
    const { data: after } = await h.cal.events.get({ calendarId: 'primary', eventId: 'invite0001' });
    expect(after.etag).toBe(current.etag);
    expect(after.summary).toBe('Quarterly review');
  });

  it('lets the attendee change reminders, colour, transparency, private properties and their own response', async () => {
    invite('invite0002', 'needsAction');
    const { data: current } = await h.cal.events.get({ calendarId: 'primary', eventId: 'invite0002' });
    const attendees = current.attendees!.map((a) => (a.self ? { ...a, responseStatus: 'accepted' } : a));
    const { data } = await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'invite0002',
      requestBody: {
        colorId: '5',
        reminders: { useDefault: false, overrides: [{ method: 'popup', minutes: 5 }] },
        transparency: 'transparent',
        extendedProperties: { private: { mine: 'yes' } },
        attendees,
      },
    });
    expect(data.colorId).toBe('5');
    expect(data.transparency).toBe('transparent');
    expect(data.extendedProperties?.private).toEqual({ mine: 'yes' });
    expect(data.attendees!.find((a) => a.self)?.responseStatus).toBe('accepted');
    // A full update that repeats the organizer's fields unchanged is fine too.
    const { data: updated } = await h.cal.events.update({
      calendarId: 'primary',
      eventId: 'invite0002',
      requestBody: { ...data, colorId: '7' },
    });
    expect(updated.colorId).toBe('7');
    // Changing another attendee's answer is not the user's to do.
    await expectGoogleError(
      h.cal.events.patch({
        calendarId: 'primary',
        eventId: 'invite0002',
        requestBody: {
          attendees: updated.attendees!.map((a) => (a.email === 'carol@other.example' ? { ...a, optional: true } : a)),
        },
      }),
      403,
      'forbiddenForNonOrganizer',
    );
  });

  it('refuses to move an attendee copy to another calendar, and lets the attendee remove it', async () => {
    invite();
    const other = h.emu.control.createCalendar(h.user.email, { summary: 'Work' });
    await expectGoogleError(
      h.cal.events.move({ calendarId: 'primary', eventId: 'invite0001', destination: other.id }),
      403,
      'forbiddenForNonOrganizer',
    );
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'invite0001' });
    const { data } = await h.cal.events.get({ calendarId: 'primary', eventId: 'invite0001' });
    expect(data.status).toBe('cancelled');
  });

  it('follows the organizer: control edits of the invitation are allowed and versioned', async () => {
    const first = invite();
    const edited = h.emu.control.upsertEvent(h.user.email, 'primary', { id: 'invite0001', summary: 'Moved agenda' });
    expect(edited.summary).toBe('Moved agenda');
    expect(edited.etag).not.toBe(first.etag);
    expect((edited.organizer as { email: string }).email).toBe(ORGANIZER.email);
  });
});

describe('deleting a whole recurring series, seen with singleEvents', () => {
  const series = () =>
    h.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        id: 'series0001',
        summary: 'Standup',
        start: { dateTime: '2030-01-07T09:00:00Z', timeZone: 'UTC' },
        end: { dateTime: '2030-01-07T09:15:00Z', timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
      },
    });

  it('returns the cancelled instances, not the cancelled master, with singleEvents and showDeleted', async () => {
    await series();
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'series0001' });
    const { data } = await h.cal.events.list({ calendarId: 'primary', singleEvents: true, showDeleted: true });
    expect(data.items!.map((e) => [e.id, e.status, e.recurringEventId])).toEqual([
      ['series0001_20300107T090000Z', 'cancelled', 'series0001'],
      ['series0001_20300108T090000Z', 'cancelled', 'series0001'],
      ['series0001_20300109T090000Z', 'cancelled', 'series0001'],
    ]);
    // Without singleEvents the master itself is the deleted entry.
    const masters = (await h.cal.events.list({ calendarId: 'primary', showDeleted: true })).data.items!;
    expect(masters.map((e) => [e.id, e.status])).toEqual([['series0001', 'cancelled']]);
  });

  it('reports the cancelled instances (and a modified one) in the incremental result after the series is deleted', async () => {
    await series();
    await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'series0001_20300108T090000Z',
      requestBody: { summary: 'Longer standup' },
    });
    const first = await h.cal.events.list({ calendarId: 'primary', singleEvents: true, showDeleted: true });
    await h.cal.events.delete({ calendarId: 'primary', eventId: 'series0001' });
    const inc = await h.cal.events.list({
      calendarId: 'primary',
      singleEvents: true,
      showDeleted: true,
      syncToken: first.data.nextSyncToken!,
    });
    const items = inc.data.items!;
    expect(items.every((e) => e.status === 'cancelled')).toBe(true);
    expect(items.map((e) => e.id).sort()).toEqual([
      'series0001_20300107T090000Z',
      'series0001_20300108T090000Z',
      'series0001_20300109T090000Z',
    ]);
    expect(items.some((e) => e.id === 'series0001')).toBe(false);
  });
});

describe('events.update replaces the whole event; events.patch only what is sent', () => {
  const decorated = () =>
    h.emu.control.upsertEvent(h.user.email, 'primary', {
      id: 'decor00001',
      ...slot,
      colorId: '11',
      reminders: { useDefault: false, overrides: [{ method: 'email', minutes: 30 }] },
      attachments: [{ fileUrl: 'https://drive.google.com/file/d/abc', title: 'Agenda' }],
      conferenceData: { conferenceId: 'abc-defg-hij' },
      guestsCanModify: true,
      extendedProperties: { shared: { team: 'sales' }, private: { ours: '1' } },
    });

  it('update drops colour, reminders, attachments, conference data, guest permissions and shared properties that are not sent', async () => {
    decorated();
    const { data } = await h.cal.events.update({
      calendarId: 'primary',
      eventId: 'decor00001',
      requestBody: { ...slot, summary: 'Only this', extendedProperties: { private: { ours: '2' } } },
    });
    expect(data.summary).toBe('Only this');
    for (const field of ['colorId', 'reminders', 'attachments', 'conferenceData', 'guestsCanModify'] as const) {
      expect(data[field], field).toBeUndefined();
    }
    expect(data.extendedProperties).toEqual({ private: { ours: '2' } });
  });

  it('patch keeps every field it does not send and replaces the arrays it sends whole', async () => {
    decorated();
    const { data } = await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'decor00001',
      requestBody: { summary: 'Renamed', attachments: [{ fileUrl: 'https://drive.google.com/file/d/xyz' }] },
    });
    expect(data.summary).toBe('Renamed');
    expect(data.colorId).toBe('11');
    expect(data.reminders?.overrides).toEqual([{ method: 'email', minutes: 30 }]);
    expect(data.attachments).toEqual([{ fileUrl: 'https://drive.google.com/file/d/xyz' }]);
    expect(data.conferenceData).toEqual({ conferenceId: 'abc-defg-hij' });
    expect(data.guestsCanModify).toBe(true);
    expect(data.extendedProperties).toEqual({ shared: { team: 'sales' }, private: { ours: '1' } });
  });
});

describe('push addresses must be HTTPS', () => {
  it('answers 400 push.webhookUrlNotHttps for an http address and accepts https', async () => {
    const body = await expectGoogleError(
      h.cal.events.watch({
        calendarId: 'primary',
        requestBody: { id: 'chan-http', type: 'web_hook', address: 'http://127.0.0.1:9/push' },
      }),
      400,
      'push.webhookUrlNotHttps',
    );
    expect(body.error.message).toContain('http://127.0.0.1:9/push');
    const { data } = await h.cal.events.watch({
      calendarId: 'primary',
      requestBody: { id: 'chan-https', type: 'web_hook', address: 'https://127.0.0.1:9/push' },
    });
    expect(data.id).toBe('chan-https');
  });

  it('accepts http only when the emulator is started with allowInsecurePushAddresses', async () => {
    const emu = await startGoogleEmulator({ allowInsecurePushAddresses: true });
    try {
      const user = emu.control.createUser({ email: 'bob@example.com' });
      const auth = oauthClient(emu, user);
      auth.setCredentials({ access_token: user.accessToken, expiry_date: Date.now() + 3_600_000 });
      const { data } = await calendarClient(emu, auth).events.watch({
        calendarId: 'primary',
        requestBody: { id: 'chan-http', type: 'web_hook', address: 'http://127.0.0.1:9/push' },
      });
      expect(data.id).toBe('chan-http');
    } finally {
      await emu.close();
    }
  });
});

describe('calendarList.list paging', () => {
  it('pages at 100 entries by default and never more than 250', async () => {
    for (let i = 0; i < 260; i++) h.emu.control.createCalendar(h.user.email, { summary: `Cal ${i}` });
    const first = await h.cal.calendarList.list();
    expect(first.data.items).toHaveLength(100);
    expect(first.data.nextPageToken).toBeTruthy();
    const big = await h.cal.calendarList.list({ maxResults: 1000 });
    expect(big.data.items).toHaveLength(250);
    const rest = await h.cal.calendarList.list({ maxResults: 1000, pageToken: big.data.nextPageToken! });
    expect(rest.data.items).toHaveLength(11);
    expect(rest.data.nextPageToken).toBeUndefined();
    const ids = new Set([...big.data.items!, ...rest.data.items!].map((c) => c.id));
    expect(ids.size).toBe(261);
  });
});
