import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../activities/pipedrive-change.js';
import { eventIdFor } from '../../sync-rules/event-id.js';
import { eventually } from '../support/stack.js';
import { startHarness, type Harness, type SyncUser } from '../support/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
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
});
