/**
 * Linking an activity made from a Google event to the Pipedrive persons it is with (docs/sync-rules.md,
 * "Contacts"). Pure: the caller looks the attendees up and hands the answers in.
 *
 * - Who counts: the event's attendees other than the user (`self`), rooms and other resources, and the calendar
 *   itself (its id is an e-mail address for primary calendars) — the same people the activity's attendees are.
 * - Participants: every attendee a person was found for, one entry per person, in attendee order (the organizer
 *   first when the organizer is a found person). The primary participant is the organizer if the organizer is a
 *   found person, else the first found attendee.
 * - The activity's person is the primary participant; its organization is that person's organization; its deal
 *   is the primary person's open deal when there is exactly one (none, or several, link no deal: guessing
 *   between deals would put the meeting on the wrong timeline).
 */
import type { calendar_v3 } from '@googleapis/calendar';

/** At most this many attendees are looked up per event: a 20-token search each bounds the cost of a big meeting. */
export const MAX_LOOKUPS_PER_EVENT = 10;

export interface LinkableAttendee {
  /** Lower-cased, trimmed. */
  email: string;
  /** Google's display name, when the attendee has one. */
  name: string | null;
  organizer: boolean;
}

/** What a lookup found for one e-mail. */
export interface FoundPerson {
  personId: number;
  name: string;
  orgId: number | null;
}

export interface Participant {
  person_id: number;
  primary: boolean;
}

/** The link fields of a Pipedrive v2 activity write (`participants`, `person_id`, `org_id`, `deal_id`). */
export interface ActivityContactLinks {
  participants: Participant[];
  person_id: number | null;
  org_id: number | null;
  deal_id: number | null;
}

export const NO_CONTACT_LINKS: ActivityContactLinks = Object.freeze({
  participants: [],
  person_id: null,
  org_id: null,
  deal_id: null,
}) as ActivityContactLinks;

const normalize = (email: string | null | undefined): string => email?.trim().toLowerCase() ?? '';

/**
 * The attendees to look up, organizer first, without duplicates, the user, resources or the calendar itself;
 * at most `MAX_LOOKUPS_PER_EVENT`. `ownEmails` are the user's own addresses (Google and Pipedrive logins).
 */
export function linkableAttendees(
  event: Pick<calendar_v3.Schema$Event, 'attendees' | 'organizer'>,
  calendarId: string,
  ownEmails: readonly string[] = [],
): LinkableAttendee[] {
  const excluded = new Set([normalize(calendarId), ...ownEmails.map(normalize)]);
  const organizerEmail = normalize(event.organizer?.email);
  const seen = new Set<string>();
  const out: LinkableAttendee[] = [];
  for (const a of event.attendees ?? []) {
    const email = normalize(a.email);
    if (email === '' || !email.includes('@') || a.self || a.resource || excluded.has(email) || seen.has(email))
      continue;
    seen.add(email);
    out.push({
      email,
      name: a.displayName?.trim() || null,
      organizer: a.organizer === true || (organizerEmail !== '' && email === organizerEmail),
    });
  }
  // Stable: the organizer moves to the front, everyone else keeps Google's order.
  out.sort((x, y) => Number(y.organizer) - Number(x.organizer));
  return out.slice(0, MAX_LOOKUPS_PER_EVENT);
}

/** The attendees no person was found for (candidates for `createPersonsForAttendees`). */
export function unknownAttendees(
  attendees: readonly LinkableAttendee[],
  found: ReadonlyMap<string, FoundPerson | null>,
): LinkableAttendee[] {
  return attendees.filter((a) => !found.get(a.email));
}

/** The participants, primary first. `found` maps an attendee's e-mail to its person (absent/null: nobody). */
export function participantsFor(
  attendees: readonly LinkableAttendee[],
  found: ReadonlyMap<string, FoundPerson | null>,
): { participants: Participant[]; primary: FoundPerson | null } {
  const matched: { attendee: LinkableAttendee; person: FoundPerson }[] = [];
  const seenPersons = new Set<number>();
  for (const attendee of attendees) {
    const person = found.get(attendee.email);
    if (!person || seenPersons.has(person.personId)) continue;
    seenPersons.add(person.personId);
    matched.push({ attendee, person });
  }
  const primary = matched.find((m) => m.attendee.organizer) ?? matched[0];
  if (!primary) return { participants: [], primary: null };
  const ordered = [primary, ...matched.filter((m) => m !== primary)];
  return {
    participants: ordered.map((m) => ({ person_id: m.person.personId, primary: m === primary })),
    primary: primary.person,
  };
}

/**
 * The activity's links from its participants and the primary person's open deals (their ids; only whether
 * there is exactly one matters).
 */
export function contactLinks(
  participants: { participants: Participant[]; primary: FoundPerson | null },
  openDealIdsOfPrimary: readonly number[],
): ActivityContactLinks {
  const { primary } = participants;
  if (!primary) return { ...NO_CONTACT_LINKS, participants: [] };
  return {
    participants: participants.participants,
    person_id: primary.personId,
    org_id: primary.orgId,
    deal_id: openDealIdsOfPrimary.length === 1 ? openDealIdsOfPrimary[0]! : null,
  };
}

/** The name of a person created for an attendee: their display name in Google, else their address. */
export function personNameFor(attendee: LinkableAttendee): string {
  return attendee.name ?? attendee.email;
}

/**
 * Whether an event's attendees changed between two syncs (e-mails as the activity's attendees hold them): only
 * then is an already linked activity linked again.
 */
export function attendeesChanged(before: readonly string[], after: readonly string[]): boolean {
  const a = [...new Set(before.map(normalize))].sort();
  const b = [...new Set(after.map(normalize))].sort();
  return a.length !== b.length || a.some((e, i) => e !== b[i]);
}
