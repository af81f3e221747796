/**
 * Contact linking on the real stack: Google events that become activities are linked to the Pipedrive persons
 * of their attendees (participants, person, organization, the one open deal) and re-titled from them; unknown
 * attendees become persons only with `createPersonsForAttendees`, once even across a crash; changed attendees
 * re-link; `linkContacts: false` looks nothing up. And what it costs, in Pipedrive tokens per imported event.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedLookups,
  HIT_TTL_MS,
  MISS_TTL_MS,
  pruneLookups,
  saveLookup,
} from '../../adapters/pipedrive/contact-lookups.js';
import { linkByEvent } from '../../adapters/store/links.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import type { SyncSettings } from '../../sync-rules/settings.js';
import { day, googleToPipedriveSteps } from '../../testing/google-to-pipedrive-steps.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface Activity {
  id: number;
  subject: string;
  owner_id: number;
  is_deleted: boolean;
  deal_id: number | null;
  person_id: number | null;
  org_id: number | null;
  participants: { person_id: number; primary: boolean }[];
  attendees: { email: string }[];
}
interface Person {
  id: number;
  name: string;
  emails: { value: string }[];
  is_deleted: boolean;
}

// No safety-net pass during a test: token counts stay exactly those of the imports.
const QUIET: Partial<SyncSettings> = { safetyIntervalSeconds: 86_400 };

let seq = 0;
/** A unique address, so tests sharing the harness's company never see each other's persons. */
const addr = (name: string) => `${name}.${++seq}.${Date.now().toString(36)}@client.test`;

const timed = (from: string, to: string, days = 4) => ({
  start: { dateTime: `${day(days)}T${from}:00Z` },
  end: { dateTime: `${day(days)}T${to}:00Z` },
});

const { pull, pushActivity } = googleToPipedriveSteps(() => h);

async function imported(user: SyncUser, body: calendar_v3.Schema$Event) {
  const res = await user.calendar.events.insert({ calendarId: user.calendarId, requestBody: body });
  await pull(user);
  const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, res.data.id!);
  expect(link, 'the event became an activity').not.toBeNull();
  return { eventId: res.data.id!, activity: activity(link!.activityId) };
}

const activity = (id: number) => h.pipedrive.control.getActivity(id) as unknown as Activity;
const event = async (user: SyncUser, eventId: string) =>
  (await user.calendar.events.get({ calendarId: user.calendarId, eventId })).data;

/** Persons with `email` in the harness's company (read through the emulator's own API, as a user). */
async function personsWithEmail(user: SyncUser, email: string): Promise<Person[]> {
  const res = await fetch(`${h.pipedrive.url}/api/v2/persons?limit=500`, { headers: { 'x-api-token': user.apiToken } });
  const body = (await res.json()) as { data: Person[] };
  return body.data.filter((p) => !p.is_deleted && p.emails.some((e) => e.value.toLowerCase() === email));
}

const calls = (route: string) => {
  let n = 0;
  for (const [key, count] of h.apiCalls) if (key.startsWith(`pipedrive ${route} `)) n += count;
  return n;
};
const tokens = () => h.pipedrive.control.stats().tokensSpent[String(h.companyId)] ?? 0;

/** A person with an organization and `deals` open deals (plus a won one, which never counts). */
function crmPerson(user: SyncUser, name: string, deals: string[]) {
  const pd = h.pipedrive.control;
  const userId = user.pipedriveUserId;
  const email = addr(name.toLowerCase());
  const org = pd.createOrganization({ userId, name: `${name} Corp` }) as { id: number };
  const person = pd.createPerson({
    userId,
    name,
    org_id: org.id,
    emails: [{ value: email, primary: true, label: 'work' }],
  }) as { id: number };
  const open = deals.map(
    (title) => pd.createDeal({ userId, title, person_id: person.id, org_id: org.id }) as { id: number },
  );
  pd.createDeal({ userId, title: `${name} old deal`, person_id: person.id, status: 'won' });
  return { email, org, person, deals: open };
}

