/**
 * What to do with an observed change: our own write coming back (echo), a change to apply on the other side, or
 * something this connection does not sync (ignore). Pure decisions; the workflow carries them out.
 *
 * Echo suppression compares the content hash of what we observe with the hash of what we last wrote for that link
 * (stored in the link table). Only the link table's hash is trusted: the copy in the event's extendedProperties is
 * not updated when a Google edit is applied to Pipedrive, so a user reverting that edit would look like an echo.
 *
 * Every decision carries a `reason` code (stable, for logs, metrics and tests).
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { readEventLinkProperties } from './event-properties.js';
import type { SyncSettings } from './settings.js';
import { addDays, googleToSchedule, pdSchedule } from './time-mapping.js';
import type { PdActivity } from './types.js';

/** True when the observed content is what we last wrote, i.e. the change is our own write seen again. */
export function isEcho(currentHash: string | null | undefined, lastWrittenHash: string | null | undefined): boolean {
  return !!currentHash && !!lastWrittenHash && currentHash === lastWrittenHash;
}

export type ChangeDecision<Effect extends string, Reason extends string> =
  | { decision: 'echo'; reason: 'own-write' }
  | { decision: 'ignore'; reason: Reason }
  | { decision: 'apply'; effect: Effect; reason: Reason };

// ---------------------------------------------------------------------------------------------------------------
// Google → Pipedrive

export type GoogleChangeEffect = 'create-activity' | 'update-activity' | 'delete-activity' | 'unlink';
export type GoogleChangeReason =
  | 'sync-disabled'
  | 'event-deleted'
  | 'deleted-event-not-linked'
  | 'written-by-another-connection'
  | 'own-event-without-link'
  | 'google-events-not-imported-in-this-mode'
  | 'private-event-skipped'
  | 'invitation-declined'
  | 'other-event-type'
  | 'free-event-skipped'
  | 'all-day-event-skipped'
  | 'no-external-attendees'
  | 'recurring-series-master'
  | 'beyond-recurring-horizon'
  | 'no-readable-start'
  | 'event-changed'
  | 'event-created';

export interface GoogleChangeInput {
  event: calendar_v3.Schema$Event;
  /** The link-table row for this event, if any. */
  link: { activityId: number; lastWrittenHash: string | null } | null;
  settings: SyncSettings;
  connectionId: string;
  /** `contentHash(eventToSyncedFields(event, ctx))`; needed to recognize echoes of linked events. */
  observedHash?: string | null;
  /** Workflow time (ISO), for the recurring-instance horizon; without it the horizon is not applied. */
  now?: string;
}

function isPrivateEvent(event: calendar_v3.Schema$Event): boolean {
  return event.visibility === 'private' || event.visibility === 'confidential';
}

/** The user answered "No" to this invitation (their own attendee entry). */
export function isDeclinedByUser(event: calendar_v3.Schema$Event): boolean {
  return (event.attendees ?? []).some((a) => a.self && a.responseStatus === 'declined');
}

/** Someone other than the user takes part: an attendee that is neither the user nor a room or resource. */
export function hasExternalAttendee(event: calendar_v3.Schema$Event): boolean {
  return (event.attendees ?? []).some((a) => !a.self && !a.resource && !!a.email);
}

/**
 * Two-way import filters (settings `import*`): why a Google event not linked to an activity is not imported, or
 * null. They decide only what becomes a new activity; an event already linked is never filtered (except a declined
 * invitation, see `classifyGoogleChange`).
 */
export function importFilterReason(event: calendar_v3.Schema$Event, settings: SyncSettings): GoogleChangeReason | null {
  // Focus time, out of office, working location, birthdays, Gmail's events: the calendar's own bookkeeping.
  if (!settings.importOtherEventTypes && (event.eventType ?? 'default') !== 'default') return 'other-event-type';
  if (!settings.importDeclined && isDeclinedByUser(event)) return 'invitation-declined';
  if (!settings.importFree && event.transparency === 'transparent') return 'free-event-skipped';
  if (!settings.importAllDay && !!event.start?.date) return 'all-day-event-skipped';
  if (!settings.importWithoutExternalAttendees && !hasExternalAttendee(event)) return 'no-external-attendees';
  return null;
}

