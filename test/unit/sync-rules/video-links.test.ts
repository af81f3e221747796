/**
 * Video-call links in the field mapping: Google conference → `conference_meeting_url` (+ client and id), an
 * activity's link → the event's location or one description line, the exact round trip that keeps echo
 * suppression stable, an event's own conference winning, and the Meet create request of `createMeetLinks`.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { describe, expect, it } from 'vitest';
import {
  CONTACT_BLOCK_MARKER,
  DEFAULT_SETTINGS,
  activityToEvent,
  activityToSyncedFields,
  classifyGoogleChange,
  contentHash,
  eventToActivityFields,
  eventToSyncedFields,
  resolveConflict,
  syncedFieldsToActivityWrite,
  type PdActivity,
  type SyncSettings,
} from '../../../sync-rules/index.js';
import { wantsMeetLink } from '../../../sync-rules/mapping.js';
import {
  conferenceForUpdate,
  eventConferenceLink,
  fitVideoLinkTo,
  VIDEO_LINK_PROPERTY,
} from '../../../sync-rules/video-link.js';

const settings: SyncSettings = { ...DEFAULT_SETTINGS, enabled: true, calendarId: 'primary' };
const ctx = { names: {}, settings, connectionId: 'conn-1' };
const ZOOM = 'https://zoom.us/j/123456789?pwd=abc';
const MEET = 'https://meet.google.com/abc-defg-hij';

const activity: PdActivity = {
  id: 42,
  subject: 'Demo',
  type: 'meeting',
  owner_id: 7,
  due_date: '2030-05-04',
  due_time: '09:30',
  duration: '01:00',
  busy: true,
  public_description: 'Agenda',
  location: null,
};

const meetConference: calendar_v3.Schema$ConferenceData = {
  conferenceId: 'abc-defg-hij',
  conferenceSolution: { key: { type: 'hangoutsMeet' }, name: 'Google Meet' },
  entryPoints: [
    { entryPointType: 'phone', uri: 'tel:+1-555-0100' },
    { entryPointType: 'video', uri: MEET },
  ],
};
const googleEvent: calendar_v3.Schema$Event = {
  id: 'evt1',
  summary: 'Sync',
  start: { dateTime: '2030-05-04T12:00:00Z' },
  end: { dateTime: '2030-05-04T13:00:00Z' },
};

/** What Google returns for a body we wrote: the body plus server fields (the emulator stores it as sent). */
function asWritten(body: calendar_v3.Schema$Event): calendar_v3.Schema$Event {
  return { ...body, etag: '"1"', updated: '2030-05-01T10:00:00.000Z', organizer: { email: 'me@x', self: true } };
}

describe('Google → Pipedrive: the event’s conference', () => {
  it('takes the video entry point of conferenceData, with the solution name and conference id', () => {
    const write = eventToActivityFields({ ...googleEvent, conferenceData: meetConference }, ctx);
    expect(write).toMatchObject({
      conference_meeting_url: MEET,
      conference_meeting_client: 'Google Meet',
      conference_meeting_id: 'abc-defg-hij',
    });
    expect(write.location, 'the link is not the location').toBeNull();
  });

  it('falls back to hangoutLink when there is no video entry point', () => {
    expect(eventToActivityFields({ ...googleEvent, hangoutLink: MEET }, ctx).conference_meeting_url).toBe(MEET);
    expect(eventConferenceLink({ ...googleEvent, conferenceData: { entryPoints: [] }, hangoutLink: MEET })).toEqual({
      url: MEET,
    });
  });

  it('writes no link for an event without a conference, and none for a private event kept neutral', () => {
    expect(eventToActivityFields(googleEvent, ctx)).not.toHaveProperty('conference_meeting_url');
    const hidden = { ...googleEvent, visibility: 'private', conferenceData: meetConference };
    expect(eventToActivityFields(hidden, ctx)).not.toHaveProperty('conference_meeting_url');
  });

  it('leaves a URL the user typed into the location as the location', () => {
    const write = eventToActivityFields({ ...googleEvent, location: ZOOM }, ctx);
    expect(write.location).toEqual({ value: ZOOM });
    expect(write).not.toHaveProperty('conference_meeting_url');
  });
});

