import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONTACT_BLOCK_MARKER,
  DEFAULT_SETTINGS,
  activityToEvent,
  activityToSyncedFields,
  contentHash,
  eventIdFor,
  eventToActivityFields,
  eventToSyncedFields,
  newActivityFromEvent,
  normalizeEmails,
  pdSchedule,
  readEventLinkProperties,
  sendUpdatesFor,
  syncedFieldsToActivityWrite,
  type PdActivity,
  type SyncSettings,
} from '../../../sync-rules/index.js';
import { activities, contacts, names, settings as settingsArb } from './arbitraries.js';

const settings: SyncSettings = { ...DEFAULT_SETTINGS, enabled: true, calendarId: 'primary' };
const activity: PdActivity = {
  id: 42,
  subject: 'Demo',
  type: 'meeting',
  owner_id: 7,
  is_deleted: false,
  done: false,
  update_time: '2026-05-01T10:00:00Z',
  deal_id: 1,
  person_id: 2,
  org_id: 3,
  due_date: '2026-05-04',
  due_time: '09:30',
  duration: '01:00',
  busy: true,
  public_description: 'Agenda',
  location: { value: 'Berlin' },
  attendees: [{ email: 'Bob@Example.com', name: 'Bob' }, { email: 'alice@example.com' }],
};
const linkedNames = { deal: 'Big deal', person: 'Anna', org: 'Acme' };
const ctx = { names: linkedNames, settings, connectionId: 'conn-1' };

describe('activityToEvent', () => {
  it('maps every field of the activity onto the event body', () => {
    const event = activityToEvent(activity, ctx);
    expect(event).toEqual({
      id: eventIdFor('conn-1', 42),
      summary: 'Big deal > Anna > Acme > Demo',
      description: 'Agenda',
      location: 'Berlin',
      start: { dateTime: '2026-05-04T09:30:00Z' },
      end: { dateTime: '2026-05-04T10:30:00Z' },
      transparency: 'opaque',
      attendees: [{ email: 'alice@example.com' }, { email: 'bob@example.com' }],
      extendedProperties: {
        private: {
          pdActivityId: '42',
          pdConnectionId: 'conn-1',
          pdContentHash: contentHash(activityToSyncedFields(activity, ctx)),
        },
      },
    });
  });

  it('marks a free activity as transparent', () => {
    expect(activityToEvent({ ...activity, busy: false }, ctx).transparency).toBe('transparent');
  });

  it('never sets the event visibility: Pipedrive activities have no privacy, the visibility is the user’s', () => {
    for (const privateEvents of ['private', 'public', 'skip'] as const) {
      const event = activityToEvent(activity, { ...ctx, settings: { ...settings, privateEvents } });
      expect(event).not.toHaveProperty('visibility');
    }
  });

  it('never sends attachments', () => {
    expect(activityToEvent(activity, ctx)).not.toHaveProperty('attachments');
  });

  it('uses the next event id generation when asked', () => {
    expect(activityToEvent(activity, { ...ctx, eventIdGeneration: 2 }).id).toBe(eventIdFor('conn-1', 42, 2));
  });

  it('appends the contact block with links when contact details are enabled', () => {
    const event = activityToEvent(activity, {
      ...ctx,
      settings: { ...settings, contactDetails: true },
      pipedriveAppUrl: 'https://acme.pipedrive.com/',
      contact: {
        deal: { id: 1, title: 'Big deal' },
        person: { id: 2, name: 'Anna', emails: ['anna@acme.com'], phones: ['+49 30 1234'] },
        org: { id: 3, name: 'Acme' },
      },
    });
    expect(event.description).toBe(
      [
        'Agenda',
        '',
        CONTACT_BLOCK_MARKER,
        'Deal: Big deal – https://acme.pipedrive.com/deal/1',
        'Person: Anna (anna@acme.com, +49 30 1234) – https://acme.pipedrive.com/person/2',
        'Organization: Acme – https://acme.pipedrive.com/organization/3',
      ].join('\n'),
    );
  });

  it('leaves the contact block out when contact details are disabled', () => {
    const event = activityToEvent(activity, { ...ctx, contact: { deal: { id: 1, title: 'Big deal' } } });
    expect(event.description).toBe('Agenda');
  });

  it('refuses an activity without a due date', () => {
    expect(() => activityToEvent({ ...activity, due_date: null }, ctx)).toThrow(/no valid due_date/);
  });
});

