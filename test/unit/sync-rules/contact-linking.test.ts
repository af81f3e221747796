import { describe, expect, it } from 'vitest';
import {
  attendeesChanged,
  contactLinks,
  linkableAttendees,
  MAX_LOOKUPS_PER_EVENT,
  participantsFor,
  personNameFor,
  unknownAttendees,
  type FoundPerson,
} from '../../../sync-rules/contact-linking.js';

const CAL = 'me@acme.test';
const person = (personId: number, orgId: number | null = null): FoundPerson => ({
  personId,
  name: `P${personId}`,
  orgId,
});

describe('linkableAttendees', () => {
  it('leaves out the user, resources, the calendar itself, duplicates and addresses that are not e-mails', () => {
    const got = linkableAttendees(
      {
        attendees: [
          { email: 'me@acme.test', self: true, organizer: true },
          { email: 'Room-1@resource.calendar.google.com', resource: true },
          { email: 'Ann@Client.test', displayName: ' Ann ' },
          { email: 'ann@client.test' },
          { email: 'ME@acme.test' },
          { email: 'work@acme.test' },
          { email: 'not-an-email' },
          { email: '' },
        ],
      },
      CAL,
      ['work@acme.test'],
    );
    expect(got).toEqual([{ email: 'ann@client.test', name: 'Ann', organizer: false }]);
  });

  it('puts the organizer first and keeps the order of the others', () => {
    const got = linkableAttendees(
      {
        organizer: { email: 'cleo@client.test' },
        attendees: [{ email: 'bob@client.test' }, { email: 'ann@client.test' }, { email: 'cleo@client.test' }],
      },
      CAL,
    );
    expect(got.map((a) => [a.email, a.organizer])).toEqual([
      ['cleo@client.test', true],
      ['bob@client.test', false],
      ['ann@client.test', false],
    ]);
  });

  it(`looks up at most ${MAX_LOOKUPS_PER_EVENT} attendees`, () => {
    const attendees = Array.from({ length: 25 }, (_, i) => ({ email: `p${i}@client.test` }));
    expect(linkableAttendees({ attendees }, CAL)).toHaveLength(MAX_LOOKUPS_PER_EVENT);
  });

  it('an event without attendees has nobody to link', () => {
    expect(linkableAttendees({}, CAL)).toEqual([]);
  });
});

describe('participantsFor and contactLinks', () => {
  const attendees = linkableAttendees(
    { attendees: [{ email: 'ann@c.test' }, { email: 'bob@c.test' }, { email: 'zed@c.test' }] },
    CAL,
  );

  it('the first found attendee is primary; the activity gets their person, organization and only open deal', () => {
    const found = new Map([
      ['ann@c.test', null],
      ['bob@c.test', person(2, 20)],
      ['zed@c.test', person(3, 30)],
    ]);
    const p = participantsFor(attendees, found);
    expect(p.participants).toEqual([
      { person_id: 2, primary: true },
      { person_id: 3, primary: false },
    ]);
    expect(contactLinks(p, [77])).toEqual({ participants: p.participants, person_id: 2, org_id: 20, deal_id: 77 });
  });

  it('the organizer is primary when the organizer is a found person', () => {
    const withOrganizer = linkableAttendees(
      { organizer: { email: 'zed@c.test' }, attendees: [{ email: 'bob@c.test' }, { email: 'zed@c.test' }] },
      CAL,
    );
    const p = participantsFor(
      withOrganizer,
      new Map([
        ['bob@c.test', person(2, 20)],
        ['zed@c.test', person(3, null)],
      ]),
    );
    expect(p.participants).toEqual([
      { person_id: 3, primary: true },
      { person_id: 2, primary: false },
    ]);
    expect(contactLinks(p, [])).toMatchObject({ person_id: 3, org_id: null, deal_id: null });
  });

  it('an organizer who is nobody in Pipedrive leaves the first found attendee primary', () => {
    const withOrganizer = linkableAttendees(
      { organizer: { email: 'out@x.test' }, attendees: [{ email: 'out@x.test' }, { email: 'bob@c.test' }] },
      CAL,
    );
    const p = participantsFor(withOrganizer, new Map([['bob@c.test', person(2)]]));
    expect(p.primary?.personId).toBe(2);
  });

  it('two or no open deals link no deal', () => {
    const p = participantsFor(attendees, new Map([['ann@c.test', person(1, 10)]]));
    expect(contactLinks(p, [5, 6]).deal_id).toBeNull();
    expect(contactLinks(p, []).deal_id).toBeNull();
  });

  it('one person behind two addresses is one participant', () => {
    const p = participantsFor(
      attendees,
      new Map([
        ['ann@c.test', person(1)],
        ['bob@c.test', person(1)],
      ]),
    );
    expect(p.participants).toEqual([{ person_id: 1, primary: true }]);
  });

  it('nobody found: empty links, which unlink an activity linked before', () => {
    const p = participantsFor(attendees, new Map());
    expect(contactLinks(p, [1])).toEqual({ participants: [], person_id: null, org_id: null, deal_id: null });
  });

  it('is deterministic: the same answers give the same links', () => {
    const found = new Map([
      ['zed@c.test', person(3, 30)],
      ['bob@c.test', person(2, 20)],
    ]);
    const a = contactLinks(participantsFor(attendees, found), [9]);
    const b = contactLinks(participantsFor(attendees, new Map([...found].reverse())), [9]);
    expect(a).toEqual(b);
  });
});

describe('unknownAttendees, personNameFor, attendeesChanged', () => {
  it('unknown attendees are those no person was found for', () => {
    const attendees = linkableAttendees(
      { attendees: [{ email: 'ann@c.test', displayName: 'Ann' }, { email: 'bob@c.test' }] },
      CAL,
    );
    const unknown = unknownAttendees(attendees, new Map([['bob@c.test', person(2)]]));
    expect(unknown.map((a) => a.email)).toEqual(['ann@c.test']);
    expect(personNameFor(unknown[0]!)).toBe('Ann');
    expect(personNameFor(attendees[1]!)).toBe('bob@c.test');
  });

  it('attendees changed compares addresses as sets, ignoring case and order', () => {
    expect(attendeesChanged(['a@x.test', 'b@x.test'], ['B@x.test', 'a@x.test'])).toBe(false);
    expect(attendeesChanged(['a@x.test'], ['a@x.test', 'c@x.test'])).toBe(true);
    expect(attendeesChanged(['a@x.test'], [])).toBe(true);
  });
});
