/**
 * Conformance of conference data (`conferenceDataVersion`, Meet create requests, `hangoutLink`), event types
 * (`eventType` rules, status events and birthdays) and an attendee's answer to an invitation. All through the
 * official client; the control API plays the Calendar UI.
 */
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
const MEET_URI = /^https:\/\/meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/;
const meetRequest = (requestId: string) => ({
  createRequest: { requestId, conferenceSolutionKey: { type: 'hangoutsMeet' } },
});

describe('conference data and conferenceDataVersion', () => {
  it('ignores conference data in the body of a version-0 insert (the default)', async () => {
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { ...slot, summary: 'No version', conferenceData: meetRequest('req-1') },
    });
    expect(data.conferenceData).toBeUndefined();
    expect(data.hangoutLink).toBeUndefined();
  });

  it('creates a Meet conference for a createRequest with conferenceDataVersion=1', async () => {
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      conferenceDataVersion: 1,
      requestBody: { ...slot, summary: 'Meet', conferenceData: meetRequest('req-1') },
    });
    const video = data.conferenceData?.entryPoints?.find((p) => p.entryPointType === 'video');
    expect(video?.uri).toMatch(MEET_URI);
    expect(data.hangoutLink).toBe(video?.uri);
    expect(data.conferenceData?.createRequest).toMatchObject({ requestId: 'req-1', status: { statusCode: 'success' } });
    expect(data.conferenceData?.conferenceSolution?.key?.type).toBe('hangoutsMeet');
    expect(`https://meet.google.com/${data.conferenceData?.conferenceId}`).toBe(video?.uri);
  });

  it('ignores a create request whose requestId is the previous one, and honours a new one', async () => {
    const { data: first } = await h.cal.events.insert({
      calendarId: 'primary',
      conferenceDataVersion: 1,
      requestBody: { id: 'meet000001', ...slot, conferenceData: meetRequest('req-1') },
    });
    const again = await h.cal.events.update({
      calendarId: 'primary',
      eventId: 'meet000001',
      conferenceDataVersion: 1,
      requestBody: { ...slot, summary: 'Retried', conferenceData: meetRequest('req-1') },
    });
    expect(again.data.hangoutLink).toBe(first.hangoutLink);
    const fresh = await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'meet000001',
      conferenceDataVersion: 1,
      requestBody: { conferenceData: meetRequest('req-2') },
    });
    expect(fresh.data.hangoutLink).toMatch(MEET_URI);
    expect(fresh.data.hangoutLink).not.toBe(first.hangoutLink);
  });

  it('removes the conference on a version-0 update, keeps it on a version-0 patch and a version-1 update', async () => {
    const { data: created } = await h.cal.events.insert({
      calendarId: 'primary',
      conferenceDataVersion: 1,
      requestBody: { id: 'meet000002', ...slot, conferenceData: meetRequest('req-1') },
    });
    const patched = await h.cal.events.patch({
      calendarId: 'primary',
      eventId: 'meet000002',
      requestBody: { summary: 'Patched', conferenceData: null as never },
    });
    expect(patched.data.hangoutLink).toBe(created.hangoutLink);
    const kept = await h.cal.events.update({
      calendarId: 'primary',
      eventId: 'meet000002',
      conferenceDataVersion: 1,
      requestBody: { ...patched.data },
    });
    expect(kept.data.hangoutLink).toBe(created.hangoutLink);
    const dropped = await h.cal.events.update({
      calendarId: 'primary',
      eventId: 'meet000002',
      requestBody: { ...kept.data },
    });
    expect(dropped.data.conferenceData).toBeUndefined();
    expect(dropped.data.hangoutLink).toBeUndefined();
  });

  it('copies given conference data with version 1 and refuses invalid entry points and versions', async () => {
    const zoom = {
      conferenceSolution: { key: { type: 'addOn' }, name: 'Zoom' },
      conferenceId: '123',
      entryPoints: [{ entryPointType: 'video', uri: 'https://zoom.us/j/123' }],
    };
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      conferenceDataVersion: 1,
      requestBody: { ...slot, conferenceData: zoom },
    });
    expect(data.conferenceData?.entryPoints?.[0]?.uri).toBe('https://zoom.us/j/123');
    expect(data.hangoutLink, 'hangoutLink is only for Meet').toBeUndefined();
    await expectGoogleError(
      h.cal.events.insert({
        calendarId: 'primary',
        conferenceDataVersion: 1,
        requestBody: { ...slot, conferenceData: { entryPoints: [{ entryPointType: 'fax', uri: 'x' }] } },
      }),
      400,
      'invalid',
    );
    await expectGoogleError(
      h.cal.events.insert({
        calendarId: 'primary',
        conferenceDataVersion: 1,
        requestBody: {
          ...slot,
          conferenceData: { createRequest: { requestId: 'r', conferenceSolutionKey: { type: 'addOn' } } },
        },
      }),
      400,
      'invalid',
    );
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', conferenceDataVersion: 2, requestBody: { ...slot } }),
      400,
      'invalid',
    );
  });

  it('ignores a hangoutLink sent by the client (read-only)', async () => {
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { ...slot, hangoutLink: 'https://meet.google.com/abc-defg-hij' },
    });
    expect(data.hangoutLink).toBeUndefined();
  });
});

