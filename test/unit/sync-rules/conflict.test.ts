import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConflict, type SyncedFields } from '../../../sync-rules/index.js';
import { emails, schedules, text } from './arbitraries.js';
import { scheduleToTimes } from '../../../sync-rules/index.js';

const base: SyncedFields = {
  subject: 'Call',
  title: 'Acme > Call',
  start: { dateTime: '2026-05-04T10:00:00Z' },
  end: { dateTime: '2026-05-04T10:30:00Z' },
  description: 'Agenda',
  location: 'Berlin',
  busy: true,
  attendees: ['a@x.com'],
  private: false,
};
const EARLY = '2026-05-01T10:00:00Z';
const LATE = '2026-05-01T11:00:00Z';

describe('resolveConflict', () => {
  it('changes nothing when neither side changed', () => {
    const result = resolveConflict({
      base,
      pipedrive: { fields: base, updatedAt: EARLY },
      google: { fields: base, updatedAt: LATE },
    });
    expect(result.merged).toEqual(base);
    expect(result.writeToGoogle).toBe(false);
    expect(result.writeToPipedrive).toBe(false);
    expect(Object.values(result.decisions).every((d) => d === 'unchanged')).toBe(true);
  });

  it('takes a field changed only in Pipedrive from Pipedrive', () => {
    const pd = { ...base, subject: 'Call back', title: 'Acme > Call back' };
    const result = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: EARLY },
      google: { fields: base, updatedAt: LATE },
    });
    expect(result.merged).toEqual(pd);
    expect(result.decisions.subject).toBe('pipedrive');
    expect(result.writeToGoogle).toBe(true);
    expect(result.writeToPipedrive).toBe(false);
  });

  it('takes a field changed only in Google from Google', () => {
    const google = { ...base, location: 'Hamburg' };
    const result = resolveConflict({
      base,
      pipedrive: { fields: base, updatedAt: LATE },
      google: { fields: google, updatedAt: EARLY },
    });
    expect(result.merged.location).toBe('Hamburg');
    expect(result.decisions.location).toBe('google');
    expect(result.writeToPipedrive).toBe(true);
    expect(result.writeToGoogle).toBe(false);
  });

  it('keeps independent edits of different fields from both sides', () => {
    const pd = { ...base, description: 'New agenda' };
    const google = { ...base, start: { dateTime: '2026-05-04T11:00:00Z' }, end: { dateTime: '2026-05-04T11:30:00Z' } };
    const result = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: EARLY },
      google: { fields: google, updatedAt: EARLY },
    });
    expect(result.merged).toEqual({ ...base, description: 'New agenda', start: google.start, end: google.end });
    expect(result.writeToGoogle).toBe(true);
    expect(result.writeToPipedrive).toBe(true);
  });

  it('lets the later side win a field changed on both sides', () => {
    const pd = { ...base, location: 'Munich' };
    const google = { ...base, location: 'Hamburg' };
    const googleLater = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: EARLY },
      google: { fields: google, updatedAt: LATE },
    });
    expect(googleLater.merged.location).toBe('Hamburg');
    const pdLater = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: LATE },
      google: { fields: google, updatedAt: EARLY },
    });
    expect(pdLater.merged.location).toBe('Munich');
  });

  it('lets Pipedrive win a tie', () => {
    const pd = { ...base, location: 'Munich' };
    const google = { ...base, location: 'Hamburg' };
    const result = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: EARLY },
      google: { fields: google, updatedAt: EARLY },
    });
    expect(result.merged.location).toBe('Munich');
    expect(result.decisions.location).toBe('pipedrive');
  });

  it('compares Pipedrive timestamps without offset as UTC', () => {
    const pd = { ...base, location: 'Munich' };
    const google = { ...base, location: 'Hamburg' };
    const result = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: '2026-05-01 10:30:00' },
      google: { fields: google, updatedAt: '2026-05-01T12:00:00+02:00' },
    });
    expect(result.merged.location).toBe('Munich');
  });

  it('keeps Pipedrive privacy even when only Google changed it', () => {
    const google = { ...base, private: true };
    const result = resolveConflict({
      base,
      pipedrive: { fields: base, updatedAt: EARLY },
      google: { fields: google, updatedAt: LATE },
    });
    expect(result.merged.private).toBe(false);
    expect(result.writeToGoogle).toBe(true);
    expect(result.writeToPipedrive).toBe(false);
  });

  it('does not write to Pipedrive for a title difference alone', () => {
    const pd = { ...base, title: 'Deal > Acme > Call' };
    const result = resolveConflict({
      base,
      pipedrive: { fields: pd, updatedAt: EARLY },
      google: { fields: base, updatedAt: LATE },
    });
    expect(result.writeToPipedrive).toBe(false);
    expect(result.writeToGoogle).toBe(true);
  });
});

