/**
 * Expansion of recurring events (RFC 5545 RRULE/RDATE/EXDATE lines in `recurrence`) into instances, the way
 * `events.list?singleEvents=true` and `events.instances` present them: ids `<eventId>_<YYYYMMDDTHHMMSSZ>` (UTC) for
 * timed events and `<eventId>_<YYYYMMDD>` for all-day ones, with `recurringEventId` and `originalStartTime`.
 *
 * Rules are expanded in the event's wall-clock time (its `timeZone`), then mapped back to instants, so a weekly
 * 09:00 Berlin meeting stays at 09:00 across DST changes.
 */
import rrule from 'rrule';
import { EventDateTime, formatInZone, parseInstant, zoneOffsetMinutes } from './time.js';

const { rrulestr } = rrule;
const DAY = 86_400_000;

export interface Occurrence {
  /** Instance id suffix. */
  stamp: string;
  start: EventDateTime;
  end: EventDateTime;
  startMs: number;
  endMs: number;
  originalStartTime: EventDateTime;
}

/** Most instances one master may expand into (a documented emulator limit). */
export const MAX_INSTANCES = 1000;

export function validateRecurrence(lines: unknown): string | undefined {
  if (!Array.isArray(lines)) return 'recurrence must be an array of strings';
  for (const l of lines) {
    if (typeof l !== 'string' || !/^(RRULE|RDATE|EXDATE|EXRULE)[:;]/i.test(l))
      return `Invalid recurrence rule: ${String(l)}`;
  }
  try {
    const rules = lines.filter((l: string) => /^(RRULE|RDATE)/i.test(l));
    if (rules.length > 0) rrulestr(['DTSTART:20000101T000000Z', ...rules].join('\n'), { forceset: true });
  } catch {
    return 'Invalid recurrence rule.';
  }
  return undefined;
}

function compact(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** Instances of a recurring event overlapping [fromMs, toMs). */
export function expand(
  start: EventDateTime,
  end: EventDateTime,
  recurrence: string[],
  fromMs: number,
  toMs: number,
): Occurrence[] {
  const allDay = !!start.date;
  const tz = allDay ? undefined : (start.timeZone ?? undefined);
  const startMs = allDay ? parseInstant(start.date!) : parseInstant(start.dateTime!, start.timeZone);
  const endMs = allDay ? parseInstant(end.date!) : parseInstant(end.dateTime!, end.timeZone);
  if (startMs === undefined || endMs === undefined) return [];
  const duration = endMs - startMs;
  const wall = (ms: number) => (tz ? ms + zoneOffsetMinutes(tz, ms) * 60000 : ms);
  const unwall = (w: number) => (tz ? parseInstant(new Date(w).toISOString().slice(0, 19), tz)! : w);

  const ruleLines = recurrence.filter((l) => /^(RRULE|RDATE|EXRULE)/i.test(l));
  const exdates = new Set<number>();
  for (const l of recurrence.filter((x) => /^EXDATE/i.test(x))) {
    const tzid = /TZID=([^;:]+)/i.exec(l)?.[1];
    for (const v of l.slice(l.indexOf(':') + 1).split(',')) {
      const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v.trim());
      if (!m) continue;
      const iso = m[4]
        ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ? 'Z' : ''}`
        : `${m[1]}-${m[2]}-${m[3]}`;
      const ms = parseInstant(iso, tzid ?? tz ?? 'UTC');
      if (ms !== undefined) exdates.add(ms);
    }
  }
  const dtstart = compact(new Date(wall(startMs)).toISOString());
  const set = rrulestr([`DTSTART:${dtstart}`, ...ruleLines].join('\n'), { forceset: true });
  const slack = 2 * DAY;
  // Instances never start before the master, and the search window stays inside the Date range.
  const lo = Math.max(fromMs - duration, startMs);
  const hi = Math.min(toMs, startMs + 200 * 365 * DAY);
  if (hi < lo) return [];
  const walls = set.between(new Date(wall(lo) - slack), new Date(wall(hi) + slack), true);
  const out: Occurrence[] = [];
  for (const w of walls) {
    const s = unwall(w.getTime());
    const e = s + duration;
    if (exdates.has(s)) continue;
    if (!(e > fromMs || (duration === 0 && s >= fromMs)) || s >= toMs) continue;
    if (allDay) {
      const sd = new Date(s).toISOString().slice(0, 10);
      out.push({
        stamp: sd.replace(/-/g, ''),
        start: { date: sd },
        end: { date: new Date(e).toISOString().slice(0, 10) },
        startMs: s,
        endMs: e,
        originalStartTime: { date: sd },
      });
    } else {
      const tzField = start.timeZone ? { timeZone: start.timeZone } : {};
      out.push({
        stamp: compact(new Date(s).toISOString()),
        start: { dateTime: formatInZone(s, tz), ...tzField },
        end: {
          dateTime: formatInZone(e, end.timeZone ?? tz),
          ...(end.timeZone ? { timeZone: end.timeZone } : tzField),
        },
        startMs: s,
        endMs: e,
        originalStartTime: { dateTime: formatInZone(s, tz), ...tzField },
      });
    }
    if (out.length >= MAX_INSTANCES) break;
  }
  return out;
}

/** Splits an instance id into master id and stamp, or undefined when it is not shaped like one. */
export function parseInstanceId(id: string): { masterId: string; stamp: string } | undefined {
  const m = /^(.+)_(\d{8}(?:T\d{6}Z)?)$/.exec(id);
  return m ? { masterId: m[1]!, stamp: m[2]! } : undefined;
}

/** Instant of an instance stamp (`20240101T100000Z` or `20240101`). */
export function stampInstant(stamp: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(stamp);
  if (!m) return undefined;
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
}
