/**
 * Pipedrive → Google on the real stack, what one activity's changes do to its event: created, updated, deleted;
 * the filters (done, owner, types, private events); the event's content (titles, times, busy, attendees and
 * invitations, contact details, renames); echoes and duplicate webhooks. A calendar switch is in
 * sync-pipedrive-to-google-calendar-switch.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipedriveToGoogleSteps, count, writesIn } from '../../testing/pipedrive-to-google-steps.js';
import { eventually } from '../../testing/stack.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const { webhook, eventOf, eventsOfActivity, theEventOf, createActivity, updateActivity, callsSince } =
  pipedriveToGoogleSteps(() => h);

describe('Pipedrive → Google: the changes of an activity', () => {
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
});
