import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { readEventLinkProperties } from '../../sync-rules/event-properties.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../../sync-rules/settings.js';
import { reconcilePipedrive } from '../../activities/feeds/reconcile.js';
import { loadSyncContext } from '../../activities/sync/context.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  // Relocation after a calendar switch in batches of one, so a few events show the batching.
  h = await startHarness({ relocateBatch: 1 });
});
afterAll(async () => {
  await h.close();
});

function webhook(action: 'create' | 'change' | 'delete', entity: string, id: number): PipedriveChange {
  return {
    meta: {
      action,
      entity,
      entity_id: String(id),
      id: `${entity}-${id}-${action}-${Math.random()}`,
      change_source: 'app',
    },
    data: null,
    previous: null,
  };
}

async function eventOf(user: SyncUser, activityId: number) {
  const res = await user.calendar.events
    .get({ calendarId: user.calendarId, eventId: eventIdFor(user.connectionId, activityId) })
    .catch(() => null);
  return res?.data ?? null;
}

/** The live (not cancelled) events of a calendar that carry this activity's id, whatever their id generation. */
function eventsOfActivity(
  user: SyncUser,
  activityId: number,
  calendarId = user.calendarId,
): (calendar_v3.Schema$Event & { id: string })[] {
  return h.google.control
    .listEvents(user.email, calendarId)
    .filter((e) => readEventLinkProperties(e)?.activityId === activityId);
}

/** The single live event of an activity, once it exists. */
async function theEventOf(user: SyncUser, activityId: number, calendarId = user.calendarId) {
  return eventually(async () => {
    const events = eventsOfActivity(user, activityId, calendarId);
    return events.length === 1 ? events[0] : undefined;
  });
}

type ActivityFields = Parameters<Harness['pipedrive']['control']['createActivity']>[0];

/** The user creates an activity in Pipedrive; its webhook reaches the sync and is processed. */
async function createActivity(user: SyncUser, fields: Omit<ActivityFields, 'userId'>): Promise<number> {
  const activity = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject: 'Call Hank',
    type: 'meeting',
    due_date: '2026-12-01',
    due_time: '09:30',
    duration: '01:00',
    ...fields,
  }) as { id: number };
  await h.sync.pipedriveChanged(user.connectionId, webhook('create', 'activity', activity.id));
  await h.settled(user.connectionId);
  return activity.id;
}

/** The user edits an activity in Pipedrive; its webhook reaches the sync and is processed. */
async function updateActivity(
  user: SyncUser,
  id: number,
  patch: Parameters<Harness['pipedrive']['control']['updateActivity']>[1],
) {
  h.pipedrive.control.updateActivity(id, patch, { userId: user.pipedriveUserId });
  await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'activity', id));
  await h.settled(user.connectionId);
}

async function configure(user: SyncUser, settings: Partial<SyncSettings>) {
  await h.sync.configure(user.connectionId, {
    ...DEFAULT_SETTINGS,
    enabled: true,
    calendarId: user.calendarId,
    ...settings,
  });
  await h.settled(user.connectionId);
}

/** API calls the activities made since `before` (a snapshot of `h.apiCalls`), by "side route status". */
function callsSince(before: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, n] of h.apiCalls) {
    const d = n - (before.get(key) ?? 0);
    if (d > 0) delta.set(key, d);
  }
  return delta;
}

/** Calls that change something on either side: Google event writes, Pipedrive POST/PATCH/DELETE. */
function writesIn(calls: Map<string, number>): string[] {
  return [...calls.keys()].filter(
    (key) =>
      /^google events\.(insert|update|patch|delete|move) /.test(key) || /^pipedrive (POST|PATCH|DELETE) /.test(key),
  );
}

function count(calls: Map<string, number>, prefix: string): number {
  let total = 0;
  for (const [key, n] of calls) if (key.startsWith(prefix)) total += n;
  return total;
}

