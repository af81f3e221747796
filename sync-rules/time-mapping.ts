/**
 * When an activity happens, in Pipedrive's terms (due_date, due_time in UTC, duration) and in Google's (start/end).
 *
 * Decisions, each a documented limit rather than silent wrong data:
 * - Time is UTC end to end. Pipedrive's due_time is UTC; we write Google `dateTime` in UTC with a `Z` and no
 *   `timeZone`, and read back any RFC 3339 offset through `Date.parse`. No offset arithmetic by hand, so DST never
 *   matters here; the calendar displays the instant in the user's zone.
 * - A `dateTime` without an offset is wall time in its `timeZone` (Google accepts that in requests, and a client
 *   may hand it to us the same way): it is resolved with the zone's offset as `Intl` reports it for that moment.
 *   In a DST gap (e.g. 02:30 on the night clocks jump from 02:00 to 03:00) the time does not exist; it is read with
 *   the offset in force before the gap, i.e. moved forward by the gap (02:30 → 03:30), as RFC 5545 and
 *   JavaScript's Temporal ("compatible") do. In an overlap (02:30 on the night clocks go back) it exists twice;
 *   the first occurrence (the earlier instant) is taken. Without an offset and without a `timeZone` it is read as
 *   UTC, so the result never depends on the machine's local zone; an unknown `timeZone` makes it unreadable.
 * - Minute resolution: Pipedrive has no seconds; seconds in Google times are dropped (truncated).
 * - No due_time → all-day: `{date}` with end = the next day (Google's end date is exclusive). Any duration on an
 *   all-day activity is ignored (Pipedrive shows none either).
 * - Timed without a duration (null, '' or '00:00') → end = start. Google accepts zero-length events, and inventing a
 *   default length would write a duration back to Pipedrive that the user never set. Reading back, end = start gives
 *   duration null, so '00:00' and null are the same thing.
 * - Durations are `HH:MM` with hours allowed above 23 (a 26-hour activity is `26:00`); end = start + duration.
 * - Multi-day all-day Google events: Pipedrive has no all-day activity spanning days, so they become an all-day
 *   activity on the first day (due_date = start date, duration null). The extra days are not carried over.
 * - An end before or equal to the start, or an end of another kind than the start, gives duration null.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import type { SyncedTime } from './types.js';

/** The scheduling fields of a Pipedrive activity, normalized: due_time and duration are `HH:MM` or null. */
export interface PdSchedule {
  due_date: string;
  due_time: string | null;
  duration: string | null;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CLOCK = /^(\d{1,2}):(\d{2})(?::\d{2})?$/;
const DURATION = /^(\d+):(\d{2})(?::\d{2})?$/;
const OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;
const MINUTE = 60_000;

function isRealDate(date: string): boolean {
  const m = DATE.exec(date);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === date;
}

/** `YYYY-MM-DD` plus n days, via UTC calendar arithmetic (no time zones involved). */
export function addDays(date: string, days: number): string {
  const m = DATE.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days)).toISOString().slice(0, 10);
}

/** Minutes of an `HH:MM` duration; null for absent, malformed or zero. */
export function durationMinutes(duration: string | null | undefined): number | null {
  const m = DURATION.exec(duration?.trim() ?? '');
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes > 0 ? minutes : null;
}