describe('linking a Google meeting to the CRM', () => {
  it("links a known attendee's person, organization and only open deal, and titles the event from them", async () => {
    const user = await h.connectUser(QUIET);
    const ann = crmPerson(user, 'Ann', ['Ann renewal']);
    const { eventId, activity: a } = await imported(user, {
      summary: 'Quarterly review',
      attendees: [{ email: user.email, self: true }, { email: ann.email.toUpperCase() }],
      ...timed('10:00', '11:00'),
    });

    expect(a).toMatchObject({
      subject: 'Quarterly review',
      person_id: ann.person.id,
      org_id: ann.org.id,
      deal_id: ann.deals[0]!.id,
      participants: [{ person_id: ann.person.id, primary: true }],
    });
    expect(a.attendees.map((x) => x.email)).toEqual([ann.email]);
    expect((await event(user, eventId)).summary).toBe('Ann renewal > Ann > Ann Corp > Quarterly review');

    // The re-title is recognized as the sync's own write on both sides: nothing more is written.
    const writes = calls('PATCH /api/v2/activities/:id');
    await pull(user);
    await pushActivity(user, 'change', a.id);
    expect(calls('PATCH /api/v2/activities/:id')).toBe(writes);
    expect((await event(user, eventId)).summary).toBe('Ann renewal > Ann > Ann Corp > Quarterly review');
  });

  it('never mails the guests about the re-title, even with invitations on', async () => {
    const user = await h.connectUser({ ...QUIET, sendInvitations: true });
    const jo = crmPerson(user, 'Jo', []);
    const { eventId } = await imported(user, {
      summary: 'Chat',
      attendees: [{ email: jo.email }],
      ...timed('09:00', '09:15'),
    });
    expect((await event(user, eventId)).summary).toBe('Jo > Jo Corp > Chat');
    expect(h.google.control.inspectEvent(user.email, user.calendarId, eventId).lastSendUpdates).toBe('none');
  });

  it('links no deal when the person has two open deals', async () => {
    const user = await h.connectUser(QUIET);
    const bo = crmPerson(user, 'Bo', ['Bo one', 'Bo two']);
    const { eventId, activity: a } = await imported(user, {
      summary: 'Call',
      attendees: [{ email: bo.email }],
      ...timed('12:00', '12:30'),
    });
    expect(a).toMatchObject({ person_id: bo.person.id, org_id: bo.org.id, deal_id: null });
    expect((await event(user, eventId)).summary).toBe('Bo > Bo Corp > Call');
  });

  it('makes the organizer of an invitation the primary participant, and leaves its title to the organizer', async () => {
    const user = await h.connectUser(QUIET);
    const first = crmPerson(user, 'Cy', []);
    const organizer = crmPerson(user, 'Dee', ['Dee deal']);
    const invite = h.google.control.createInvitation(user.email, user.calendarId, {
      organizer: { email: organizer.email },
      summary: 'Their meeting',
      attendees: [{ email: first.email }, { email: organizer.email, organizer: true }, { email: user.email }],
      ...timed('09:00', '09:30', 6),
    });
    await pull(user);
    const link = await linkByEvent(h.stack.db, user.connectionId, user.calendarId, invite.id);
    const a = activity(link!.activityId);
    expect(a.participants).toEqual([
      { person_id: organizer.person.id, primary: true },
      { person_id: first.person.id, primary: false },
    ]);
    expect(a).toMatchObject({ person_id: organizer.person.id, deal_id: organizer.deals[0]!.id });
    // Google lets an attendee not retitle someone else's event: it stays as its organizer wrote it.
    expect((await event(user, invite.id)).summary).toBe('Their meeting');
    const writes = calls('PATCH /api/v2/activities/:id');
    await pull(user);
    expect(calls('PATCH /api/v2/activities/:id')).toBe(writes);
  });

  it('creates no person for an unknown attendee by default', async () => {
    const user = await h.connectUser(QUIET);
    const stranger = addr('stranger');
    const { activity: a } = await imported(user, {
      summary: 'Intro',
      attendees: [{ email: stranger }],
      ...timed('14:00', '14:30'),
    });
    expect(a).toMatchObject({ person_id: null, org_id: null, deal_id: null, participants: [] });
    expect(await personsWithEmail(user, stranger)).toEqual([]);
  });

  it('re-links when the attendees change', async () => {
    const user = await h.connectUser(QUIET);
    const eve = crmPerson(user, 'Eve', ['Eve deal']);
    const fay = crmPerson(user, 'Fay', []);
    const { eventId, activity: a } = await imported(user, {
      summary: 'Sync',
      attendees: [{ email: eve.email }],
      ...timed('15:00', '15:30'),
    });
    expect(a.person_id).toBe(eve.person.id);

    await user.calendar.events.patch({
      calendarId: user.calendarId,
      eventId,
      requestBody: { attendees: [{ email: fay.email }] },
    });
    await pull(user);
    expect(activity(a.id)).toMatchObject({
      subject: 'Sync',
      person_id: fay.person.id,
      org_id: fay.org.id,
      deal_id: null,
      participants: [{ person_id: fay.person.id, primary: true }],
    });
    expect((await event(user, eventId)).summary).toBe('Fay > Fay Corp > Sync');

    // Everyone known removed: the activity is unlinked and the title loses its prefix.
    await user.calendar.events.patch({ calendarId: user.calendarId, eventId, requestBody: { attendees: [] } });
    await pull(user);
    expect(activity(a.id)).toMatchObject({
      subject: 'Sync',
      person_id: null,
      org_id: null,
      deal_id: null,
      participants: [],
    });
    expect((await event(user, eventId)).summary).toBe('Sync');
  });

  it('looks nothing up with linkContacts off', async () => {
    const user = await h.connectUser({ ...QUIET, linkContacts: false });
    const gus = crmPerson(user, 'Gus', ['Gus deal']);
    const searches = calls('GET /api/v2/persons/search');
    const { eventId, activity: a } = await imported(user, {
      summary: 'Plain',
      attendees: [{ email: gus.email }],
      ...timed('16:00', '16:30'),
    });
    expect(calls('GET /api/v2/persons/search')).toBe(searches);
    expect(a).toMatchObject({ person_id: null, org_id: null, deal_id: null, participants: [] });
    expect((await event(user, eventId)).summary).toBe('Plain');
  });

  it('imports the event unlinked when a cached person was deleted in Pipedrive meanwhile', async () => {
    const user = await h.connectUser(QUIET);
    const hal = crmPerson(user, 'Hal', []);
    await imported(user, { summary: 'First', attendees: [{ email: hal.email }], ...timed('08:00', '08:30', 7) });
    h.pipedrive.control.deletePerson(hal.person.id);
    const { activity: a } = await imported(user, {
      summary: 'Second',
      attendees: [{ email: hal.email }],
      ...timed('08:00', '08:30', 8),
    });
    expect(a).toMatchObject({ subject: 'Second', person_id: null, participants: [] });
  });
});

