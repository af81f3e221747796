/**
 * `eventType` and its rules (Events resource `eventType`; the "Event types" guide; "Manage focus time, out of
 * office, and working location events"):
 *
 * - values `default`, `birthday`, `focusTime`, `fromGmail`, `outOfOffice`, `workingLocation`; unset means `default`
 *   and every returned event carries one;
 * - "This cannot be modified after the event is created";
 * - `fromGmail`: "This type of event cannot be created" (through the API; Gmail makes them);
 * - focus time, out of office and working location are "only available on primary calendars";
 * - birthdays are "special all-day events with an annual recurrence": an API insert must be one all-day day with
 *   a yearly recurrence (stricter reading of the guide's insert conditions; `birthdayProperties` is set by Google).
 */
import { errors } from './errors.js';

export const EVENT_TYPES = ['default', 'birthday', 'focusTime', 'fromGmail', 'outOfOffice', 'workingLocation'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const PRIMARY_ONLY = new Set<string>(['focusTime', 'outOfOffice', 'workingLocation']);

export interface TypeCheckContext {
  /** The write comes from Google's own products (control API: the UI, Gmail), not from an API client. */
  fromGoogle: boolean;
  /** The event is on its owner's primary calendar. */
  primaryCalendar: boolean;
}

/** Validates and fills `eventType` on a new event. */
export function checkNewEventType(ev: Record<string, unknown>, ctx: TypeCheckContext): void {
  const type = ev.eventType ?? 'default';
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type))
    throw errors.badRequest('Invalid event type.');
  if (type === 'fromGmail' && !ctx.fromGoogle) throw errors.badRequest('Events of type fromGmail cannot be created.');
  if (PRIMARY_ONLY.has(type) && !ctx.primaryCalendar)
    throw errors.badRequest(`Events of type ${type} can only be created on primary calendars.`);
  if (type === 'birthday') checkBirthday(ev);
  ev.eventType = type;
}

/** On update/patch: the type stays what it was (an absent `eventType` in an update keeps it). */
export function checkTypeUnchanged(next: Record<string, unknown>, previousType: unknown): void {
  const before = previousType ?? 'default';
  if (next.eventType !== undefined && next.eventType !== before)
    throw errors.badRequest('The event type cannot be changed.');
  next.eventType = before;
}

function checkBirthday(ev: Record<string, unknown>): void {
  const start = ev.start as { date?: string } | undefined;
  const end = ev.end as { date?: string } | undefined;
  const oneDay =
    typeof start?.date === 'string' &&
    typeof end?.date === 'string' &&
    Date.parse(`${end.date}T00:00:00Z`) - Date.parse(`${start.date}T00:00:00Z`) === 86_400_000;
  const yearly =
    Array.isArray(ev.recurrence) && ev.recurrence.some((r) => typeof r === 'string' && /FREQ=YEARLY/.test(r));
  if (!oneDay || !yearly)
    throw errors.badRequest('A birthday event must be a one-day all-day event recurring every year.');
  ev.birthdayProperties ??= { type: 'birthday' };
}

/** What Google puts on a status event a user creates in the Calendar UI (the properties object of each type). */
export function uiDefaults(type: EventType): Record<string, unknown> {
  switch (type) {
    case 'focusTime':
      return {
        transparency: 'opaque',
        focusTimeProperties: { autoDeclineMode: 'declineOnlyNewConflictingInvitations', chatStatus: 'doNotDisturb' },
      };
    case 'outOfOffice':
      return {
        transparency: 'opaque',
        outOfOfficeProperties: { autoDeclineMode: 'declineAllConflictingInvitations' },
      };
    case 'workingLocation':
      return {
        transparency: 'transparent',
        visibility: 'public',
        workingLocationProperties: { type: 'homeOffice', homeOffice: {} },
      };
    case 'birthday':
      return {
        transparency: 'transparent',
        visibility: 'private',
        recurrence: ['RRULE:FREQ=YEARLY'],
        birthdayProperties: { type: 'birthday' },
      };
    default:
      return {};
  }
}
