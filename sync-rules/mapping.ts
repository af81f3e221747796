/**
 * The field mapping between a Pipedrive activity and a Google event (docs/sync-rules.md), in both directions, and the
 * canonical `SyncedFields` view of either side.
 *
 * Both `*ToSyncedFields` functions produce the same normalized form, so that an event we wrote from an activity
 * compares (and hashes) equal to that activity, and an activity we wrote from an event compares equal to that event.
 * `eventToSyncedFields` goes through `eventToActivityFields` on purpose: what Google can express but Pipedrive cannot
 * (seconds, multi-day all-day events, a Google-only privacy toggle) is dropped exactly as it would be when written,
 * so it never shows up as a difference that can never be reconciled.
 *
 * Privacy (`privateEvents`) is defined on what both sides have: Pipedrive activities have no privacy field (in
 * neither API version), so privacy exists only on Google events (`visibility` private/confidential).
 * - `'private'` (default): a private Google event becomes an activity with neutral content — subject
 *   `PRIVATE_SUBJECT`, no description, location or attendees — and its real time and busy state; what the user
 *   keeps private in Google does not end up in the CRM for colleagues to read. Pipedrive edits of such an activity
 *   only move its time or busy state in Google (google-event-writes.ts keeps the private content).
 * - `'public'`: private events are synced like any other, content included.
 * - `'skip'`: private events are not synced at all (echo.ts).
 * The sync never sets or changes an event's `visibility`: it is the user's, like colours and reminders.
 *
 * Attachments are never transferred: no `attachments` on events, no files on activities.
 *
 * Video-call links (video-link.ts): the activity's `conference_meeting_url` is the pair's `conferenceUrl`; on the
 * event it is the event's own conference, or the link we placed in its location or description.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { contentHash } from './content-hash.js';
import { renderContactBlock, stripContactBlock, withContactBlock, type ContactDetails } from './contact-details.js';
import { eventIdFor } from './event-id.js';
import { eventLinkProperties } from './event-properties.js';
import type { SyncSettings } from './settings.js';
import { googleToSchedule, pdSchedule, scheduleToGoogle, scheduleToTimes, type PdSchedule } from './time-mapping.js';
import { renderTitle, stripTitlePrefix } from './title-template.js';
import type { LinkedNames, PdActivity, PdActivityWrite, SyncedFields } from './types.js';
import {
  meetCreateRequest,
  placeableLink,
  placementProperty,
  placeVideoLink,
  readVideoLink,
  VIDEO_LINK_PROPERTY,
} from './video-link.js';

/** What both directions need: the current linked names (for the title) and the connection's settings. */
export interface MappingContext {
  names: LinkedNames;
  settings: SyncSettings;
}

export interface EventMappingContext extends MappingContext {
  connectionId: string;
  /** e.g. `https://acme.pipedrive.com`; without it the contact block has no links. */
  pipedriveAppUrl?: string;
  /** Details for the contact block (only used when `settings.contactDetails`). */
  contact?: ContactDetails;
  /** Bumped when an activity's earlier event was deleted, because Google never reuses a deleted id. */
  eventIdGeneration?: number;
}

/** Lower-cased, trimmed, de-duplicated, sorted e-mails: attendee order and case are not user-meaningful. */
export function normalizeEmails(emails: Iterable<string | null | undefined>): string[] {
  const set = new Set<string>();
  for (const email of emails) {
    const normalized = email?.trim().toLowerCase() ?? '';
    if (normalized !== '') set.add(normalized);
  }
  return [...set].sort();
}

function scheduleOrThrow(activity: PdActivity): PdSchedule {
  const schedule = pdSchedule(activity);
  // Callers classify first (classifyPipedriveChange ignores undated activities); reaching this is a programming error.
  if (schedule === null) throw new Error(`activity ${activity.id} has no valid due_date and cannot become an event`);
  return schedule;
}

function isPrivateVisibility(visibility: string | null | undefined): boolean {
  return visibility === 'private' || visibility === 'confidential';
}

/** The subject of an activity that stands for a private Google event under the `'private'` policy. */
export const PRIVATE_SUBJECT = 'Private event';

/** A Google event whose content stays out of Pipedrive (private and the policy is `'private'`). */
export function isNeutralized(event: calendar_v3.Schema$Event, settings: SyncSettings): boolean {
  return settings.privateEvents === 'private' && isPrivateVisibility(event.visibility);
}

/** `{ conferenceUrl }` for a link the sync can carry, `{}` for none (so content without a link hashes as before). */
function conferenceUrlField(url: string | null | undefined): Pick<SyncedFields, 'conferenceUrl'> {
  const link = placeableLink(url);
  return link === '' ? {} : { conferenceUrl: link };
}

/** Which activities get a Google Meet link with `createMeetLinks`: meetings (type `meeting`) without a link. */
export function wantsMeetLink(activity: PdActivity, settings: SyncSettings): boolean {
  return (
    settings.createMeetLinks && activity.type === 'meeting' && placeableLink(activity.conference_meeting_url) === ''
  );
}

/** The canonical content of an activity. Throws for an activity without a due date. */
export function activityToSyncedFields(activity: PdActivity, ctx: MappingContext): SyncedFields {
  const subject = activity.subject ?? '';
  return {
    subject,
    title: renderTitle(ctx.settings.titleTemplate, ctx.names, subject),
    ...scheduleToTimes(scheduleOrThrow(activity)),
    description: activity.public_description ?? '',
    location: activity.location?.value ?? '',
    busy: activity.busy ?? true,
    attendees: normalizeEmails((activity.attendees ?? []).map((a) => a.email)),
    // Pipedrive has no privacy field: an activity is never private.
    private: false,
    ...conferenceUrlField(activity.conference_meeting_url),
  };
}