describe('eventToActivityFields', () => {
  it('strips the title prefix, the contact block and maps the rest', () => {
    const fields = eventToActivityFields(
      {
        summary: 'Big deal > Anna > Acme > Demo moved',
        description: `Agenda v2\n\n${CONTACT_BLOCK_MARKER}\nDeal: Big deal`,
        location: 'Hamburg',
        start: { dateTime: '2026-05-04T11:30:00+02:00' },
        end: { dateTime: '2026-05-04T13:00:00+02:00' },
        transparency: 'transparent',
        attendees: [
          { email: 'me@example.com', self: true, organizer: true },
          { email: 'Room-1@resource.calendar.google.com', resource: true },
          { email: 'Carol@Example.com' },
        ],
      },
      { names: linkedNames, settings },
    );
    expect(fields).toEqual({
      subject: 'Demo moved',
      public_description: 'Agenda v2',
      location: { value: 'Hamburg' },
      due_date: '2026-05-04',
      due_time: '09:30',
      duration: '01:30',
      busy: false,
      attendees: [{ email: 'carol@example.com' }],
    });
  });

  it('clears location and description when the event has none', () => {
    const fields = eventToActivityFields(
      { summary: 'X', start: { date: '2026-05-04' }, end: { date: '2026-05-05' } },
      { names: {}, settings },
    );
    expect(fields).toMatchObject({ subject: 'X', public_description: '', location: null, due_time: null, busy: true });
  });

  it('creates new activities with the incoming activity type', () => {
    const body = newActivityFromEvent(
      { summary: 'Lunch', start: { date: '2026-05-04' }, end: { date: '2026-05-05' } },
      { names: {}, settings: { ...settings, incomingActivityType: 'lunch' } },
    );
    expect(body).toMatchObject({ subject: 'Lunch', type: 'lunch' });
  });

  it('refuses an event without a readable start', () => {
    expect(() => eventToActivityFields({ id: 'x', status: 'cancelled' }, { names: {}, settings })).toThrow(
      /no readable start/,
    );
  });
});