describe('Pipedrive → Google: the activity’s link on the event', () => {
  it('goes into the location when the activity has none', () => {
    const body = activityToEvent({ ...activity, conference_meeting_url: ZOOM }, ctx);
    expect(body.location).toBe(ZOOM);
    expect(body.description).toBe('Agenda');
    expect(body.extendedProperties?.private?.[VIDEO_LINK_PROPERTY]).toBe(`location ${ZOOM}`);
    expect(body.conferenceData, 'conference data is never written from Pipedrive').toBeUndefined();
  });

  it('goes onto one description line, before the contact block, when the activity has a location', () => {
    const withPlace = { ...activity, location: { value: 'Berlin' }, conference_meeting_url: ZOOM };
    const body = activityToEvent(withPlace, {
      ...ctx,
      settings: { ...settings, contactDetails: true },
      contact: { person: { id: 2, name: 'Ann' } },
    });
    expect(body.location).toBe('Berlin');
    expect(body.description).toBe(`Agenda\n\nVideo call: ${ZOOM}\n\n${CONTACT_BLOCK_MARKER}\nPerson: Ann`);
    expect(body.description!.split(ZOOM)).toHaveLength(2);
  });

  it('round-trips exactly: the written event reads back as the activity (same content hash), both placements', () => {
    for (const location of [null, { value: 'Berlin' }]) {
      for (const public_description of ['', 'Agenda']) {
        const a = { ...activity, location, public_description, conference_meeting_url: ZOOM };
        const written = asWritten(activityToEvent(a, ctx));
        const fromActivity = activityToSyncedFields(a, ctx);
        const fromEvent = eventToSyncedFields(written, ctx);
        expect(fromEvent, JSON.stringify({ location, public_description })).toEqual(fromActivity);
        expect(contentHash(fromEvent)).toBe(contentHash(fromActivity));
        const back = eventToActivityFields(written, ctx);
        expect(back.location).toEqual(location);
        expect(back.public_description).toBe(public_description);
        expect(back.conference_meeting_url).toBe(ZOOM);
      }
    }
  });

  it('is an echo when Google reports the event we wrote, so a pull of our own write writes nothing', () => {
    const a = { ...activity, location: { value: 'Berlin' }, conference_meeting_url: ZOOM };
    const written = asWritten(activityToEvent(a, ctx));
    const hash = contentHash(activityToSyncedFields(a, ctx));
    const decision = classifyGoogleChange({
      event: written,
      link: { activityId: 42, lastWrittenHash: hash },
      settings,
      connectionId: 'conn-1',
      observedHash: contentHash(eventToSyncedFields(written, ctx)),
    });
    expect(decision).toEqual({ decision: 'echo', reason: 'own-write' });
  });

  it('never doubles on repeated writes: writing the read-back again gives the same event', () => {
    let a: PdActivity = { ...activity, location: { value: 'Berlin' }, conference_meeting_url: ZOOM };
    let body = activityToEvent(a, ctx);
    for (let i = 0; i < 3; i++) {
      const back = eventToActivityFields(asWritten(body), ctx);
      a = { ...a, ...back };
      body = activityToEvent(a, ctx);
    }
    expect(body.description).toBe(`Agenda\n\nVideo call: ${ZOOM}`);
    expect(body.location).toBe('Berlin');
  });

  it('reads a line the user edited away in Google as no link, and keeps what the user wrote', () => {
    const a = { ...activity, location: { value: 'Berlin' }, conference_meeting_url: ZOOM };
    const written = asWritten(activityToEvent(a, ctx));
    const edited = { ...written, description: 'New agenda' };
    const back = eventToActivityFields(edited, ctx);
    expect(back.public_description).toBe('New agenda');
    expect(back).not.toHaveProperty('conference_meeting_url');
  });

  it('does not place a link with spaces or one too long to record', () => {
    for (const url of ['https://x.example/a b', `https://x.example/${'a'.repeat(1000)}`]) {
      const body = activityToEvent({ ...activity, conference_meeting_url: url }, ctx);
      expect(body.location).toBe('');
      expect(activityToSyncedFields({ ...activity, conference_meeting_url: url }, ctx)).not.toHaveProperty(
        'conferenceUrl',
      );
    }
  });

  it('keeps the content hash of activities without a link what it was before links were synced', () => {
    const fields = activityToSyncedFields(activity, ctx);
    expect(fields).not.toHaveProperty('conferenceUrl');
    expect(activityToSyncedFields({ ...activity, conference_meeting_url: '' }, ctx)).toEqual(fields);
    expect(activityToEvent(activity, ctx).extendedProperties?.private).not.toHaveProperty(VIDEO_LINK_PROPERTY);
  });
});

