import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  googleToSchedule,
  instantOf,
  pdSchedule,
  scheduleToGoogle,
  scheduleToTimes,
} from '../../../sync-rules/index.js';
import { schedules } from './arbitraries.js';

describe('Pipedrive schedule to Google start/end', () => {
  it('writes a timed activity as UTC dateTimes with the duration between them', () => {
    expect(scheduleToGoogle({ due_date: '2026-05-04', due_time: '09:30', duration: '01:15' })).toEqual({
      start: { dateTime: '2026-05-04T09:30:00Z' },
      end: { dateTime: '2026-05-04T10:45:00Z' },
    });
  });

  it('writes an activity without due_time as an all-day event ending the next day', () => {
    expect(scheduleToGoogle({ due_date: '2026-12-31', due_time: null, duration: null })).toEqual({
      start: { date: '2026-12-31' },
      end: { date: '2027-01-01' },
    });
  });

  it('ends a timed activity without duration at its start', () => {
    expect(scheduleToTimes({ due_date: '2026-05-04', due_time: '09:30', duration: null })).toEqual({
      start: { dateTime: '2026-05-04T09:30:00Z' },
      end: { dateTime: '2026-05-04T09:30:00Z' },
    });
  });

  it('carries durations of more than 24 hours across days', () => {
    expect(scheduleToTimes({ due_date: '2026-05-04', due_time: '22:00', duration: '26:30' }).end).toEqual({
      dateTime: '2026-05-06T00:30:00Z',
    });
  });

  it('is unaffected by the DST switch days because times are UTC', () => {
    expect(scheduleToTimes({ due_date: '2026-03-29', due_time: '00:30', duration: '03:00' })).toEqual({
      start: { dateTime: '2026-03-29T00:30:00Z' },
      end: { dateTime: '2026-03-29T03:30:00Z' },
    });
    expect(scheduleToTimes({ due_date: '2026-10-25', due_time: '00:30', duration: '03:00' }).end).toEqual({
      dateTime: '2026-10-25T03:30:00Z',
    });
  });
});

describe('pdSchedule', () => {
  it('treats an empty due_time as all-day and drops its duration', () => {
    expect(pdSchedule({ due_date: '2026-05-04', due_time: '', duration: '01:00' })).toEqual({
      due_date: '2026-05-04',
      due_time: null,
      duration: null,
    });
  });

  it('treats a zero duration as no duration', () => {
    expect(pdSchedule({ due_date: '2026-05-04', due_time: '10:00', duration: '00:00' })?.duration).toBeNull();
  });

  it('accepts times and durations with seconds', () => {
    expect(pdSchedule({ due_date: '2026-05-04', due_time: '10:00:00', duration: '00:30:00' })).toEqual({
      due_date: '2026-05-04',
      due_time: '10:00',
      duration: '00:30',
    });
  });

  it('returns null for an activity without a due date', () => {
    expect(pdSchedule({ due_date: null })).toBeNull();
  });

  it('returns null for an impossible date', () => {
    expect(pdSchedule({ due_date: '2026-02-30' })).toBeNull();
  });
});