describe('resolveConflict properties', () => {
  const fields: fc.Arbitrary<SyncedFields> = fc
    .record({
      subject: text(10),
      title: text(10),
      schedule: schedules,
      description: text(10),
      location: text(10),
      busy: fc.boolean(),
      attendees: fc
        .uniqueArray(
          emails.map((e) => e.toLowerCase()),
          { maxLength: 2 },
        )
        .map((a) => a.sort()),
      private: fc.boolean(),
    })
    .map(({ schedule, ...rest }) => ({ ...rest, ...scheduleToTimes(schedule) }));
  /** A side that changed some fields of base. */
  const edited = (b: SyncedFields) =>
    fc.tuple(fields, fc.array(fc.boolean(), { minLength: 9, maxLength: 9 })).map(([other, mask]) => {
      const keys = Object.keys(b) as (keyof SyncedFields)[];
      const out = { ...b } as Record<keyof SyncedFields, unknown>;
      keys.forEach((k, i) => {
        if (mask[i]) out[k] = other[k];
      });
      return out as unknown as SyncedFields;
    });
  const timestamps = fc.constantFrom(EARLY, LATE, '2026-05-01 10:00:00', 'garbage');
  const scenario = fields.chain((b) =>
    fc.record({ base: fc.constant(b), pd: edited(b), google: edited(b), pdAt: timestamps, googleAt: timestamps }),
  );

  it('is deterministic', () => {
    fc.assert(
      fc.property(scenario, ({ base: b, pd, google, pdAt, googleAt }) => {
        const input = {
          base: b,
          pipedrive: { fields: pd, updatedAt: pdAt },
          google: { fields: google, updatedAt: googleAt },
        };
        expect(resolveConflict(structuredClone(input))).toEqual(resolveConflict(input));
      }),
    );
  });

  it('takes every field from Pipedrive when only Pipedrive changed', () => {
    fc.assert(
      fc.property(scenario, ({ base: b, pd, pdAt, googleAt }) => {
        const result = resolveConflict({
          base: b,
          pipedrive: { fields: pd, updatedAt: pdAt },
          google: { fields: b, updatedAt: googleAt },
        });
        expect(result.merged).toEqual(pd);
        expect(result.writeToPipedrive).toBe(false);
      }),
    );
  });

  it('takes every field from Google when only Google changed (except Pipedrive-only privacy)', () => {
    fc.assert(
      fc.property(scenario, ({ base: b, google, pdAt, googleAt }) => {
        const result = resolveConflict({
          base: b,
          pipedrive: { fields: b, updatedAt: pdAt },
          google: { fields: google, updatedAt: googleAt },
        });
        expect(result.merged).toEqual({ ...google, private: b.private });
      }),
    );
  });

  it('only ever takes values one of the sides has', () => {
    fc.assert(
      fc.property(scenario, ({ base: b, pd, google, pdAt, googleAt }) => {
        const { merged } = resolveConflict({
          base: b,
          pipedrive: { fields: pd, updatedAt: pdAt },
          google: { fields: google, updatedAt: googleAt },
        });
        for (const key of Object.keys(b) as (keyof SyncedFields)[]) {
          expect([pd[key], google[key]]).toContainEqual(merged[key]);
        }
      }),
    );
  });
});