/** The Google event body for an activity (for `events.insert` / `events.update`). */
export function activityToEvent(activity: PdActivity, ctx: EventMappingContext): calendar_v3.Schema$Event {
  const fields = activityToSyncedFields(activity, ctx);
  const block = ctx.settings.contactDetails ? renderContactBlock(ctx.contact, ctx.pipedriveAppUrl) : null;
  const id = eventIdFor(ctx.connectionId, activity.id, ctx.eventIdGeneration ?? 0);
  const link = fields.conferenceUrl ?? '';
  const placed = placeVideoLink(fields.location, fields.description, link);
  return {
    id,
    summary: fields.title,
    description: withContactBlock(placed.description, block),
    location: placed.location,
    ...scheduleToGoogle(scheduleOrThrow(activity)),
    transparency: fields.busy ? 'opaque' : 'transparent',
    attendees: fields.attendees.map((email) => ({ email })),
    ...(wantsMeetLink(activity, ctx.settings) ? { conferenceData: meetCreateRequest(id) } : {}),
    extendedProperties: {
      private: {
        ...eventLinkProperties({
          activityId: activity.id,
          connectionId: ctx.connectionId,
          contentHash: contentHash(fields),
        }),
        ...(placed.placement ? { [VIDEO_LINK_PROPERTY]: placementProperty(placed.placement, link) } : {}),
      },
    },
  };
}

/**
 * Google attendees that are people the activity is with: rooms/resources are not, and neither is the calendar owner
 * (`self`: as organizer of their own events, or as the invited attendee of someone else's — an invitation lists the
 * user among its attendees).
 * Limit: if a Pipedrive activity lists its owner's own e-mail, that attendee is dropped on the way back.
 */
function googleAttendeeEmails(event: calendar_v3.Schema$Event): string[] {
  return normalizeEmails((event.attendees ?? []).filter((a) => !a.resource && !a.self).map((a) => a.email));
}

/**
 * The Pipedrive activity write body for a Google event's user-editable fields. Throws when the event has no
 * readable start (e.g. a cancelled event that came back as only an id — classify it first).
 */
export function eventToActivityFields(event: calendar_v3.Schema$Event, ctx: MappingContext): PdActivityWrite {
  const schedule = googleToSchedule(event.start, event.end);
  if (schedule === null) throw new Error(`event ${event.id ?? '(no id)'} has no readable start`);
  if (isNeutralized(event, ctx.settings)) {
    return {
      subject: PRIVATE_SUBJECT,
      public_description: '',
      location: null,
      ...schedule,
      busy: event.transparency !== 'transparent',
      attendees: [],
    };
  }
  // The link we placed comes out of the location or description again; the event's own conference is the link.
  const read = readVideoLink(event, event.location ?? '', stripContactBlock(event.description ?? ''));
  return {
    subject: stripTitlePrefix(ctx.settings.titleTemplate, ctx.names, event.summary ?? ''),
    public_description: read.description,
    location: read.location === '' ? null : { value: read.location },
    ...schedule,
    busy: event.transparency !== 'transparent',
    attendees: googleAttendeeEmails(event).map((email) => ({ email })),
    ...(read.link
      ? {
          conference_meeting_url: read.link.url,
          ...(read.link.client ? { conference_meeting_client: read.link.client } : {}),
          ...(read.link.id ? { conference_meeting_id: read.link.id } : {}),
        }
      : {}),
  };
}

/** The write body for a new activity created from a Google event (two-way mode): no links, the incoming type. */
export function newActivityFromEvent(event: calendar_v3.Schema$Event, ctx: MappingContext): PdActivityWrite {
  return { ...eventToActivityFields(event, ctx), type: ctx.settings.incomingActivityType };
}

/** The canonical content of a Google event. */
export function eventToSyncedFields(event: calendar_v3.Schema$Event, ctx: MappingContext): SyncedFields {
  const write = eventToActivityFields(event, ctx);
  return {
    subject: write.subject,
    // A neutralized event's title is what its activity would render: its real title is not ours to compare.
    title: isNeutralized(event, ctx.settings)
      ? renderTitle(ctx.settings.titleTemplate, ctx.names, PRIVATE_SUBJECT)
      : (event.summary ?? ''),
    ...scheduleToTimes(write),
    description: write.public_description,
    location: write.location?.value ?? '',
    busy: write.busy,
    attendees: write.attendees.map((a) => a.email),
    private: false,
    ...conferenceUrlField(write.conference_meeting_url),
  };
}

/**
 * The Pipedrive write body for canonical fields (e.g. the result of conflict resolution). Privacy and the title are
 * not written: Pipedrive has no privacy field, and the title is derived from the subject and the links.
 */
export function syncedFieldsToActivityWrite(fields: SyncedFields): PdActivityWrite {
  const schedule = googleToSchedule(fields.start, fields.end);
  if (schedule === null) throw new Error('synced fields have an unreadable start');
  return {
    subject: fields.subject,
    public_description: fields.description,
    location: fields.location === '' ? null : { value: fields.location },
    ...schedule,
    busy: fields.busy,
    attendees: fields.attendees.map((email) => ({ email })),
    ...(fields.conferenceUrl ? { conference_meeting_url: fields.conferenceUrl } : {}),
  };
}

/** Google's `sendUpdates` request parameter: invitations only when the user opted in. */
export function sendUpdatesFor(settings: SyncSettings): 'all' | 'none' {
  return settings.sendInvitations ? 'all' : 'none';
}