describe('a pending Meet create request', () => {
  it('answers pending without entry points, then the conference arrives as a new version seen by incremental sync', async () => {
    await h.emu.close();
    h = await startHarness({ conferenceCreateDelayMs: 150 });
    const baseline = await h.cal.events.list({ calendarId: 'primary' });
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      conferenceDataVersion: 1,
      requestBody: { ...slot, conferenceData: meetRequest('req-p') },
    });
    expect(data.conferenceData?.createRequest?.status?.statusCode).toBe('pending');
    expect(data.conferenceData?.entryPoints).toBeUndefined();
    expect(data.hangoutLink).toBeUndefined();
    await expect
      .poll(async () => (await h.cal.events.get({ calendarId: 'primary', eventId: data.id! })).data.hangoutLink, {
        timeout: 5_000,
      })
      .toMatch(MEET_URI);
    const done = (await h.cal.events.get({ calendarId: 'primary', eventId: data.id! })).data;
    expect(done.conferenceData?.createRequest?.status?.statusCode).toBe('success');
    expect(done.etag).not.toBe(data.etag);
    expect(done.updated! > data.updated!).toBe(true);
    const changes = await h.cal.events.list({ calendarId: 'primary', syncToken: baseline.data.nextSyncToken! });
    expect(changes.data.items?.find((e) => e.id === data.id)?.hangoutLink).toBe(done.hangoutLink);
  });
});

