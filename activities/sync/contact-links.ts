/**
 * Contact linking, carried out (the rules are sync-rules/contact-linking.ts; docs/sync-rules.md, "Contacts"):
 * an event that becomes an activity — or whose attendees change — is linked to the Pipedrive persons whose
 * e-mail one of its attendees has, to the primary person's organization, and to their one open deal; then the
 * event is re-titled from the linked names.
 *
 * Cost in Pipedrive tokens per event (measured in test/integration/contact-linking.test.ts): a 20-token search
 * per attendee not in the cache (contact_lookups, adapters/pipedrive/contact-lookups.ts), plus a 10-token deal
 * list when a person is found. The names of the linked records come from the search and deal answers and are
 * saved to the names cache, so titling them costs nothing more.
 *
 * Idempotent under retries: lookups only read (and cache); a person created for an unknown attendee
 * (`createPersonsForAttendees`) is guarded by an intent in contact_lookups, so an attempt retried after the
 * create finds that person (through the persons list, which unlike search sees a write at once) instead of
 * creating a second one.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { ApplicationFailure } from '@temporalio/common';
import {
  attendeesChanged,
  contactLinks,
  linkableAttendees,
  participantsFor,
  personNameFor,
  unknownAttendees,
  type ActivityContactLinks,
  type FoundPerson,
  type LinkableAttendee,
} from '../../sync-rules/contact-linking.js';
import { activityToSyncedFields, isNeutralized } from '../../sync-rules/mapping.js';
import type { LinkedNames, PdActivity, SyncedFields } from '../../sync-rules/types.js';
import {
  cachedLookups,
  claimPersonCreation,
  forgetLookups,
  pruneLookups,
  saveLookup,
} from '../../adapters/pipedrive/contact-lookups.js';
import { saveName } from '../../adapters/store/names.js';
import type { SyncContext } from './context.js';
import { eventBodies, updateEvent } from './google-event-writes.js';
import { linkedNames } from './linked-names.js';

/** How far before a creation intent a retry looks for its person: clocks differ, update_time has seconds. */
const LOOKBACK_MS = 5 * 60_000;

type Found = FoundPerson & { orgName: string | null };

export interface EventContactLinks {
  links: ActivityContactLinks;
  /** The e-mails looked up, whose cached answers are dropped if Pipedrive refuses the links. */
  emails: string[];
}

/**
 * The links for an event's activity, or null when linking is off (nothing is looked up then). With no
 * attendee found, the links are empty — which, for an activity linked before, unlinks it.
 */
export async function contactLinksForEvent(
  ctx: SyncContext,
  calendarId: string,
  event: calendar_v3.Schema$Event,
): Promise<EventContactLinks | null> {
  // A private event stands in Pipedrive as a neutral activity: who it is with is part of what stays private.
  if (!ctx.settings.linkContacts || isNeutralized(event, ctx.settings)) return null;
  const own = [ctx.connection.googleEmail ?? ''].filter(Boolean);
  const attendees = linkableAttendees(event, calendarId, own);
  const found = await lookUp(ctx, attendees);
  if (ctx.settings.createPersonsForAttendees) {
    for (const attendee of unknownAttendees(attendees, found)) {
      found.set(attendee.email, await createPersonOnce(ctx, attendee));
    }
  }
  const participants = participantsFor(attendees, found);
  const deals = participants.primary ? await ctx.pipedrive.openDealsOfPerson(participants.primary.personId) : [];
  const links = contactLinks(
    participants,
    deals.map((d) => d.id),
  );
  await rememberNames(ctx, links, found, deals);
  return { links, emails: attendees.map((a) => a.email) };
}

/**
 * Runs a Pipedrive write that carries `contact` links. A 400 there most likely means a cached person (or its
 * organization) is gone: the cached answers are dropped and the step fails retryably, so the next attempt
 * searches afresh instead of failing the event for good.
 */
export async function withContactLinks<T>(
  ctx: SyncContext,
  contact: EventContactLinks | null,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!contact || contact.emails.length === 0 || !isRejected(err)) throw err;
    await forgetLookups(ctx.db, ctx.connection.id, contact.emails);
    throw ApplicationFailure.create({
      type: 'ContactLinksRefused',
      message: `Pipedrive refused the contact links (${err.message}); looking the attendees up again`,
      nonRetryable: false,
    });
  }
}

/**
 * After linking: the names of what the activity is now linked to (read after linking, from the cache that
 * `contactLinksForEvent` filled), and the event re-titled with them. An event we may not edit (an invitation)
 * or one edited in Google meanwhile keeps its title; the returned fields then carry the title it has, so the
 * next pull does not see a change that is not there.
 */
