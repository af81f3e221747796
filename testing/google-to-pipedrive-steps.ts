/**
 * What the Google → Pipedrive tests do and look at, on a started harness: the user edits the calendar through the
 * official Google client, a change notification or webhook is processed, and the activities are read back from the
 * Pipedrive emulator. `harness` is read at each call, so the steps can be made before the harness starts.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { expect } from 'vitest';
import type { PipedriveChange } from '../adapters/pipedrive/change.js';
import { linkByEvent } from '../adapters/store/links.js';
import { eventIdFor } from '../sync-rules/event-id.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../sync-rules/settings.js';
import { pipedriveWebhook } from './pipedrive-webhook.js';
import { eventually } from './stack.js';
import type { Harness, SyncUser } from './sync-harness.js';

/** An activity as the Pipedrive emulator holds it (the fields these tests read). */
export interface Activity {
  id: number;
  subject: string;
  type: string;
  owner_id: number;
  is_deleted: boolean;
  deal_id: number | null;
  person_id: number | null;
  org_id: number | null;
  due_date: string | null;
  due_time: string | null;
  duration: string | null;
  public_description: string | null;
  location: { value: string } | null;
  busy: boolean;
  conference_meeting_url: string | null;
  conference_meeting_client: string | null;
  conference_meeting_id: string | null;
}

/** `YYYY-MM-DD`, `days` from today (UTC). */
export function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export function timed(date: string, from: string, to: string): Pick<calendar_v3.Schema$Event, 'start' | 'end'> {
  return { start: { dateTime: `${date}T${from}:00Z` }, end: { dateTime: `${date}T${to}:00Z` } };
}

/** Waits until Pipedrive's clock (second resolution) has moved on, so two edits get distinct update times. */
export async function nextSecond(): Promise<void> {
  const second = Math.floor(Date.now() / 1000);
  await eventually(async () => (Math.floor(Date.now() / 1000) > second ? true : undefined), 3_000);
}

export function googleToPipedriveSteps(harness: () => Harness) {
  let deliveries = 0;
  function webhook(action: 'create' | 'change' | 'delete', id: number): PipedriveChange {
    return pipedriveWebhook({
      action,
      entityId: id,
      delivery: `g2p-${id}-${action}-${++deliveries}`,
      changeSource: 'app',
    });
  }

  /** The user's activities in Pipedrive (not deleted). */
  function activitiesOf(user: SyncUser): Activity[] {
    return (harness().pipedrive.control.listActivities() as unknown as Activity[]).filter(
      (a) => a.owner_id === user.pipedriveUserId && !a.is_deleted,
    );
  }

  function activity(id: number): Activity {
    return harness().pipedrive.control.getActivity(id) as unknown as Activity;
  }

  /** Runs `signal`, then waits until the workflow processed at least one more item and has nothing left to do. */
  async function processed(user: SyncUser, signal: () => Promise<void>): Promise<void> {
    const h = harness();
    const before = (await h.sync.status(user.connectionId)).processed;
    await signal();
    await eventually(
      async () => {
        const s = await h.sync.status(user.connectionId);
        return s.processed > before && s.queued === 0 && s.state !== 'syncing' ? s : undefined;
      },
      30_000,
      `the sync of ${user.connectionId} to process the change`,
    );
  }

  /** A Google change notification, fully processed (one pull). */
  function pull(user: SyncUser): Promise<void> {
    return processed(user, () => harness().sync.googleChanged(user.connectionId));
  }

  /** A Pipedrive webhook for an activity, fully processed. */
  function pushActivity(user: SyncUser, action: 'create' | 'change' | 'delete', id: number): Promise<void> {
    return processed(user, () => harness().sync.pipedriveChanged(user.connectionId, webhook(action, id)));
  }

  async function insertEvent(user: SyncUser, body: calendar_v3.Schema$Event): Promise<calendar_v3.Schema$Event> {
    const res = await user.calendar.events.insert({ calendarId: user.calendarId, requestBody: body });
    return res.data;
  }

  async function patchEvent(user: SyncUser, eventId: string, body: calendar_v3.Schema$Event) {
    const res = await user.calendar.events.patch({ calendarId: user.calendarId, eventId, requestBody: body });
    return res.data;
  }

  async function getEvent(user: SyncUser, eventId: string): Promise<calendar_v3.Schema$Event> {
    return (await user.calendar.events.get({ calendarId: user.calendarId, eventId })).data;
  }

  /** A new Google event that the sync has turned into an activity (two-way mode); returns both. */
  async function importedEvent(user: SyncUser, body: calendar_v3.Schema$Event) {
    const event = await insertEvent(user, body);
    await pull(user);
    const link = await linkByEvent(harness().stack.db, user.connectionId, user.calendarId, event.id!);
    expect(link, 'the new event is linked to an activity').not.toBeNull();
    return { event, activityId: link!.activityId };
  }

  /** An activity linked to a deal, person and organization, pushed to Google; returns the activity and its event. */
  async function pushedActivity(user: SyncUser, subject: string) {
    const pd = harness().pipedrive.control;
    const userId = user.pipedriveUserId;
    const org = pd.createOrganization({ userId, name: 'Globex' }) as { id: number };
    const person = pd.createPerson({ userId, name: 'Hank', org_id: org.id }) as { id: number };
    const deal = pd.createDeal({ userId, title: 'Hammock', person_id: person.id, org_id: org.id }) as { id: number };
    const created = pd.createActivity({
      userId,
      subject,
      type: 'meeting',
      deal_id: deal.id,
      person_id: person.id,
      org_id: org.id,
      due_date: day(10),
      due_time: '09:00',
      duration: '01:00',
      location: { value: 'Cypress Creek' },
      public_description: 'Bring the plans',
      busy: true,
    }) as unknown as Activity;
    await pushActivity(user, 'create', created.id);
    const eventId = eventIdFor(user.connectionId, created.id);
    const event = await getEvent(user, eventId);
    expect(event.summary).toBe(`Hammock > Hank > Globex > ${subject}`);
    return { activityId: created.id, eventId, deal, person, org };
  }

  /** Google event writes the activities made so far. */
  function googleWrites(): number {
    let n = 0;
    for (const [key, count] of harness().apiCalls) {
      if (/^google events\.(insert|update|patch|delete) /.test(key)) n += count;
    }
    return n;
  }

  /** Activity writes the sync made to Pipedrive so far. */
  function pipedriveWrites(): number {
    let n = 0;
    for (const [key, count] of harness().apiCalls) if (/^pipedrive (POST|PATCH|DELETE) /.test(key)) n += count;
    return n;
  }

  function apiCalls(key: string): number {
    return harness().apiCalls.get(key) ?? 0;
  }

  /** Connects a user with the sync off, so the test can put events into the calendar before the sync is enabled. */
  async function connectDisabled(settings: Partial<SyncSettings> = {}): Promise<SyncUser> {
    return harness().connectUser({ ...settings, enabled: false });
  }

  async function enable(user: SyncUser, settings: Partial<SyncSettings> = {}): Promise<void> {
    await processed(user, async () => {
      await harness().sync.configure(user.connectionId, {
        ...DEFAULT_SETTINGS,
        calendarId: user.calendarId,
        ...settings,
        enabled: true,
      });
    });
  }

  return {
    webhook,
    activitiesOf,
    activity,
    processed,
    pull,
    pushActivity,
    insertEvent,
    patchEvent,
    getEvent,
    importedEvent,
    pushedActivity,
    googleWrites,
    pipedriveWrites,
    apiCalls,
    connectDisabled,
    enable,
  };
}
