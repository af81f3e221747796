/**
 * Instants and calendar times. Events carry either an all-day `date` (end exclusive) or a `dateTime`, with an
 * optional IANA `timeZone`. Zone offsets come from `Intl`, never from hand-written DST tables.
 */
export interface EventDateTime {
  date?: string | null;
  dateTime?: string | null;
  timeZone?: string | null;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/i;

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Offset of `tz` from UTC at instant `ms`, in minutes (Berlin in winter → 60). */
export function zoneOffsetMinutes(tz: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/** Parses a date (`YYYY-MM-DD`, as UTC midnight) or RFC3339 dateTime; a dateTime without offset uses `tz`. */
export function parseInstant(value: string, tz?: string | null): number | undefined {
  const d = DATE_RE.exec(value);
  if (d) {
    const ms = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
    return new Date(ms).toISOString().slice(0, 10) === value ? ms : undefined;
  }
  const m = DATETIME_RE.exec(value);
  if (!m) return undefined;
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const local = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
    frac,
  );
  if (Number.isNaN(local)) return undefined;
  const off = m[8];
  if (off) {
    if (off.toUpperCase() === 'Z') return local;
    const sign = off.startsWith('-') ? -1 : 1;
    return local - sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6))) * 60000;
  }
  if (!tz) return undefined;
  // Local wall time in tz: guess with the offset at the naive instant, then correct once for DST edges.
  let guess = local - zoneOffsetMinutes(tz, local) * 60000;
  guess = local - zoneOffsetMinutes(tz, guess) * 60000;
  return guess;
}

export function hasOffset(dateTime: string): boolean {
  const m = DATETIME_RE.exec(dateTime);
  return !!m?.[8];
}

/** RFC3339 with the offset of `tz` (or `Z` for UTC/no zone), seconds precision, as Google returns dateTimes. */
export function formatInZone(ms: number, tz?: string | null): string {
  const off = tz ? zoneOffsetMinutes(tz, ms) : 0;
  const local = new Date(ms + off * 60000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** RFC3339 with milliseconds in UTC, the format of `updated` and `created`. */
export const rfc3339Ms = (ms: number) => new Date(ms).toISOString();

/** Start or end of an event time as epoch ms (all-day dates as UTC midnight: the emulated calendars are UTC). */
export function instantOf(t: EventDateTime | undefined): number | undefined {
  if (!t) return undefined;
  if (t.date) return parseInstant(t.date);
  if (t.dateTime) return parseInstant(t.dateTime, t.timeZone);
  return undefined;
}

/**
 * An event time as Google answers it. Requests may give a `dateTime` without offset plus a `timeZone`; responses
 * always carry the offset (the events resource reference: "A time zone offset is required unless a time zone is
 * explicitly specified in timeZone"; what Google returns is an RFC 3339 value with offset, timeZone kept).
 */
export function withOffset<T extends EventDateTime | undefined>(t: T): T {
  if (!t?.dateTime || hasOffset(t.dateTime) || !t.timeZone) return t;
  const ms = parseInstant(t.dateTime, t.timeZone);
  return ms === undefined ? t : { ...t, dateTime: formatInZone(ms, t.timeZone) };
}
