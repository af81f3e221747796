/**
 * Video-call links between an activity's `conference_meeting_url` and a Google event (docs/sync-rules.md,
 * "Video-call links").
 *
 * - Google → Pipedrive: the event's own conference (the video entry point of `conferenceData`, else `hangoutLink`)
 *   is the link, with the solution's name as the client and the conference id.
 * - Pipedrive → Google: an activity's link goes into the event's location when the activity has none, otherwise
 *   onto one line at the end of the description (`Video call: <url>`, before the contact-details block). Where we
 *   put it is recorded in the event's private extended property `pdVideoLink` (`location <url>` or
 *   `description <url>`), so reading the event back takes exactly that placement out again: the location or the
 *   line never flows into the activity's own location or description, never doubles, and the round trip compares
 *   equal (echo suppression stays exact).
 * - An event with a conference of its own keeps it: the activity's link is not placed on it (the event's conference
 *   is the pair's link), and conference data is never written from Pipedrive — except a new Meet conference with
 *   `createMeetLinks` (see `meetCreateRequest`).
 */
import type { calendar_v3 } from '@googleapis/calendar';

export const VIDEO_LINK_PROPERTY = 'pdVideoLink';
export const VIDEO_LINE_PREFIX = 'Video call: ';
/** Longer links are not placed: the marker property holds at most 1024 characters. */
const MAX_PLACED_LENGTH = 1000;
const SEPARATOR = '\n\n';

export type Placement = 'location' | 'description';

export interface ConferenceLink {
  url: string;
  /** The conference solution's name (`Google Meet`) or type, when the event says. */
  client?: string;
  /** `conferenceData.conferenceId` (a Meet code such as `abc-defg-hij`), when the event says. */
  id?: string;
}

/** The event's own conference link, or null: the video entry point's uri, else `hangoutLink`. */
export function eventConferenceLink(event: calendar_v3.Schema$Event): ConferenceLink | null {
  const data = event.conferenceData;
  const video = (data?.entryPoints ?? []).find((p) => p.entryPointType === 'video' && !!p.uri?.trim());
  const url = video?.uri?.trim() || event.hangoutLink?.trim() || '';
  if (url === '') return null;
  const client = data?.conferenceSolution?.name?.trim() || data?.conferenceSolution?.key?.type?.trim() || '';
  const id = data?.conferenceId?.trim() || '';
  return { url, ...(client ? { client } : {}), ...(id ? { id } : {}) };
}

/** True when the event has a conference of its own (or one being created). */
export function hasOwnConference(event: calendar_v3.Schema$Event): boolean {
  return eventConferenceLink(event) !== null || !!event.conferenceData?.createRequest;
}

/** The activity's link as we place it, or '' (absent, blank, or too long to record). */
export function placeableLink(url: string | null | undefined): string {
  const trimmed = url?.trim() ?? '';
  return trimmed.length > MAX_PLACED_LENGTH || /\s/.test(trimmed) ? '' : trimmed;
}

export interface PlacedText {
  location: string;
  /** The description before the contact-details block. */
  description: string;
  placement: Placement | null;
}

/** Where an activity's link goes on its event: the location if the activity has none, else the description. */
export function placeVideoLink(location: string, description: string, url: string): PlacedText {
  if (url === '') return { location, description, placement: null };
  if (location === '') return { location: url, description, placement: 'location' };
  const line = VIDEO_LINE_PREFIX + url;
  return {
    location,
    description: description === '' ? line : description + SEPARATOR + line,
    placement: 'description',
  };
}

export function placementProperty(placement: Placement | null, url: string): string {
  return placement ? `${placement} ${url}` : '';
}

function readPlacement(event: calendar_v3.Schema$Event): { placement: Placement; url: string } | null {
  const raw = event.extendedProperties?.private?.[VIDEO_LINK_PROPERTY] ?? '';
  const space = raw.indexOf(' ');
  const placement = raw.slice(0, space);
  const url = raw.slice(space + 1);
  if (space <= 0 || url === '' || (placement !== 'location' && placement !== 'description')) return null;
  return { placement, url };
}