describe('creating persons for unknown attendees', () => {
  it('creates one person per unknown attendee and links it', async () => {
    const user = await h.connectUser({ ...QUIET, createPersonsForAttendees: true });
    const newcomer = addr('newcomer');
    const { eventId, activity: a } = await imported(user, {
      summary: 'Demo',
      attendees: [{ email: newcomer, displayName: 'Nia Newcomer' }],
      ...timed('11:00', '11:30', 5),
    });
    const created = await personsWithEmail(user, newcomer);
    expect(created.map((p) => p.name)).toEqual(['Nia Newcomer']);
    expect(a).toMatchObject({
      person_id: created[0]!.id,
      participants: [{ person_id: created[0]!.id, primary: true }],
    });
    expect((await event(user, eventId)).summary).toBe('Nia Newcomer > Demo');

    // A second meeting with them finds that person (from the cache): no second person.
    await imported(user, { summary: 'Follow-up', attendees: [{ email: newcomer }], ...timed('11:00', '11:30', 6) });
    expect(await personsWithEmail(user, newcomer)).toHaveLength(1);
  });

  it('creates the person once when the step crashes right after creating it, even if search lags', async () => {
    const user = await h.connectUser({ ...QUIET, createPersonsForAttendees: true });
    const newcomer = addr('crash');
    // Search would not find the person the crashed attempt created: the retry must not rely on it.
    h.pipedrive.control.setSearchIndexDelay(10 * 60_000);
    try {
      const lists = calls('GET /api/v2/persons');
      h.crashAt('after-person-create');
      const { activity: a } = await imported(user, {
        summary: 'Crash',
        attendees: [{ email: newcomer }],
        ...timed('13:00', '13:30', 5),
      });
      const created = await personsWithEmail(user, newcomer);
      expect(created).toHaveLength(1);
      expect(a.person_id).toBe(created[0]!.id);
      // The retry found the earlier attempt's person through the persons list.
      expect(calls('GET /api/v2/persons')).toBeGreaterThan(lists);
    } finally {
      h.pipedrive.control.setSearchIndexDelay(0);
    }
  });

  it('creates one person and one activity when the step crashes after the activity create', async () => {
    const user = await h.connectUser({ ...QUIET, createPersonsForAttendees: true });
    const newcomer = addr('late');
    h.crashAt('after-pipedrive-create');
    const { activity: a } = await imported(user, {
      summary: 'Late crash',
      attendees: [{ email: newcomer }],
      ...timed('17:00', '17:30', 5),
    });
    const created = await personsWithEmail(user, newcomer);
    expect(created).toHaveLength(1);
    const mine = (h.pipedrive.control.listActivities() as unknown as Activity[]).filter(
      (x) => x.owner_id === user.pipedriveUserId && !x.is_deleted,
    );
    expect(mine.map((x) => [x.subject, x.person_id])).toEqual([['Late crash', created[0]!.id]]);
    expect(a.person_id).toBe(created[0]!.id);
  });
});