/** `HH:MM` with at least two hour digits; hours may exceed 23. */
export function formatDuration(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  return `${String(hours).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function normalizeClock(time: string | null | undefined): string | null {
  const m = CLOCK.exec(time?.trim() ?? '');
  if (!m) return null;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (hours > 23 || minutes > 59) return null;
  return `${String(hours).padStart(2, '0')}:${m[2]}`;
}

/** The normalized schedule of an activity, or null when it has no (valid) due date and so cannot be an event. */
export function pdSchedule(activity: {
  due_date?: string | null;
  due_time?: string | null;
  duration?: string | null;
}): PdSchedule | null {
  const date = activity.due_date?.trim() ?? '';
  if (!isRealDate(date)) return null;
  const time = normalizeClock(activity.due_time);
  if (time === null) return { due_date: date, due_time: null, duration: null };
  const minutes = durationMinutes(activity.duration);
  return { due_date: date, due_time: time, duration: minutes === null ? null : formatDuration(minutes) };
}

/** `YYYY-MM-DDTHH:MM:00Z` for an instant in milliseconds, truncated to the minute. */
function utcMinute(ms: number): string {
  return `${new Date(Math.floor(ms / MINUTE) * MINUTE).toISOString().slice(0, 16)}:00Z`;
}

/** Start and end, in the canonical form that is also what we write to Google. */
export function scheduleToTimes(schedule: PdSchedule): { start: SyncedTime; end: SyncedTime } {
  if (schedule.due_time === null) {
    return { start: { date: schedule.due_date }, end: { date: addDays(schedule.due_date, 1) } };
  }
  const startMs = Date.parse(`${schedule.due_date}T${schedule.due_time}:00Z`);
  const endMs = startMs + (durationMinutes(schedule.duration) ?? 0) * MINUTE;
  return { start: { dateTime: utcMinute(startMs) }, end: { dateTime: utcMinute(endMs) } };
}

/** Google `start`/`end` for a Pipedrive schedule. */
export function scheduleToGoogle(schedule: PdSchedule): {
  start: calendar_v3.Schema$EventDateTime;
  end: calendar_v3.Schema$EventDateTime;
} {
  const { start, end } = scheduleToTimes(schedule);
  return { start: { ...start }, end: { ...end } };
}

const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;
const GMT_OFFSET = /^GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/;
const DAY_MS = 24 * 3600_000;

/** Offset of `timeZone` from UTC at instant `ms` in minutes, as `Intl` names it ("GMT+02:00" → 120). */
function zoneOffsetAt(timeZone: string, ms: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(ms))
    .find((p) => p.type === 'timeZoneName')?.value;
  const m = GMT_OFFSET.exec(name ?? '');
  if (!m) throw new RangeError(`no offset for time zone ${timeZone}`);
  if (!m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/**
 * The instant of a wall time in `timeZone`. The candidates are the zone's offsets a day before and a day after
 * (one offset, or the two around a transition); a candidate is right when the zone has that offset at the instant
 * it gives. Two right ones: an overlap, the earlier wins. None: a gap, the offset before it applies.
 */
function wallTimeInZone(local: string, timeZone: string): number | null {
  const asUtc = Date.parse(`${local}Z`);
  if (Number.isNaN(asUtc)) return null;
  const before = zoneOffsetAt(timeZone, asUtc - DAY_MS);
  const after = zoneOffsetAt(timeZone, asUtc + DAY_MS);
  const valid = [...new Set([before, after])]
    .map((offset) => ({ offset, ms: asUtc - offset * MINUTE }))
    .filter((c) => zoneOffsetAt(timeZone, c.ms) === c.offset)
    .map((c) => c.ms);
  return valid.length > 0 ? Math.min(...valid) : asUtc - before * MINUTE;
}

/**
 * Milliseconds of an RFC 3339 `dateTime`, or null if unreadable. Without an offset it is wall time in `timeZone`
 * (UTC when there is none); see the decisions at the top of this file.
 */
export function instantOf(dateTime: string | null | undefined, timeZone?: string | null): number | null {
  const value = dateTime?.trim() ?? '';
  if (value === '') return null;
  if (OFFSET.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  if (!LOCAL_DATE_TIME.test(value)) return null;
  if (!timeZone) {
    const ms = Date.parse(`${value}Z`);
    return Number.isNaN(ms) ? null : ms;
  }
  try {
    return wallTimeInZone(value, timeZone);
  } catch {
    return null; // not a time zone Intl knows
  }
}

/** The Pipedrive schedule for a Google event's start/end; null when the start is missing or unreadable. */
export function googleToSchedule(
  start: calendar_v3.Schema$EventDateTime | null | undefined,
  end: calendar_v3.Schema$EventDateTime | null | undefined,
): PdSchedule | null {
  if (start?.dateTime) {
    const startMs = instantOf(start.dateTime, start.timeZone);
    if (startMs === null) return null;
    const startIso = utcMinute(startMs);
    const endMs = instantOf(end?.dateTime, end?.timeZone ?? start.timeZone);
    const minutes = endMs === null ? 0 : Math.floor(endMs / MINUTE) - Math.floor(startMs / MINUTE);
    return {
      due_date: startIso.slice(0, 10),
      due_time: startIso.slice(11, 16),
      duration: minutes > 0 ? formatDuration(minutes) : null,
    };
  }
  if (start?.date && isRealDate(start.date)) {
    return { due_date: start.date, due_time: null, duration: null };
  }
  return null;
}
