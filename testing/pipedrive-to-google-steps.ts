/**
 * What the Pipedrive → Google tests do and look at, on a started harness: the user creates or edits an activity in
 * Pipedrive and its webhook is processed; the activity's event is read back from Google; the API calls a step made
 * are counted. `harness` is read at each call, so the steps can be made before the harness starts.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import type { PipedriveChange } from '../adapters/pipedrive/change.js';
import { eventIdFor } from '../sync-rules/event-id.js';
import { readEventLinkProperties } from '../sync-rules/event-properties.js';
import { DEFAULT_SETTINGS, type SyncSettings } from '../sync-rules/settings.js';
import { pipedriveWebhook } from './pipedrive-webhook.js';
import { eventually } from './stack.js';
import type { Harness, SyncUser } from './sync-harness.js';

type ActivityFields = Parameters<Harness['pipedrive']['control']['createActivity']>[0];
type ActivityPatch = Parameters<Harness['pipedrive']['control']['updateActivity']>[1];

/**
 * A half-hour meeting created in Pipedrive as in its web app, with no webhook waited for (what the safety net and
 * the feeds are there to find): its id.
 */
export function meetingInPipedrive(
  h: Harness,
  user: SyncUser,
  subject: string,
  extra: Partial<ActivityFields> = {},
): number {
  const a = h.pipedrive.control.createActivity({
    userId: user.pipedriveUserId,
    subject,
    type: 'meeting',
    due_date: '2026-12-10',
    due_time: '15:00',
    duration: '00:30',
    ...extra,
  });
  return (a as { id: number }).id;
}

export function pipedriveToGoogleSteps(harness: () => Harness) {
  /** A user's change in Pipedrive as its webhook reports it (a fresh delivery id each time). */
  function webhook(action: 'create' | 'change' | 'delete', entity: string, id: number): PipedriveChange {
    return pipedriveWebhook({
      action,
      entity,
      entityId: id,
      delivery: `${entity}-${id}-${action}-${Math.random()}`,
      changeSource: 'app',
    });
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
    return harness()
      .google.control.listEvents(user.email, calendarId)
      .filter((e) => readEventLinkProperties(e)?.activityId === activityId);
  }

  /** The single live event of an activity, once it exists. */
  async function theEventOf(user: SyncUser, activityId: number, calendarId = user.calendarId) {
    return eventually(async () => {
      const events = eventsOfActivity(user, activityId, calendarId);
      return events.length === 1 ? events[0] : undefined;
    });
  }

  /** The user creates an activity in Pipedrive; its webhook reaches the sync and is processed. */
  async function createActivity(user: SyncUser, fields: Omit<ActivityFields, 'userId'>): Promise<number> {
    const h = harness();
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
  async function updateActivity(user: SyncUser, id: number, patch: ActivityPatch) {
    const h = harness();
    h.pipedrive.control.updateActivity(id, patch, { userId: user.pipedriveUserId });
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'activity', id));
    await h.settled(user.connectionId);
  }

  async function configure(user: SyncUser, settings: Partial<SyncSettings>) {
    const h = harness();
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
    for (const [key, n] of harness().apiCalls) {
      const d = n - (before.get(key) ?? 0);
      if (d > 0) delta.set(key, d);
    }
    return delta;
  }

  return { webhook, eventOf, eventsOfActivity, theEventOf, createActivity, updateActivity, configure, callsSince };
}

/** Calls that change something on either side: Google event writes, Pipedrive POST/PATCH/DELETE. */
export function writesIn(calls: Map<string, number>): string[] {
  return [...calls.keys()].filter(
    (key) =>
      /^google events\.(insert|update|patch|delete|move) /.test(key) || /^pipedrive (POST|PATCH|DELETE) /.test(key),
  );
}

/** The calls in `calls` whose key starts with `prefix`, e.g. `google events.list`. */
export function count(calls: Map<string, number>, prefix: string): number {
  let total = 0;
  for (const [key, n] of calls) if (key.startsWith(prefix)) total += n;
  return total;
}
