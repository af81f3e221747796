/**
 * The two-way import filters of `classifyGoogleChange`: each filter with both values of its setting, for an event
 * not yet linked (filtered) and one already linked (never filtered — except a declined invitation, which applies
 * the deletion setting).
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  classifyGoogleChange,
  type GoogleChangeInput,
  type SyncSettings,
} from '../../../sync-rules/index.js';
import { hasExternalAttendee, importFilterReason, isDeclinedByUser } from '../../../sync-rules/echo.js';

const settings: SyncSettings = { ...DEFAULT_SETTINGS, enabled: true, calendarId: 'primary' };
const ME = { email: 'me@example.com', self: true };
const GUEST = { email: 'guest@other.example' };
const meeting: calendar_v3.Schema$Event = {
  id: 'evt1',
  status: 'confirmed',
  summary: 'Call',
  eventType: 'default',
  start: { dateTime: '2030-05-04T12:00:00Z' },
  end: { dateTime: '2030-05-04T13:00:00Z' },
  attendees: [{ ...ME, organizer: true, responseStatus: 'accepted' }, GUEST],
};
const link = { activityId: 42, lastWrittenHash: 'h1' };

function classify(event: calendar_v3.Schema$Event, over: Partial<SyncSettings> = {}, linked = false) {
  const input: GoogleChangeInput = {
    event,
    link: linked ? link : null,
    settings: { ...settings, ...over },
    connectionId: 'conn-1',
    observedHash: 'h2',
  };
  return classifyGoogleChange(input);
}

const created = { decision: 'apply', effect: 'create-activity', reason: 'event-created' };
const updated = { decision: 'apply', effect: 'update-activity', reason: 'event-changed' };

describe('the defaults', () => {
  it('are: other event types and declined invitations skipped; free, all-day and solo events imported', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      importOtherEventTypes: false,
      importDeclined: false,
      importFree: true,
      importAllDay: true,
      importWithoutExternalAttendees: true,
    });
    expect(classify(meeting)).toEqual(created);
  });
});

describe('importOtherEventTypes', () => {
  const types = ['focusTime', 'outOfOffice', 'workingLocation', 'birthday', 'fromGmail'];

  it('off (default): skips every event type but default, and treats an absent type as default', () => {
    for (const eventType of types) {
      expect(classify({ ...meeting, eventType }), eventType).toEqual({
        decision: 'ignore',
        reason: 'other-event-type',
      });
    }
    expect(classify({ ...meeting, eventType: undefined })).toEqual(created);
  });

  it('on: imports them', () => {
    for (const eventType of types) {
      expect(classify({ ...meeting, eventType }, { importOtherEventTypes: true }), eventType).toEqual(created);
    }
  });

  it('never filters a linked event', () => {
    expect(classify({ ...meeting, eventType: 'focusTime' }, {}, true)).toEqual(updated);
  });
});

describe('importDeclined', () => {
  const declined: calendar_v3.Schema$Event = {
    ...meeting,
    organizer: { email: 'boss@other.example' },
    attendees: [
      { email: 'boss@other.example', organizer: true },
      { ...ME, responseStatus: 'declined' },
    ],
  };

  it('off (default): skips an invitation the user declined, not one they accepted or left open', () => {
    expect(classify(declined)).toEqual({ decision: 'ignore', reason: 'invitation-declined' });
    for (const responseStatus of ['accepted', 'tentative', 'needsAction']) {
      const answered = { ...declined, attendees: [declined.attendees![0]!, { ...ME, responseStatus }] };
      expect(classify(answered), responseStatus).toEqual(created);
    }
  });

  it('off: looks only at the user’s own answer, not at other guests who declined', () => {
    const other = {
      ...meeting,
      attendees: [...meeting.attendees!, { email: 'x@y.example', responseStatus: 'declined' }],
    };
    expect(isDeclinedByUser(other)).toBe(false);
    expect(classify(other)).toEqual(created);
  });

  it('on: imports a declined invitation', () => {
    expect(classify(declined, { importDeclined: true })).toEqual(created);
  });

  it('off: declining a linked invitation applies the deletion setting, before any echo check', () => {
    expect(classify(declined, { deletion: 'delete' }, true)).toEqual({
      decision: 'apply',
      effect: 'delete-activity',
      reason: 'invitation-declined',
    });
    expect(classify(declined, { deletion: 'unlink' }, true)).toEqual({
      decision: 'apply',
      effect: 'unlink',
      reason: 'invitation-declined',
    });
    // The answer is not synced content: the observed hash equals what we wrote, and still it is no echo.
    const same: GoogleChangeInput = {
      event: declined,
      link: { activityId: 42, lastWrittenHash: 'same' },
      settings,
      connectionId: 'conn-1',
      observedHash: 'same',
    };
    expect(classifyGoogleChange(same)).toMatchObject({ effect: 'delete-activity' });
  });

  it('on: a linked declined invitation stays synced like any other change', () => {
    expect(classify(declined, { importDeclined: true }, true)).toEqual(updated);
  });
});

describe('importFree', () => {
  const free = { ...meeting, transparency: 'transparent' };

  it('on (default): imports a free (transparent) event', () => {
    expect(classify(free)).toEqual(created);
  });

  it('off: skips it, and still imports a busy one', () => {
    expect(classify(free, { importFree: false })).toEqual({ decision: 'ignore', reason: 'free-event-skipped' });
    expect(classify({ ...meeting, transparency: 'opaque' }, { importFree: false })).toEqual(created);
  });

  it('never filters a linked event', () => {
    expect(classify(free, { importFree: false }, true)).toEqual(updated);
  });
});

describe('importAllDay', () => {
  const allDay = { ...meeting, start: { date: '2030-05-04' }, end: { date: '2030-05-05' } };

  it('on (default): imports an all-day event', () => {
    expect(classify(allDay)).toEqual(created);
  });

  it('off: skips it, and still imports a timed one', () => {
    expect(classify(allDay, { importAllDay: false })).toEqual({ decision: 'ignore', reason: 'all-day-event-skipped' });
    expect(classify(meeting, { importAllDay: false })).toEqual(created);
  });

  it('never filters a linked event', () => {
    expect(classify(allDay, { importAllDay: false }, true)).toEqual(updated);
  });
});

describe('importWithoutExternalAttendees', () => {
  const solo = { ...meeting, attendees: undefined };
  const onlyMeAndRoom = {
    ...meeting,
    attendees: [
      { ...ME, organizer: true },
      { email: 'room-1@resource.calendar.google.com', resource: true },
    ],
  };

  it('on (default): imports an event with nobody but the user', () => {
    expect(classify(solo)).toEqual(created);
  });

  it('off: skips an event without attendees, or with only the user and a room', () => {
    for (const e of [solo, onlyMeAndRoom]) {
      expect(hasExternalAttendee(e)).toBe(false);
      expect(classify(e, { importWithoutExternalAttendees: false })).toEqual({
        decision: 'ignore',
        reason: 'no-external-attendees',
      });
    }
  });

  it('off: imports an event with a guest, and an invitation (its organizer is someone else)', () => {
    expect(classify(meeting, { importWithoutExternalAttendees: false })).toEqual(created);
    const invitation = {
      ...meeting,
      attendees: [
        { email: 'boss@other.example', organizer: true },
        { ...ME, responseStatus: 'accepted' },
      ],
    };
    expect(classify(invitation, { importWithoutExternalAttendees: false })).toEqual(created);
  });

  it('never filters a linked event', () => {
    expect(classify(solo, { importWithoutExternalAttendees: false }, true)).toEqual(updated);
  });
});

describe('importFilterReason', () => {
  it('is null for an event every filter lets through, whatever the settings', () => {
    const strict: SyncSettings = {
      ...settings,
      importOtherEventTypes: false,
      importDeclined: false,
      importFree: false,
      importAllDay: false,
      importWithoutExternalAttendees: false,
    };
    expect(importFilterReason(meeting, strict)).toBeNull();
  });

  it('does not apply in pipedrive-to-google mode, where nothing from Google is imported anyway', () => {
    expect(classify({ ...meeting, eventType: 'focusTime' }, { mode: 'pipedrive-to-google' })).toEqual({
      decision: 'ignore',
      reason: 'google-events-not-imported-in-this-mode',
    });
  });
});
