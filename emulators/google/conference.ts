/**
 * Conference data on events (Events resource `conferenceData`, `hangoutLink`) and the `conferenceDataVersion`
 * request parameter of events.insert / update / patch:
 *
 * - Version 0 (the default) "assumes no conference data support and ignores conference data in the event's
 *   body": whatever `conferenceData` a version-0 write sends is not read. Stricter reading for full updates: an
 *   update replaces the event with what it read, so a version-0 update removes the event's conference (a client
 *   that writes events back whole must send version 1 to keep a Meet link); a version-0 patch leaves it alone.
 * - Version 1 "enables support for copying of ConferenceData as well as for creating new conferences using the
 *   createRequest field": given conference data is stored (validated), and a `createRequest` for `hangoutsMeet`
 *   creates a Google Meet conference. `requestId`: "If an ID provided is the same as for the previous request, the
 *   request is ignored" — the event keeps the conference that request created, so a retried write cannot create
 *   a second one.
 * - `hangoutLink` is read-only: derived from the Meet conference's video entry point.
 */
import { errors } from './errors.js';
import type { GoogleEvent } from './store.js';

export type ConferenceDataVersion = 0 | 1;

const ENTRY_POINT_TYPES = new Set(['video', 'phone', 'sip', 'more']);
/** The solution types of ConferenceSolutionKey; only Meet can be created without a conferencing add-on. */
const SOLUTION_TYPES = new Set(['eventHangout', 'eventNamedHangout', 'hangoutsMeet', 'addOn']);

export const MEET_SOLUTION = {
  key: { type: 'hangoutsMeet' },
  name: 'Google Meet',
  iconUri:
    'https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png',
};

/** `conferenceDataVersion` query value: absent → 0; anything but 0 or 1 → 400 ("between 0 and 1"). */
export function parseConferenceDataVersion(raw: string | null): ConferenceDataVersion {
  if (raw === null) return 0;
  if (raw === '0' || raw === '1') return Number(raw) as ConferenceDataVersion;
  throw errors.badRequest('Invalid value for conferenceDataVersion.', 'invalid', 'conferenceDataVersion');
}

/** A Meet conference in the state a finished create request leaves it (`xxx-xxxx-xxx` meeting code). */
export function meetConference(code: string, requestId: string): Record<string, unknown> {
  return {
    createRequest: {
      requestId,
      conferenceSolutionKey: { type: 'hangoutsMeet' },
      status: { statusCode: 'success' },
    },
    entryPoints: [
      { entryPointType: 'video', uri: `https://meet.google.com/${code}`, label: `meet.google.com/${code}` },
    ],
    conferenceSolution: MEET_SOLUTION,
    conferenceId: code,
  };
}

/** The same create request before Google has made the conference: no entry points yet. */
export function pendingMeetConference(requestId: string): Record<string, unknown> {
  return {
    createRequest: {
      requestId,
      conferenceSolutionKey: { type: 'hangoutsMeet' },
      status: { statusCode: 'pending' },
    },
  };
}

export interface ConferenceOutcome {
  /** A new create request was accepted: the caller makes the conference (now, or later when pending). */
  create?: { requestId: string };
}

/**
 * Settles `next.conferenceData` for a write, given the stored version (`previous`, absent on insert) and the
 * request's `conferenceDataVersion`. Mutates `next`; `hangoutLink` is recomputed by `deriveHangoutLink`.
 */
export function settleConferenceData(
  next: Record<string, unknown>,
  previous: GoogleEvent | undefined,
  version: ConferenceDataVersion,
  write: 'insert' | 'patch' | 'update',
): ConferenceOutcome {
  if (version === 0) {
    // The body's conference data is not read. A patch changes only what it reads, so the stored conference stays;
    // an insert or a full update (which replaces the event by what it reads) ends up without one.
    if (write === 'patch' && previous?.conferenceData !== undefined)
      next.conferenceData = structuredClone(previous.conferenceData);
    else delete next.conferenceData;
    return {};
  }
  const data = next.conferenceData;
  if (data === undefined) return {};
  if (!isObject(data)) throw errors.badRequest('Invalid conference data.');
  const request = data.createRequest;
  if (request !== undefined) {
    if (!isObject(request)) throw errors.badRequest('Invalid conference create request.');
    const requestId = request.requestId;
    if (typeof requestId !== 'string' || requestId === '') throw errors.required('Missing conference request id.');
    const previousRequest = isObject(previous?.conferenceData) ? previous.conferenceData.createRequest : undefined;
    if (isObject(previousRequest) && previousRequest.requestId === requestId) {
      // "If an ID provided is the same as for the previous request, the request is ignored."
      next.conferenceData = structuredClone(previous!.conferenceData);
      return {};
    }
    const key = request.conferenceSolutionKey;
    const type = isObject(key) ? key.type : undefined;
    if (typeof type !== 'string' || !SOLUTION_TYPES.has(type))
      throw errors.badRequest('Invalid conference type value.');
    // Hangouts are deprecated and add-on conferences need a conferencing add-on: only Meet can be created here.
    if (type !== 'hangoutsMeet') throw errors.badRequest('Invalid conference type value.');
    return { create: { requestId } };
  }
  validateCopiedConference(data);
  return {};
}

/** Copied conference data: entry points of the documented types, at most one video and one sip, not only `more`. */
function validateCopiedConference(data: Record<string, unknown>): void {
  const points = data.entryPoints;
  if (points === undefined) return;
  if (!Array.isArray(points)) throw errors.badRequest('Invalid conference entry points.');
  const counts = new Map<string, number>();
  for (const p of points as unknown[]) {
    if (!isObject(p) || typeof p.entryPointType !== 'string' || !ENTRY_POINT_TYPES.has(p.entryPointType))
      throw errors.badRequest('Invalid conference entry point type.');
    if (typeof p.uri !== 'string' || p.uri === '') throw errors.required('Missing conference entry point uri.');
    counts.set(p.entryPointType, (counts.get(p.entryPointType) ?? 0) + 1);
  }
  if ((counts.get('video') ?? 0) > 1 || (counts.get('sip') ?? 0) > 1 || (counts.get('more') ?? 0) > 1)
    throw errors.badRequest('Invalid conference entry points.');
  if (points.length > 0 && counts.size === 1 && counts.has('more'))
    throw errors.badRequest('Invalid conference entry points.');
}

/** `hangoutLink` follows the event's Meet conference (read-only; absent without one). */
export function deriveHangoutLink(ev: Record<string, unknown>): void {
  delete ev.hangoutLink;
  const data = ev.conferenceData;
  if (!isObject(data)) return;
  const solution = isObject(data.conferenceSolution) ? data.conferenceSolution : undefined;
  const type = isObject(solution?.key) ? solution.key.type : undefined;
  if (type !== 'hangoutsMeet' || !Array.isArray(data.entryPoints)) return;
  const video = (data.entryPoints as unknown[]).find((p) => isObject(p) && p.entryPointType === 'video');
  if (isObject(video) && typeof video.uri === 'string') ev.hangoutLink = video.uri;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