describe('event types', () => {
  it('returns every event with an eventType, default when unset', async () => {
    const { data } = await h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot } });
    expect(data.eventType).toBe('default');
  });

  it('creates status events on the primary calendar only, never fromGmail, and never changes a type', async () => {
    const { data: focus } = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { ...slot, eventType: 'focusTime', focusTimeProperties: { chatStatus: 'doNotDisturb' } },
    });
    expect(focus.eventType).toBe('focusTime');
    const secondary = h.emu.control.createCalendar(h.user.email, { summary: 'Team' });
    for (const eventType of ['focusTime', 'outOfOffice', 'workingLocation']) {
      await expectGoogleError(
        h.cal.events.insert({ calendarId: secondary.id, requestBody: { ...slot, eventType } }),
        400,
        'invalid',
      );
    }
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, eventType: 'fromGmail' } }),
      400,
      'invalid',
    );
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { ...slot, eventType: 'party' } }),
      400,
      'invalid',
    );
    await expectGoogleError(
      h.cal.events.patch({ calendarId: 'primary', eventId: focus.id!, requestBody: { eventType: 'default' } }),
      400,
      'invalid',
    );
    const renamed = await h.cal.events.update({
      calendarId: 'primary',
      eventId: focus.id!,
      requestBody: { ...slot, summary: 'Deep work' },
    });
    expect(renamed.data.eventType, 'an update without eventType keeps it').toBe('focusTime');
  });

  it('accepts a birthday only as a one-day all-day event recurring yearly', async () => {
    const day = { start: { date: '2030-03-01' }, end: { date: '2030-03-02' } };
    await expectGoogleError(
      h.cal.events.insert({ calendarId: 'primary', requestBody: { ...day, eventType: 'birthday' } }),
      400,
      'invalid',
    );
    const { data } = await h.cal.events.insert({
      calendarId: 'primary',
      requestBody: { ...day, eventType: 'birthday', recurrence: ['RRULE:FREQ=YEARLY'] },
    });
    expect(data.eventType).toBe('birthday');
    expect(data.birthdayProperties?.type).toBe('birthday');
  });

  it('lets the control API create every special type as the Calendar UI or Gmail would', () => {
    const c = h.emu.control;
    const focus = c.createTypedEvent(h.user.email, 'primary', { ...slot, eventType: 'focusTime' });
    expect(focus).toMatchObject({ eventType: 'focusTime', transparency: 'opaque' });
    expect(focus.focusTimeProperties).toMatchObject({ chatStatus: 'doNotDisturb' });
    const ooo = c.createTypedEvent(h.user.email, 'primary', { ...slot, eventType: 'outOfOffice' });
    expect(ooo.outOfOfficeProperties).toMatchObject({ autoDeclineMode: 'declineAllConflictingInvitations' });
    const where = c.createTypedEvent(h.user.email, 'primary', { ...slot, eventType: 'workingLocation' });
    expect(where).toMatchObject({ transparency: 'transparent', workingLocationProperties: { type: 'homeOffice' } });
    const birthday = c.createTypedEvent(h.user.email, 'primary', {
      eventType: 'birthday',
      start: { date: '2030-03-01' },
      end: { date: '2030-03-02' },
    });
    expect(birthday).toMatchObject({ recurrence: ['RRULE:FREQ=YEARLY'], birthdayProperties: { type: 'birthday' } });
    const gmail = c.createTypedEvent(h.user.email, 'primary', { ...slot, eventType: 'fromGmail', summary: 'Flight' });
    expect(gmail.eventType).toBe('fromGmail');
  });
});

describe('answering an invitation', () => {
  it('changes only the user’s own responseStatus, as a new version incremental sync reports', async () => {
    h.emu.control.createInvitation(h.user.email, 'primary', {
      id: 'invite0001',
      ...slot,
      summary: 'Review',
      attendees: [{ email: 'carol@other.example' }],
      organizer: { email: 'boss@other.example' },
      responseStatus: 'accepted',
    });
    const baseline = await h.cal.events.list({ calendarId: 'primary' });
    const before = (await h.cal.events.get({ calendarId: 'primary', eventId: 'invite0001' })).data;
    const after = h.emu.control.respondToInvitation(h.user.email, 'primary', 'invite0001', 'declined');
    expect(after.etag).not.toBe(before.etag);
    expect(
      (after.attendees as Array<{ email: string; self?: boolean; responseStatus?: string }>).map((a) => [
        a.email,
        a.responseStatus,
      ]),
    ).toEqual([
      ['boss@other.example', 'accepted'],
      ['carol@other.example', undefined],
      [h.user.email, 'declined'],
    ]);
    const changes = await h.cal.events.list({ calendarId: 'primary', syncToken: baseline.data.nextSyncToken! });
    const seen = changes.data.items?.find((e) => e.id === 'invite0001');
    expect(seen?.attendees?.find((a) => a.self)?.responseStatus).toBe('declined');
  });

  it('refuses an answer on an event the user is not invited to, and an unknown answer', () => {
    h.emu.control.upsertEvent(h.user.email, 'primary', { id: 'mine000001', ...slot });
    expect(() => h.emu.control.respondToInvitation(h.user.email, 'primary', 'mine000001', 'declined')).toThrow();
    expect(() =>
      h.emu.control.respondToInvitation(h.user.email, 'primary', 'mine000001', 'maybe' as 'declined'),
    ).toThrow();
  });
});