describe('round trip through Google', () => {
  it('preserves every mapped field of any activity', () => {
    fc.assert(
      fc.property(activities, names, settingsArb, contacts, (a, linked, s, contact) => {
        const event = activityToEvent(a, {
          names: linked,
          settings: s,
          connectionId: 'c',
          contact,
          pipedriveAppUrl: 'https://x.pipedrive.com',
        });
        const back = eventToActivityFields(event, { names: linked, settings: s });
        const location = a.location?.value ?? '';
        expect(back).toEqual({
          subject: a.subject,
          public_description: a.public_description ?? '',
          location: location === '' ? null : { value: location },
          ...pdSchedule(a),
          busy: a.busy ?? true,
          attendees: normalizeEmails((a.attendees ?? []).map((x) => x.email)).map((email) => ({ email })),
        });
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same synced fields from the activity and from the event written for it', () => {
    fc.assert(
      fc.property(activities, names, settingsArb, contacts, (a, linked, s, contact) => {
        const event = activityToEvent(a, { names: linked, settings: s, connectionId: 'c', contact });
        expect(eventToSyncedFields(event, { names: linked, settings: s })).toEqual(
          activityToSyncedFields(a, { names: linked, settings: s }),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('stores the hash of the synced fields in the event', () => {
    fc.assert(
      fc.property(activities, names, settingsArb, (a, linked, s) => {
        const event = activityToEvent(a, { names: linked, settings: s, connectionId: 'c' });
        expect(readEventLinkProperties(event)).toEqual({
          activityId: a.id,
          connectionId: 'c',
          contentHash: contentHash(eventToSyncedFields(event, { names: linked, settings: s })),
        });
      }),
    );
  });

  it('writes synced fields back to Pipedrive as the same activity fields', () => {
    fc.assert(
      fc.property(activities, names, settingsArb, (a, linked, s) => {
        const synced = activityToSyncedFields(a, { names: linked, settings: s });
        const event = activityToEvent(a, { names: linked, settings: s, connectionId: 'c' });
        expect(syncedFieldsToActivityWrite(synced)).toEqual(
          eventToActivityFields(event, { names: linked, settings: s }),
        );
      }),
    );
  });
});

describe('eventToSyncedFields', () => {
  const base = { summary: 'Demo', start: { date: '2026-05-04' }, end: { date: '2026-05-05' } };

  const secret = {
    ...base,
    summary: 'Therapy',
    description: 'Dr. X',
    location: 'Clinic',
    attendees: [{ email: 'dr@x.com' }],
  };

  it('gives a private event neutral content under the private policy, keeping its time and busy state', () => {
    for (const visibility of ['private', 'confidential']) {
      const fields = eventToSyncedFields(
        { ...secret, visibility, transparency: 'transparent' },
        { names: {}, settings },
      );
      expect(fields).toMatchObject({ subject: 'Private event', description: '', location: '', attendees: [] });
      expect(fields).toMatchObject({ start: { date: '2026-05-04' }, busy: false, private: false });
      expect(JSON.stringify(fields)).not.toMatch(/Therapy|Dr\. X|Clinic|dr@x/);
      const write = eventToActivityFields({ ...secret, visibility }, { names: {}, settings });
      expect(write).toMatchObject({ subject: 'Private event', public_description: '', location: null, attendees: [] });
    }
  });

  it('keeps a private event’s content under the public policy, and an ordinary event’s under every policy', () => {
    const publicSettings = { ...settings, privateEvents: 'public' as const };
    expect(
      eventToSyncedFields({ ...secret, visibility: 'private' }, { names: {}, settings: publicSettings }),
    ).toMatchObject({
      subject: 'Therapy',
      location: 'Clinic',
    });
    expect(eventToSyncedFields({ ...secret, visibility: 'default' }, { names: {}, settings }).subject).toBe('Therapy');
  });

  it('leaves the user out of an invitation’s attendees (Google lists them with self), keeping the organizer', () => {
    const invitation = {
      ...base,
      organizer: { email: 'boss@other.com' },
      attendees: [
        { email: 'boss@other.com', organizer: true, responseStatus: 'accepted' },
        { email: 'me@mine.com', self: true, responseStatus: 'accepted' },
        { email: 'room@resource.calendar.google.com', resource: true },
      ],
    };
    expect(eventToSyncedFields(invitation, { names: {}, settings }).attendees).toEqual(['boss@other.com']);
  });

  it('ignores attendee order and case', () => {
    const a = eventToSyncedFields(
      { ...base, attendees: [{ email: 'B@x.com' }, { email: 'a@x.com' }] },
      { names: {}, settings },
    );
    const b = eventToSyncedFields(
      { ...base, attendees: [{ email: 'a@x.com' }, { email: 'b@X.com' }] },
      { names: {}, settings },
    );
    expect(a).toEqual(b);
  });

  it('does not see a change in the contact block as a change of content', () => {
    const a = eventToSyncedFields(
      { ...base, description: `Hi\n\n${CONTACT_BLOCK_MARKER}\nDeal: Old` },
      { names: {}, settings },
    );
    const b = eventToSyncedFields(
      { ...base, description: `Hi\n\n${CONTACT_BLOCK_MARKER}\nDeal: New` },
      { names: {}, settings },
    );
    expect(contentHash(a)).toBe(contentHash(b));
  });
});

describe('sendUpdatesFor', () => {
  it('sends no invitations unless the user opted in', () => {
    expect(sendUpdatesFor(settings)).toBe('none');
    expect(sendUpdatesFor({ ...settings, sendInvitations: true })).toBe('all');
  });
});