describe('Pipedrive → Google with participants', () => {
  it("still writes the activity's attendees' e-mails as the event's attendees, without invitations", async () => {
    const user = await h.connectUser(QUIET);
    const ivy = crmPerson(user, 'Ivy', []);
    const guest = addr('guest');
    const created = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'From the CRM',
      type: 'meeting',
      person_id: ivy.person.id,
      org_id: ivy.org.id,
      participants: [{ person_id: ivy.person.id, primary: true }],
      attendees: [{ email: ivy.email }, { email: guest }],
      due_date: day(9),
      due_time: '10:00',
      duration: '00:30',
    }) as unknown as Activity;
    const searches = calls('GET /api/v2/persons/search');
    await pushActivity(user, 'create', created.id);
    const eventId = eventIdFor(user.connectionId, created.id);
    const ev = await event(user, eventId);
    expect((ev.attendees ?? []).map((x) => x.email).sort()).toEqual([ivy.email, guest].sort());
    expect(ev.summary).toBe('Ivy > Ivy Corp > From the CRM');
    expect(h.google.control.inspectEvent(user.email, user.calendarId, eventId).lastSendUpdates).toBe('none');
    // Activities made in Pipedrive are never re-linked from their attendees.
    expect(calls('GET /api/v2/persons/search')).toBe(searches);
  });
});

describe('token cost per imported event', () => {
  it('is measured with linking off and on, cache cold and warm', async () => {
    const cost = async (user: SyncUser, attendees: calendar_v3.Schema$EventAttendee[], days: number) => {
      const before = tokens();
      await imported(user, { summary: 'Costed', attendees, ...timed('07:00', '07:30', days) });
      return tokens() - before;
    };
    const off = await h.connectUser({ ...QUIET, linkContacts: false });
    const on = await h.connectUser(QUIET);
    const known = crmPerson(on, 'Kim', ['Kim deal']);
    const unknown = addr('nobody');

    const measured = {
      linkingOff: await cost(off, [{ email: known.email }], 10),
      knownCold: await cost(on, [{ email: known.email }], 10),
      knownWarm: await cost(on, [{ email: known.email }], 11),
      unknownCold: await cost(on, [{ email: unknown }], 12),
      unknownWarm: await cost(on, [{ email: unknown }], 13),
      noAttendees: await cost(on, [], 14),
    };
    console.log(`Pipedrive tokens per imported event: ${JSON.stringify(measured)}`);
    // Create 5; search 20 per attendee not cached; a known person's open deals 10 (not cached).
    expect(measured).toEqual({
      linkingOff: 5,
      knownCold: 35,
      knownWarm: 15,
      unknownCold: 25,
      unknownWarm: 5,
      noAttendees: 5,
    });
  });
});

describe('the lookup cache', () => {
  it('remembers hits a day and misses six hours, per connection, and stays bounded', async () => {
    const a = await h.connectUser({ ...QUIET, enabled: false });
    const b = await h.connectUser({ ...QUIET, enabled: false });
    const db = h.stack.db;
    await saveLookup(db, a.connectionId, 'hit@x.test', { personId: 7, name: 'Hit', orgId: 3, orgName: 'Org' });
    await saveLookup(db, a.connectionId, 'miss@x.test', null);

    const now = Date.now();
    const fresh = await cachedLookups(db, a.connectionId, ['hit@x.test', 'miss@x.test']);
    expect(fresh.get('hit@x.test')?.person).toEqual({ personId: 7, name: 'Hit', orgId: 3, orgName: 'Org' });
    expect(fresh.has('miss@x.test') && fresh.get('miss@x.test')!.person).toBeNull();
    expect((await cachedLookups(db, b.connectionId, ['hit@x.test'])).size).toBe(0);

    const later = await cachedLookups(db, a.connectionId, ['hit@x.test', 'miss@x.test'], now + MISS_TTL_MS + 60_000);
    expect([...later.keys()]).toEqual(['hit@x.test']);
    expect((await cachedLookups(db, a.connectionId, ['hit@x.test'], now + HIT_TTL_MS + 60_000)).size).toBe(0);

    for (let i = 0; i < 5; i++) await saveLookup(db, a.connectionId, `n${i}@x.test`, null);
    await pruneLookups(db, a.connectionId, { maxRows: 3 });
    const { rows } = await db.query<{ email: string }>(
      'SELECT email FROM contact_lookups WHERE connection_id = $1 ORDER BY email',
      [a.connectionId],
    );
    expect(rows.map((r) => r.email)).toEqual(['n2@x.test', 'n3@x.test', 'n4@x.test']);
  });
});