describe('Google start/end to Pipedrive schedule', () => {
  it('converts an offset dateTime to UTC', () => {
    expect(
      googleToSchedule(
        { dateTime: '2026-03-29T03:30:00+02:00', timeZone: 'Europe/Berlin' },
        { dateTime: '2026-03-29T04:00:00+02:00' },
      ),
    ).toEqual({ due_date: '2026-03-29', due_time: '01:30', duration: '00:30' });
  });

  it('moves the date when the offset crosses midnight', () => {
    expect(
      googleToSchedule({ dateTime: '2026-10-25T00:30:00+02:00' }, { dateTime: '2026-10-25T01:30:00+01:00' }),
    ).toEqual({
      due_date: '2026-10-24',
      due_time: '22:30',
      duration: '02:00',
    });
  });

  it('reads a dateTime without offset and without timeZone as UTC', () => {
    expect(googleToSchedule({ dateTime: '2026-05-04T09:00:00' }, { dateTime: '2026-05-04T09:45:00' })).toEqual({
      due_date: '2026-05-04',
      due_time: '09:00',
      duration: '00:45',
    });
  });

  it('reads a dateTime without offset in its timeZone (Berlin summer time: 03:30 is 01:30 UTC)', () => {
    expect(
      googleToSchedule(
        { dateTime: '2027-03-28T03:30:00', timeZone: 'Europe/Berlin' },
        { dateTime: '2027-03-28T04:15:00', timeZone: 'Europe/Berlin' },
      ),
    ).toEqual({ due_date: '2027-03-28', due_time: '01:30', duration: '00:45' });
  });

  it('reads Berlin winter time with its own offset', () => {
    expect(instantOf('2027-01-15T09:00:00', 'Europe/Berlin')).toBe(Date.parse('2027-01-15T08:00:00Z'));
  });

  it('moves a time inside a DST gap forward by the gap (02:30 on the spring-forward night is 03:30 CEST)', () => {
    // Clocks in Berlin jump from 02:00 to 03:00 on 2027-03-28: 02:30 does not exist.
    expect(instantOf('2027-03-28T02:30:00', 'Europe/Berlin')).toBe(Date.parse('2027-03-28T01:30:00Z'));
    expect(instantOf('2027-03-14T02:30:00', 'America/New_York')).toBe(Date.parse('2027-03-14T07:30:00Z'));
  });

  it('takes the first occurrence of a time that a DST overlap makes happen twice', () => {
    // Clocks in Berlin go back from 03:00 to 02:00 on 2027-10-31: 02:30 happens at 00:30Z and again at 01:30Z.
    expect(instantOf('2027-10-31T02:30:00', 'Europe/Berlin')).toBe(Date.parse('2027-10-31T00:30:00Z'));
    expect(instantOf('2027-10-31T03:30:00', 'Europe/Berlin')).toBe(Date.parse('2027-10-31T02:30:00Z'));
    expect(instantOf('2027-11-07T01:30:00', 'America/New_York')).toBe(Date.parse('2027-11-07T05:30:00Z'));
  });

  it('handles zones with half-hour offsets and zones west of UTC', () => {
    expect(instantOf('2027-06-01T12:00:00', 'Asia/Kolkata')).toBe(Date.parse('2027-06-01T06:30:00Z'));
    expect(instantOf('2027-06-01T12:00:00', 'America/Los_Angeles')).toBe(Date.parse('2027-06-01T19:00:00Z'));
  });

  it('lets an explicit offset win over the timeZone', () => {
    expect(instantOf('2027-03-28T03:30:00+05:00', 'Europe/Berlin')).toBe(Date.parse('2027-03-27T22:30:00Z'));
  });

  it('cannot read a dateTime without offset in an unknown time zone', () => {
    expect(instantOf('2027-03-28T03:30:00', 'Mars/Olympus_Mons')).toBeNull();
    expect(googleToSchedule({ dateTime: '2027-03-28T03:30:00', timeZone: 'Mars/Olympus_Mons' }, null)).toBeNull();
  });

  it('agrees with the offset Intl gives for every hour of a year in Berlin', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 24 - 1 }), (hour) => {
        const ms = Date.parse('2027-01-01T00:00:00Z') + hour * 3600_000;
        // The wall time Berlin shows at that instant reads back as the same instant, except the second 02:xx
        // of the overlap night, which reads as the first.
        const wall = new Intl.DateTimeFormat('sv-SE', {
          timeZone: 'Europe/Berlin',
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
        })
          .format(new Date(ms))
          .replace(' ', 'T');
        const back = instantOf(wall, 'Europe/Berlin')!;
        expect(back === ms || back === ms - 3600_000).toBe(true);
        if (back !== ms) expect(wall.startsWith('2027-10-31T02')).toBe(true);
      }),
    );
  });

  it('drops seconds', () => {
    expect(googleToSchedule({ dateTime: '2026-05-04T09:00:59Z' }, { dateTime: '2026-05-04T09:30:10Z' })).toEqual({
      due_date: '2026-05-04',
      due_time: '09:00',
      duration: '00:30',
    });
  });

  it('maps a multi-day all-day event to an all-day activity on its first day', () => {
    expect(googleToSchedule({ date: '2026-05-04' }, { date: '2026-05-07' })).toEqual({
      due_date: '2026-05-04',
      due_time: null,
      duration: null,
    });
  });

  it('gives no duration when the end is not after the start', () => {
    expect(
      googleToSchedule({ dateTime: '2026-05-04T09:00:00Z' }, { dateTime: '2026-05-04T08:00:00Z' })?.duration,
    ).toBeNull();
  });

  it('returns null when there is no start', () => {
    expect(googleToSchedule(undefined, undefined)).toBeNull();
  });
});

describe('time round trip', () => {
  it('preserves due_date, due_time and duration from Pipedrive to Google and back', () => {
    fc.assert(
      fc.property(schedules, (schedule) => {
        const { start, end } = scheduleToGoogle(schedule);
        expect(googleToSchedule(start, end)).toEqual(schedule);
      }),
      { numRuns: 1000 },
    );
  });
});