describe('an event with a conference of its own', () => {
  it('keeps it: the activity’s link is taken off the body, nothing is doubled, the marker is cleared', () => {
    const current = { ...googleEvent, conferenceData: meetConference, hangoutLink: MEET };
    for (const location of [null, { value: 'Berlin' }]) {
      const body = activityToEvent({ ...activity, location, conference_meeting_url: MEET }, ctx);
      const fitted = fitVideoLinkTo(current, body);
      expect(fitted.location).toBe(location?.value ?? '');
      expect(fitted.description).toBe('Agenda');
      expect(fitted.extendedProperties?.private?.[VIDEO_LINK_PROPERTY]).toBe('');
      expect(conferenceForUpdate(current, fitted)).toBe(meetConference);
      // Read back as the pair: the activity's link is the event's own, so it is an echo.
      const written = asWritten({ ...fitted, conferenceData: meetConference, hangoutLink: MEET });
      expect(eventToSyncedFields(written, ctx)).toEqual(
        activityToSyncedFields({ ...activity, location, conference_meeting_url: MEET }, ctx),
      );
    }
  });

  it('leaves a body alone for an event without a conference', () => {
    const body = activityToEvent({ ...activity, conference_meeting_url: ZOOM }, ctx);
    expect(fitVideoLinkTo(googleEvent, body)).toBe(body);
  });
});

describe('conflicts', () => {
  it('resolve the link like any field: changed in Pipedrive only → Pipedrive’s', () => {
    const base = activityToSyncedFields(activity, ctx);
    const pd = activityToSyncedFields({ ...activity, conference_meeting_url: ZOOM }, ctx);
    const google = { ...base, subject: 'Renamed' };
    const r = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: '2030-05-01T10:00:00Z' },
      google: { fields: google, updatedAt: '2030-05-01T11:00:00Z' },
    });
    expect(r.merged.conferenceUrl).toBe(ZOOM);
    expect(r.merged.subject).toBe('Renamed');
    expect(syncedFieldsToActivityWrite(r.merged).conference_meeting_url).toBe(ZOOM);
  });
});

describe('createMeetLinks', () => {
  const on = { ...settings, createMeetLinks: true };

  it('asks for a Meet conference for a meeting without a link, with a request id fixed by the event id', () => {
    const body = activityToEvent(activity, { ...ctx, settings: on });
    expect(body.conferenceData).toEqual({
      createRequest: { requestId: `pd-meet-${body.id}`, conferenceSolutionKey: { type: 'hangoutsMeet' } },
    });
    expect(activityToEvent(activity, { ...ctx, settings: on }).conferenceData).toEqual(body.conferenceData);
    const nextGeneration = activityToEvent(activity, { ...ctx, settings: on, eventIdGeneration: 1 });
    expect(nextGeneration.conferenceData?.createRequest?.requestId).not.toBe(
      body.conferenceData?.createRequest?.requestId,
    );
  });

  it('does not for other types, for meetings with a link, or with the setting off (default)', () => {
    expect(wantsMeetLink({ ...activity, type: 'call' }, on)).toBe(false);
    expect(wantsMeetLink({ ...activity, conference_meeting_url: ZOOM }, on)).toBe(false);
    expect(wantsMeetLink(activity, settings)).toBe(false);
    expect(activityToEvent(activity, ctx).conferenceData).toBeUndefined();
  });

  it('sends the create request on an update only to an event without a conference', () => {
    const body = activityToEvent(activity, { ...ctx, settings: on });
    expect(conferenceForUpdate(googleEvent, body)).toBe(body.conferenceData);
    const current = { ...googleEvent, conferenceData: meetConference };
    expect(conferenceForUpdate(current, fitVideoLinkTo(current, body))).toBe(meetConference);
  });
});