export function classifyGoogleChange(input: GoogleChangeInput): ChangeDecision<GoogleChangeEffect, GoogleChangeReason> {
  const { event, link, settings } = input;
  if (!settings.enabled) return { decision: 'ignore', reason: 'sync-disabled' };

  const ours = readEventLinkProperties(event);
  // Another user's sync writing into a shared calendar: importing it would duplicate their activity.
  if (!link && ours && ours.connectionId !== input.connectionId) {
    return { decision: 'ignore', reason: 'written-by-another-connection' };
  }

  if (event.status === 'cancelled') {
    if (!link) return { decision: 'ignore', reason: 'deleted-event-not-linked' };
    return {
      decision: 'apply',
      effect: settings.deletion === 'delete' ? 'delete-activity' : 'unlink',
      reason: 'event-deleted',
    };
  }

  // Under 'skip', private events are not synced at all — neither imported nor their edits applied.
  if (settings.privateEvents === 'skip' && isPrivateEvent(event)) {
    return { decision: 'ignore', reason: 'private-event-skipped' };
  }

  const start = googleToSchedule(event.start, event.end);

  if (link) {
    // Declining a synced invitation takes it out of the CRM as a deletion would (the answer does not change the
    // synced content, so this comes before the echo check).
    if (!settings.importDeclined && isDeclinedByUser(event)) {
      return {
        decision: 'apply',
        effect: settings.deletion === 'delete' ? 'delete-activity' : 'unlink',
        reason: 'invitation-declined',
      };
    }
    if (isEcho(input.observedHash, link.lastWrittenHash)) return { decision: 'echo', reason: 'own-write' };
    if (start === null) return { decision: 'ignore', reason: 'no-readable-start' };
    // Edits to linked events flow back in both modes.
    return { decision: 'apply', effect: 'update-activity', reason: 'event-changed' };
  }

  // Our own event with no link: the link was dropped on purpose ('unlink' policy) or its creation is in flight.
  if (ours) return { decision: 'ignore', reason: 'own-event-without-link' };
  if (settings.mode === 'pipedrive-to-google') {
    return { decision: 'ignore', reason: 'google-events-not-imported-in-this-mode' };
  }
  const filtered = importFilterReason(event, settings);
  if (filtered) return { decision: 'ignore', reason: filtered };
  // We read with singleEvents=true, so instances arrive one by one; a series master would duplicate them.
  if ((event.recurrence ?? []).length > 0) return { decision: 'ignore', reason: 'recurring-series-master' };
  if (start === null) return { decision: 'ignore', reason: 'no-readable-start' };
  if (event.recurringEventId && input.now) {
    const horizon = addDays(input.now.slice(0, 10), settings.recurringHorizonDays);
    if (start.due_date > horizon) return { decision: 'ignore', reason: 'beyond-recurring-horizon' };
  }
  return { decision: 'apply', effect: 'create-activity', reason: 'event-created' };
}

// ---------------------------------------------------------------------------------------------------------------
// Pipedrive → Google

export type PipedriveChangeEffect = 'create-event' | 'update-event' | 'delete-event' | 'unlink';
export type PipedriveChangeReason =
  | 'sync-disabled'
  | 'no-calendar'
  | 'activity-deleted'
  | 'deleted-activity-not-linked'
  | 'not-owned-by-connected-user'
  | 'activity-type-not-synced'
  | 'done-activities-removed'
  | 'private-activity-skipped'
  | 'no-due-date'
  | 'activity-changed'
  | 'activity-created';

export interface PipedriveChangeInput {
  /** The activity's current state; null when it is gone (deleted and purged). */
  activity: PdActivity | null;
  /** The link-table row for this activity, if any. */
  link: { eventId: string; lastWrittenHash: string | null } | null;
  settings: SyncSettings;
  /** The Pipedrive user id of the connected user: only their own activities sync. */
  ownerId: number;
  /** `contentHash(activityToSyncedFields(activity, ctx))`; needed to recognize echoes. */
  observedHash?: string | null;
}

/** Why an activity must not have a calendar event, or null if it should have one. */
function exclusionReason(activity: PdActivity, settings: SyncSettings, ownerId: number): PipedriveChangeReason | null {
  if (activity.owner_id !== ownerId) return 'not-owned-by-connected-user';
  if (settings.activityTypesOut.length > 0 && !settings.activityTypesOut.includes(activity.type)) {
    return 'activity-type-not-synced';
  }
  if (activity.done === true && settings.doneActivities === 'remove') return 'done-activities-removed';
  if (activity.private === true && settings.privateEvents === 'skip') return 'private-activity-skipped';
  if (pdSchedule(activity) === null) return 'no-due-date';
  return null;
}

export function classifyPipedriveChange(
  input: PipedriveChangeInput,
): ChangeDecision<PipedriveChangeEffect, PipedriveChangeReason> {
  const { activity, link, settings } = input;
  if (!settings.enabled) return { decision: 'ignore', reason: 'sync-disabled' };
  if (settings.calendarId === null) return { decision: 'ignore', reason: 'no-calendar' };

  if (activity === null || activity.is_deleted === true) {
    if (!link) return { decision: 'ignore', reason: 'deleted-activity-not-linked' };
    return {
      decision: 'apply',
      effect: settings.deletion === 'delete' ? 'delete-event' : 'unlink',
      reason: 'activity-deleted',
    };
  }

  // An activity that left the synced set (owner changed, type filtered, done, private, undated) takes its event out
  // of the calendar regardless of the deletion policy: that policy is about what a user deleted, and here nothing was.
  const excluded = exclusionReason(activity, settings, input.ownerId);
  if (excluded) {
    return link
      ? { decision: 'apply', effect: 'delete-event', reason: excluded }
      : { decision: 'ignore', reason: excluded };
  }

  if (link) {
    if (isEcho(input.observedHash, link.lastWrittenHash)) return { decision: 'echo', reason: 'own-write' };
    return { decision: 'apply', effect: 'update-event', reason: 'activity-changed' };
  }
  return { decision: 'apply', effect: 'create-event', reason: 'activity-created' };
}