export async function titleLinkedEvent(
  ctx: SyncContext,
  calendarId: string,
  event: calendar_v3.Schema$Event,
  activity: PdActivity,
  generation: number,
): Promise<{ event: calendar_v3.Schema$Event; names: LinkedNames; fields: SyncedFields }> {
  const linked = Boolean(activity.person_id || activity.org_id || activity.deal_id);
  const names = linked ? await linkedNames(ctx, activity) : {};
  const fields = activityToSyncedFields(activity, { names, settings: ctx.settings });
  // A private event's title is never ours to write (its activity has the neutral subject).
  if ((event.summary ?? '') === fields.title || isNeutralized(event, ctx.settings)) return { event, names, fields };
  // The guests are never mailed about it: the title changed for the user's CRM, not for them.
  const quiet: SyncContext = { ...ctx, settings: { ...ctx.settings, sendInvitations: false } };
  const updated = await updateEvent(
    quiet,
    calendarId,
    event.id!,
    (await eventBodies(ctx, activity, names))(generation),
    event.etag ?? null,
  );
  if (updated.result === 'updated') return { event: updated.event, names, fields };
  const current = updated.result === 'gone' ? undefined : updated.current;
  // A retry after our own re-title: the event already has the title.
  if (current && (current.summary ?? '') === fields.title) return { event: current, names, fields };
  return { event: current ?? event, names, fields: { ...fields, title: (current ?? event).summary ?? '' } };
}

async function lookUp(ctx: SyncContext, attendees: readonly LinkableAttendee[]): Promise<Map<string, Found | null>> {
  const emails = attendees.map((a) => a.email);
  const cached = await cachedLookups(ctx.db, ctx.connection.id, emails);
  const found = new Map<string, Found | null>();
  let searched = false;
  // One at a time: the Search API allows 10 requests per 2 s per token.
  for (const email of emails) {
    const hit = cached.get(email);
    if (hit) {
      found.set(email, hit.person);
      continue;
    }
    // Several persons with one address: the oldest (lowest id) is the one linked, whatever order search uses.
    const match = (await ctx.pipedrive.findPersonsByEmail(email))[0];
    const person: Found | null = match
      ? { personId: match.id, name: match.name, orgId: match.org?.id ?? null, orgName: match.org?.name ?? null }
      : null;
    await saveLookup(ctx.db, ctx.connection.id, email, person);
    found.set(email, person);
    searched = true;
  }
  if (searched) await pruneLookups(ctx.db, ctx.connection.id);
  return found;
}

/** A person for an attendee nobody had, created once even when this step is retried after the create. */
async function createPersonOnce(ctx: SyncContext, attendee: LinkableAttendee): Promise<Found> {
  const claim = await claimPersonCreation(ctx.db, ctx.connection.id, attendee.email);
  if (claim.isRetry) {
    const since = new Date(claim.startedAt.getTime() - LOOKBACK_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const earlier = await ctx.pipedrive.findRecentPersonByEmail(ctx.ownerId, since, attendee.email);
    if (earlier) {
      const person: Found = { personId: earlier.id, name: earlier.name, orgId: null, orgName: null };
      await saveLookup(ctx.db, ctx.connection.id, attendee.email, person);
      return person;
    }
  }
  const created = await ctx.pipedrive.createPerson({
    name: personNameFor(attendee),
    emails: [{ value: attendee.email, primary: true, label: 'work' }],
    owner_id: ctx.ownerId,
  });
  ctx.deps.crashPoint?.('after-person-create');
  const person: Found = { personId: created.id, name: created.name, orgId: null, orgName: null };
  await saveLookup(ctx.db, ctx.connection.id, attendee.email, person);
  return person;
}

/** The linked records' names, from the answers just read, into the names cache the titles are made from. */
async function rememberNames(
  ctx: SyncContext,
  links: ActivityContactLinks,
  found: ReadonlyMap<string, Found | null>,
  deals: readonly { id: number; title: string }[],
): Promise<void> {
  const primary = [...found.values()].find((p) => p?.personId === links.person_id);
  if (primary) {
    await saveName(ctx.db, ctx.connection.id, 'person', primary.personId, primary.name);
    if (primary.orgId !== null && primary.orgName !== null)
      await saveName(ctx.db, ctx.connection.id, 'organization', primary.orgId, primary.orgName);
  }
  const deal = deals.find((d) => d.id === links.deal_id);
  if (deal) await saveName(ctx.db, ctx.connection.id, 'deal', deal.id, deal.title);
}

function isRejected(err: unknown): err is ApplicationFailure {
  if (!(err instanceof ApplicationFailure) || err.type !== 'PipedriveRequestRejected') return false;
  const status = (err.details?.[0] as { status?: number } | undefined)?.status;
  return status === 400;
}

/**
 * Re-linking on an update: only for events that became activities (links made in Pipedrive by hand are the
 * user's) and only when the attendees changed since the last sync. Null when nothing is to be re-linked.
 */
export async function relinkedContacts(
  ctx: SyncContext,
  calendarId: string,
  event: calendar_v3.Schema$Event,
  link: { origin: 'google' | 'pipedrive'; baseFields: SyncedFields | null },
  write: { attendees: { email: string }[] },
): Promise<EventContactLinks | null> {
  if (link.origin !== 'google' || !link.baseFields) return null;
  const now = write.attendees.map((a) => a.email);
  if (!attendeesChanged(link.baseFields.attendees, now)) return null;
  return contactLinksForEvent(ctx, calendarId, event);
}