/** The description without our video line; null when the line is not (or no longer) there. */
function stripVideoLine(description: string, url: string): string | null {
  const line = VIDEO_LINE_PREFIX + url;
  if (description === line) return '';
  if (description.endsWith(SEPARATOR + line)) return description.slice(0, -(SEPARATOR.length + line.length));
  // Google's editor may have turned our newlines into <br>: accept any whitespace or <br> before the line.
  const match = description.match(new RegExp(`(?:<br\\s*/?>|\\s)+${escapeRegExp(line)}$`, 'i'));
  return match ? description.slice(0, match.index) : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface ReadBack {
  location: string;
  description: string;
  /** The pair's link as the event shows it: its own conference, else the link we placed (if still there). */
  link: ConferenceLink | null;
}

/**
 * An event's location and description (contact block already stripped) without the link we placed, and the link.
 * A placement the user edited away in Google is simply not found: then the event has no placed link.
 */
export function readVideoLink(event: calendar_v3.Schema$Event, location: string, description: string): ReadBack {
  const placed = readPlacement(event);
  let placedUrl: string | null = null;
  if (placed?.placement === 'location' && location.trim() === placed.url) {
    location = '';
    placedUrl = placed.url;
  } else if (placed?.placement === 'description') {
    const stripped = stripVideoLine(description, placed.url);
    if (stripped !== null) {
      description = stripped;
      placedUrl = placed.url;
    }
  }
  const own = eventConferenceLink(event);
  return { location, description, link: own ?? (placedUrl ? { url: placedUrl } : null) };
}

/**
 * An event body from `activityToEvent` fitted to the event as it is in Google: when that event has a conference of
 * its own, the activity's link is not placed (the body's location and description go back to the activity's own)
 * and the marker is cleared, so the event shows one link, never two.
 */
export function fitVideoLinkTo(
  current: calendar_v3.Schema$Event,
  body: calendar_v3.Schema$Event,
): calendar_v3.Schema$Event {
  if (!hasOwnConference(current)) return body;
  const placed = readPlacement(body);
  const next: calendar_v3.Schema$Event = { ...body };
  delete next.conferenceData;
  if (placed?.placement === 'location' && body.location === placed.url) next.location = '';
  if (placed?.placement === 'description') {
    // The line sits before the contact block: take it out wherever the block starts.
    const line = SEPARATOR + VIDEO_LINE_PREFIX + placed.url;
    const description = body.description ?? '';
    next.description = description.includes(line)
      ? description.replace(line, '')
      : description.replace(VIDEO_LINE_PREFIX + placed.url, '').replace(/^\n\n/, '');
  }
  next.extendedProperties = {
    ...body.extendedProperties,
    private: { ...body.extendedProperties?.private, [VIDEO_LINK_PROPERTY]: '' },
  };
  return next;
}

/**
 * The Meet create request for an activity's event with `createMeetLinks`: deterministic per event id, so a retried
 * write repeats the same `requestId` and Google ignores it instead of creating a second conference.
 */
export function meetCreateRequest(eventId: string): calendar_v3.Schema$ConferenceData {
  return {
    createRequest: { requestId: `pd-meet-${eventId}`, conferenceSolutionKey: { type: 'hangoutsMeet' } },
  };
}

/**
 * The conference data an update sends: the event's own, unchanged; or, for an event without one, the Meet create
 * request of the body (`createMeetLinks`). Undefined: none.
 */
export function conferenceForUpdate(
  current: calendar_v3.Schema$Event,
  body: calendar_v3.Schema$Event,
): calendar_v3.Schema$ConferenceData | undefined {
  return current.conferenceData ?? body.conferenceData ?? undefined;
}