describe('Pipedrive → Google', () => {
  it('creates an event for a new activity, titled Deal > Person > Org > Subject', async () => {
    const user = await h.connectUser();
    const pd = h.pipedrive.control;
    const org = pd.createOrganization({ userId: user.pipedriveUserId, name: 'Globex' }) as { id: number };
    const person = pd.createPerson({ userId: user.pipedriveUserId, name: 'Hank', org_id: org.id }) as { id: number };
    const deal = pd.createDeal({
      userId: user.pipedriveUserId,
      title: 'Hammock',
      person_id: person.id,
      org_id: org.id,
    }) as { id: number };
    const activity = pd.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Kick-off',
      type: 'meeting',
      deal_id: deal.id,
      person_id: person.id,
      org_id: org.id,
      due_date: '2026-12-01',
      due_time: '09:30',
      duration: '01:15',
      location: { value: 'Cypress Creek' },
      public_description: 'Bring the plans',
      busy: false,
      attendees: [{ email: 'hank@globex.example' }],
    }) as { id: number };

    await h.sync.pipedriveChanged(user.connectionId, webhook('create', 'activity', activity.id));
    const event = await eventually(() => eventOf(user, activity.id).then((e) => e ?? undefined));
    expect(event).toMatchObject({
      summary: 'Hammock > Hank > Globex > Kick-off',
      start: { dateTime: '2026-12-01T09:30:00Z' },
      end: { dateTime: '2026-12-01T10:45:00Z' },
      location: 'Cypress Creek',
      description: 'Bring the plans',
      transparency: 'transparent',
    });
    expect(event.attendees?.map((a) => a.email)).toEqual(['hank@globex.example']);
    expect(event.extendedProperties?.private).toMatchObject({
      pdActivityId: String(activity.id),
      pdConnectionId: user.connectionId,
    });
  });
  it('updates the event when the activity’s time, subject, description and location change', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, { public_description: 'Agenda', location: { value: 'Room 1' } });
    await theEventOf(user, id);

    await updateActivity(user, id, {
      subject: 'Call Hank again',
      due_date: '2026-12-02',
      due_time: '14:00',
      duration: '00:45',
      public_description: 'New agenda',
      location: { value: 'Room 2' },
    });

    const event = await eventOf(user, id);
    expect(event).toMatchObject({
      summary: 'Call Hank again',
      start: { dateTime: '2026-12-02T14:00:00Z' },
      end: { dateTime: '2026-12-02T14:45:00Z' },
      description: 'New agenda',
      location: 'Room 2',
    });
    expect(eventsOfActivity(user, id)).toHaveLength(1);
  });

  it('deletes the event when the activity is deleted, and the following Google pull writes nothing', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, {});
    const { id: eventId } = await theEventOf(user, id);

    h.pipedrive.control.deleteActivity(id, { userId: user.pipedriveUserId });
    await h.sync.pipedriveChanged(user.connectionId, webhook('delete', 'activity', id));
    await h.settled(user.connectionId);
    expect(eventsOfActivity(user, id)).toEqual([]);
    expect(h.google.control.inspectEvent(user.email, user.calendarId, eventId).event.status).toBe('cancelled');

    const before = new Map(h.apiCalls);
    await h.sync.googleChanged(user.connectionId);
    await h.settled(user.connectionId);
    const calls = callsSince(before);
    expect(count(calls, 'google events.list')).toBeGreaterThan(0);
    expect(writesIn(calls)).toEqual([]);
  });

  it('keeps the event of an activity marked done by default', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, { subject: 'Keep me' });
    await theEventOf(user, id);

    await updateActivity(user, id, { done: true });

    expect(eventsOfActivity(user, id).map((e) => e.summary)).toEqual(['Keep me']);
  });

  it('removes the event of an activity marked done when done activities are set to be removed', async () => {
    const user = await h.connectUser({ doneActivities: 'remove' });
    const id = await createActivity(user, {});
    await theEventOf(user, id);

    await updateActivity(user, id, { done: true });

    expect(eventsOfActivity(user, id)).toEqual([]);
  });

  it('removes the event when the activity is handed over to another Pipedrive user', async () => {
    const user = await h.connectUser();
    const colleague = h.pipedrive.control.createUser({
      companyId: h.companyId,
      name: 'Colleague',
      email: `colleague-${user.connectionId}@example.com`,
    });
    const id = await createActivity(user, {});
    await theEventOf(user, id);

    await updateActivity(user, id, { owner_id: colleague.userId });

    expect(eventsOfActivity(user, id)).toEqual([]);
  });

  it('sends only the configured activity types: a call gets no event until it becomes a meeting, and loses it again', async () => {
    const user = await h.connectUser({ activityTypesOut: ['meeting'] });
    const id = await createActivity(user, { type: 'call', subject: 'Quick call' });
    expect(eventsOfActivity(user, id)).toEqual([]);

    await updateActivity(user, id, { type: 'meeting' });
    expect((await theEventOf(user, id)).summary).toBe('Quick call');

    await updateActivity(user, id, { type: 'call' });
    expect(eventsOfActivity(user, id)).toEqual([]);
  });

  // The Pipedrive emulator has no privacy field on activities (Pipedrive's public v2 schema has none either), so the
  // policy is exercised where privacy is observable: private events made in Google, and the visibility we write.
  it('applies the private-events policy: private Google events are imported neutrally, in full, or not at all', async () => {
    const synced = await h.connectUser({ privateEvents: 'private' });
    const open = await h.connectUser({ privateEvents: 'public' });
    const skipping = await h.connectUser({ privateEvents: 'skip' });
    for (const user of [synced, open, skipping]) {
      await user.calendar.events.insert({
        calendarId: user.calendarId,
        requestBody: {
          summary: 'Doctor',
          visibility: 'private',
          start: { dateTime: '2026-12-03T08:00:00Z' },
          end: { dateTime: '2026-12-03T09:00:00Z' },
        },
      });
      await h.sync.googleChanged(user.connectionId);
      await h.settled(user.connectionId);
    }
    const subjectsOf = (user: SyncUser) =>
      h.pipedrive.control
        .listActivities({ companyId: h.companyId })
        .filter((a) => a.owner_id === user.pipedriveUserId)
        .map((a) => a.subject);

    // Pipedrive has no private activities: under 'private' the CRM gets the time, not the content.
    expect(subjectsOf(synced)).toEqual(['Private event']);
    expect(subjectsOf(open)).toEqual(['Doctor']);
    expect(subjectsOf(skipping)).toEqual([]);
    // An activity's event gets no visibility from the sync under any policy (Pipedrive has none to give).
    const id = await createActivity(skipping, { subject: 'Ordinary' });
    expect((await theEventOf(skipping, id)).visibility).toBeUndefined();
  });

  it('titles events with the default template, leaving out absent deal, person and organization', async () => {
    const user = await h.connectUser();
    const person = h.pipedrive.control.createPerson({ userId: user.pipedriveUserId, name: 'Hank' }) as {
      id: number;
    };
    const withPerson = await createActivity(user, { subject: 'Lunch', person_id: person.id });
    const alone = await createActivity(user, { subject: 'Focus time' });

    expect((await theEventOf(user, withPerson)).summary).toBe('Hank > Lunch');
    expect((await theEventOf(user, alone)).summary).toBe('Focus time');
  });

  it('titles events with the user’s own template', async () => {
    const user = await h.connectUser({ titleTemplate: '{subject} ({org})' });
    const org = h.pipedrive.control.createOrganization({ userId: user.pipedriveUserId, name: 'Globex' }) as {
      id: number;
    };
    const id = await createActivity(user, { subject: 'Review', org_id: org.id });

    expect((await theEventOf(user, id)).summary).toBe('Review (Globex)');
  });

  it('writes an activity without a time as an all-day event whose end date is exclusive', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, { due_date: '2026-12-31', due_time: null, duration: null });

    const event = await theEventOf(user, id);
    expect(event.start).toEqual({ date: '2026-12-31' });
    expect(event.end).toEqual({ date: '2027-01-01' });
  });

  it('writes activities spanning a daylight-saving change with their exact UTC start and end', async () => {
    const user = await h.connectUser();
    const spring = await createActivity(user, { due_date: '2026-03-29', due_time: '00:30', duration: '03:00' });
    const autumn = await createActivity(user, { due_date: '2026-10-25', due_time: '00:30', duration: '03:00' });

    const springEvent = await theEventOf(user, spring);
    expect(springEvent.start).toMatchObject({ dateTime: '2026-03-29T00:30:00Z' });
    expect(springEvent.end).toMatchObject({ dateTime: '2026-03-29T03:30:00Z' });
    const autumnEvent = await theEventOf(user, autumn);
    expect(autumnEvent.start).toMatchObject({ dateTime: '2026-10-25T00:30:00Z' });
    expect(autumnEvent.end).toMatchObject({ dateTime: '2026-10-25T03:30:00Z' });
  });

  it('marks busy activities opaque and free ones transparent', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, { busy: true });
    expect((await theEventOf(user, id)).transparency).toBe('opaque');

    await updateActivity(user, id, { busy: false });
    expect((await theEventOf(user, id)).transparency).toBe('transparent');
  });

  it('writes attendees without sending invitations by default', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, { attendees: [{ email: 'guest@globex.example' }] });

    const event = await theEventOf(user, id);
    expect(event.attendees?.map((a) => a.email)).toEqual(['guest@globex.example']);
    expect(h.google.control.inspectEvent(user.email, user.calendarId, event.id).lastSendUpdates).toBe('none');
    const records = h.google.control.stats().invitations.filter((r) => r.eventId === event.id);
    expect(records.length).toBeGreaterThan(0);
    expect(records.flatMap((r) => r.notified)).toEqual([]);
  });

  it('sends invitations to attendees when the user opted in', async () => {
    const user = await h.connectUser({ sendInvitations: true });
    const id = await createActivity(user, { attendees: [{ email: 'guest@globex.example' }] });

    const event = await theEventOf(user, id);
    expect(h.google.control.inspectEvent(user.email, user.calendarId, event.id).lastSendUpdates).toBe('all');
    const records = h.google.control.stats().invitations.filter((r) => r.eventId === event.id);
    expect(records.flatMap((r) => r.notified)).toContain('guest@globex.example');
  });

  it('mails nobody about moving an event to a newly chosen calendar, even with invitations on', async () => {
    const user = await h.connectUser({ sendInvitations: true });
    const id = await createActivity(user, { attendees: [{ email: 'guest@globex.example' }] });
    const event = await theEventOf(user, id);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });

    await configure(user, { sendInvitations: true, calendarId: dedicated.id });

    expect((await theEventOf(user, id, dedicated.id)).id).toBe(event.id);
    expect(h.google.control.inspectEvent(user.email, dedicated.id, event.id).lastSendUpdates).toBe('none');
    const moves = h.google.control
      .stats()
      .invitations.filter((r) => r.eventId === event.id && r.operation === 'events.move');
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.flatMap((r) => r.notified)).toEqual([]);
  });

  it('adds the linked contact details with links back to Pipedrive when the setting is on', async () => {
    const user = await h.connectUser({ contactDetails: true });
    const pd = h.pipedrive.control;
    const org = pd.createOrganization({ userId: user.pipedriveUserId, name: 'Globex' }) as { id: number };
    const person = pd.createPerson({
      userId: user.pipedriveUserId,
      name: 'Hank',
      org_id: org.id,
      emails: [{ value: 'hank@globex.example', primary: true, label: 'work' }],
    }) as { id: number };
    const deal = pd.createDeal({ userId: user.pipedriveUserId, title: 'Hammock', person_id: person.id }) as {
      id: number;
    };
    const id = await createActivity(user, {
      public_description: 'Bring the plans',
      deal_id: deal.id,
      person_id: person.id,
      org_id: org.id,
    });

    const description = (await theEventOf(user, id)).description ?? '';
    const app = h.pipedrive.url;
    expect(description.startsWith('Bring the plans\n\n')).toBe(true);
    expect(description).toContain(`Deal: Hammock – ${app}/deal/${deal.id}`);
    expect(description).toContain(`Person: Hank (hank@globex.example) – ${app}/person/${person.id}`);
    expect(description).toContain(`Organization: Globex – ${app}/organization/${org.id}`);
  });

  it('re-titles every linked event when a deal, a person or an organization is renamed', async () => {
    const user = await h.connectUser();
    const pd = h.pipedrive.control;
    const org = pd.createOrganization({ userId: user.pipedriveUserId, name: 'Globex' }) as { id: number };
    const person = pd.createPerson({ userId: user.pipedriveUserId, name: 'Hank', org_id: org.id }) as {
      id: number;
    };
    const deal = pd.createDeal({ userId: user.pipedriveUserId, title: 'Hammock' }) as { id: number };
    const first = await createActivity(user, { subject: 'Kick-off', deal_id: deal.id });
    const second = await createActivity(user, { subject: 'Follow-up', deal_id: deal.id });
    const third = await createActivity(user, { subject: 'Visit', person_id: person.id, org_id: org.id });
    expect((await theEventOf(user, first)).summary).toBe('Hammock > Kick-off');
    expect((await theEventOf(user, third)).summary).toBe('Hank > Globex > Visit');

    pd.updateDeal(deal.id, { title: 'Big hammock' }, { userId: user.pipedriveUserId });
    pd.updatePerson(person.id, { name: 'Hank Scorpio' }, { userId: user.pipedriveUserId });
    pd.updateOrganization(org.id, { name: 'Globex Corp' }, { userId: user.pipedriveUserId });
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'deal', deal.id));
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'person', person.id));
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'organization', org.id));
    await h.settled(user.connectionId);

    expect((await theEventOf(user, first)).summary).toBe('Big hammock > Kick-off');
    expect((await theEventOf(user, second)).summary).toBe('Big hammock > Follow-up');
    expect((await theEventOf(user, third)).summary).toBe('Hank Scorpio > Globex Corp > Visit');
  });

  it('recognizes its own write coming back from Google as an echo and writes nothing to either side', async () => {
    const user = await h.connectUser();
    const id = await createActivity(user, { subject: 'Echo me' });
    await theEventOf(user, id);
    const echoesBefore = (await h.sync.status(user.connectionId)).echoes;
    const before = new Map(h.apiCalls);

    await h.sync.googleChanged(user.connectionId);
    const status = await h.settled(user.connectionId);

    const calls = callsSince(before);
    expect(count(calls, 'google events.list')).toBeGreaterThan(0);
    expect(writesIn(calls)).toEqual([]);
    expect(status.echoes).toBeGreaterThan(echoesBefore);
    expect(h.pipedrive.control.getActivity(id)).toMatchObject({ subject: 'Echo me' });
  });

  it('writes the event once when the same activity is signalled three times', async () => {
    const user = await h.connectUser();
    const activity = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Signalled thrice',
      type: 'meeting',
      due_date: '2026-12-01',
      due_time: '09:30',
      duration: '01:00',
    }) as { id: number };
    const before = new Map(h.apiCalls);

    const delivery = webhook('create', 'activity', activity.id);
    await h.sync.pipedriveChanged(user.connectionId, delivery);
    await h.sync.pipedriveChanged(user.connectionId, delivery);
    await h.sync.pipedriveChanged(user.connectionId, delivery);
    await h.settled(user.connectionId);

    expect(writesIn(callsSince(before))).toEqual(['google events.insert 200']);
    expect(count(callsSince(before), 'google events.insert')).toBe(1);
    expect(eventsOfActivity(user, activity.id)).toHaveLength(1);
  });

  it('moves every linked event into the newly chosen calendar after a switch, unchanged and under the same id', async () => {
    const user = await h.connectUser();
    const ids = [
      await createActivity(user, { subject: 'First' }),
      await createActivity(user, { subject: 'Second' }),
      await createActivity(user, { subject: 'Deleted in Google meanwhile' }),
    ];
    const originals = await Promise.all(ids.map((id) => theEventOf(user, id)));
    // Deleted in the old calendar without the sync hearing of it (no feeds here): the switch finds it gone.
    h.google.control.deleteEvent(user.email, user.calendarId, originals[2]!.id);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });
    const before = new Map(h.apiCalls);

    await configure(user, { calendarId: dedicated.id });

    for (const i of [0, 1]) {
      const moved = await theEventOf(user, ids[i]!, dedicated.id);
      expect(moved).toMatchObject({ id: originals[i]!.id, summary: originals[i]!.summary });
      expect(eventsOfActivity(user, ids[i]!)).toEqual([]);
    }
    // Two moves (one per batch), one answered 410 for the deleted event; nothing else was written anywhere.
    const calls = callsSince(before);
    expect(writesIn(calls).sort()).toEqual(['google events.move 200', 'google events.move 410']);
    expect(calls.get('google events.move 200')).toBe(2);
    expect(calls.get('google events.move 410')).toBe(1);
    // The deleted event's activity stays in Pipedrive, unlinked: its next change writes a fresh event.
    expect(h.pipedrive.control.getActivity(ids[2]!)).toMatchObject({ subject: 'Deleted in Google meanwhile' });
    const { rows } = await h.stack.db.query('SELECT activity_id, calendar_id FROM links WHERE connection_id = $1', [
      user.connectionId,
    ]);
    expect(rows.map((r) => [Number(r.activity_id), r.calendar_id]).sort()).toEqual([
      [ids[0], dedicated.id],
      [ids[1], dedicated.id],
    ]);
    await updateActivity(user, ids[2]!, { subject: 'Back again' });
    expect((await theEventOf(user, ids[2]!, dedicated.id)).summary).toBe('Back again');

    // Edits made in Google to a moved event reach Pipedrive again.
    await user.calendar.events.patch({
      calendarId: dedicated.id,
      eventId: originals[0]!.id,
      requestBody: { summary: 'Renamed in Google' },
    });
    await h.sync.googleChanged(user.connectionId);
    await h.settled(user.connectionId);
    expect(h.pipedrive.control.getActivity(ids[0]!)).toMatchObject({ subject: 'Renamed in Google' });

    // Switching back brings every event back, the same ones again.
    await configure(user, { calendarId: user.calendarId });
    for (const i of [0, 1]) expect((await theEventOf(user, ids[i]!)).id).toBe(originals[i]!.id);
    expect((await theEventOf(user, ids[2]!)).summary).toBe('Back again');
    expect(h.google.control.listEvents(user.email, dedicated.id)).toEqual([]);
  });

  it('moves an event that changes before the relocation reaches it along with that change', async () => {
    const user = await h.connectUser();
    const first = await createActivity(user, { subject: 'Relocated first' });
    const edited = await createActivity(user, { subject: 'Edited before its turn' });
    const original = await theEventOf(user, edited);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });

    // While paused, the switch queues the relocation and the edit queues behind it; the first batch (one event)
    // puts the rest of the relocation after the edit, so the edit meets its event still in the old calendar.
    await h.sync.pause(user.connectionId);
    await h.sync.configure(user.connectionId, { ...DEFAULT_SETTINGS, enabled: true, calendarId: dedicated.id });
    h.pipedrive.control.updateActivity(edited, { subject: 'Edited, then moved' }, { userId: user.pipedriveUserId });
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'activity', edited));
    const before = new Map(h.apiCalls);
    await h.sync.resume(user.connectionId);
    await h.settled(user.connectionId);

    expect(await theEventOf(user, edited, dedicated.id)).toMatchObject({
      id: original.id,
      summary: 'Edited, then moved',
    });
    expect(eventsOfActivity(user, edited)).toEqual([]);
    expect(eventsOfActivity(user, first)).toEqual([]);
    expect((await theEventOf(user, first, dedicated.id)).summary).toBe('Relocated first');
    const calls = callsSince(before);
    expect(calls.get('google events.move 200')).toBe(2);
    expect(calls.get('google events.update 200')).toBe(1);
    expect(calls.get('google events.insert 200')).toBeUndefined();
    // The relocation moved only the first; the edit moved its own event (the sync step's calendar check).
    const moves = (await h.sync.status(user.connectionId)).recent.filter((o) => o.result === 'moved');
    expect(moves.map((o) => o.subject)).toEqual([`activity:${first}`]);
  });

  it('moves an event exactly once when the relocation crashes between the move and saving the link', async () => {
    const user = await h.connectUser();
    const activity = await createActivity(user, { subject: 'Moving' });
    const original = await theEventOf(user, activity);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });

    h.crashAt('after-google-move');
    await configure(user, { calendarId: dedicated.id });

    // The retry finds the event gone from the old calendar and already in the new one, and links it there.
    const moved = await theEventOf(user, activity, dedicated.id);
    expect(moved).toMatchObject({ id: original.id, summary: 'Moving' });
    expect(eventsOfActivity(user, activity)).toEqual([]);
    expect(h.google.control.listEvents(user.email, dedicated.id)).toHaveLength(1);
    await updateActivity(user, activity, { subject: 'Moved' });
    expect((await theEventOf(user, activity, dedicated.id)).summary).toBe('Moved');
    expect(h.google.control.listEvents(user.email, dedicated.id)).toHaveLength(1);
  });

  it('has the safety net notice events left in an old calendar, so a relocation that stopped early resumes', async () => {
    const user = await h.connectUser();
    await createActivity(user, { subject: 'Left behind' });
    const ctx = await loadSyncContext(h.deps, user.connectionId, 1);
    expect((await reconcilePipedrive(ctx)).relocationPending).toBe(false);
    await h.stack.db.query('UPDATE links SET calendar_id = $2 WHERE connection_id = $1', [
      user.connectionId,
      'calendar-switched-away-from@example.com',
    ]);
    expect((await reconcilePipedrive(ctx)).relocationPending).toBe(true);
  });

  it('writes new activities to the newly chosen calendar', async () => {
    const user = await h.connectUser();
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });
    await configure(user, { calendarId: dedicated.id });
    const later = await createActivity(user, { subject: 'After the switch' });
    expect((await theEventOf(user, later, dedicated.id)).summary).toBe('After the switch');
    expect(eventsOfActivity(user, later)).toEqual([]);
  });
});
