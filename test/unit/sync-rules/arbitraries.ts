/** fast-check arbitraries shared by the sync-rules property tests. */
import fc from 'fast-check';
import {
  DEFAULT_SETTINGS,
  formatDuration,
  type LinkedNames,
  type PdActivity,
  type SyncSettings,
} from '../../../sync-rules/index.js';

/** Text as users type it, including unicode, the default separator and stray spaces. */
export const text = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ maxLength }),
    fc.constantFrom('', ' ', ' > ', 'a > b', 'Call > follow up', '  padded  ', '{subject}', 'Deal > Person'),
  );

export const names: fc.Arbitrary<LinkedNames> = fc.record(
  { deal: fc.option(text(20)), person: fc.option(text(20)), org: fc.option(text(20)) },
  { requiredKeys: [] },
);

export const templates = fc.constantFrom(
  '{deal} > {person} > {org} > {subject}',
  '{subject}',
  '{subject} ({deal})',
  '[{org}] {subject} - {person}',
  '{person}: {subject}',
  'PD: {deal}{person}{subject}{org}!',
);

/** Includes the two 2026 European DST switch days: times are UTC, so they must not matter. */
export const dates: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('2026-03-29', '2026-10-25', '2024-02-29', '2026-12-31', '2027-01-01'),
  fc
    .integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2099, 11, 31) })
    .map((ms) => new Date(ms).toISOString().slice(0, 10)),
);

export const clockTimes: fc.Arbitrary<string> = fc
  .record({ h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) })
  .map(({ h, m }) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

/** Durations from one minute to four days, so hours above 23 occur. */
export const durations: fc.Arbitrary<string> = fc.integer({ min: 1, max: 96 * 60 }).map(formatDuration);

/** A canonical schedule: all-day activities have no duration; timed ones have a positive duration or none. */
export const schedules = fc.oneof(
  dates.map((due_date) => ({ due_date, due_time: null, duration: null })),
  fc.record({ due_date: dates, due_time: clockTimes, duration: fc.option(durations) }),
);

export const emails: fc.Arbitrary<string> = fc
  .tuple(fc.emailAddress(), fc.boolean())
  .map(([email, upper]) => (upper ? email.toUpperCase() : email));

export const activities: fc.Arbitrary<PdActivity> = fc
  .record({
    id: fc.integer({ min: 1, max: 2_000_000_000 }),
    subject: text(),
    type: fc.constantFrom('call', 'meeting', 'task'),
    owner_id: fc.constant(7),
    schedule: schedules,
    busy: fc.option(fc.boolean()),
    public_description: fc.option(fc.oneof(text(80), fc.constant('line 1\n\nline 2\n\n'))),
    location: fc.option(fc.record({ value: fc.option(text(30)) })),
    attendees: fc.option(
      fc.array(
        emails.map((email) => ({ email })),
        { maxLength: 4 },
      ),
    ),
    private: fc.option(fc.boolean()),
  })
  .map(({ schedule, ...rest }) => ({ ...rest, ...schedule, is_deleted: false, done: false }));

export const settings: fc.Arbitrary<SyncSettings> = fc
  .record({
    titleTemplate: templates,
    privateEvents: fc.constantFrom('private', 'public', 'skip') as fc.Arbitrary<SyncSettings['privateEvents']>,
    contactDetails: fc.boolean(),
  })
  .map((overrides) => ({ ...DEFAULT_SETTINGS, enabled: true, calendarId: 'primary', ...overrides }));

export const contacts = fc.record(
  {
    deal: fc.record({ id: fc.nat(), title: text(20) }),
    person: fc.record({ id: fc.nat(), name: text(20), emails: fc.array(emails, { maxLength: 2 }) }),
    org: fc.record({ id: fc.nat(), name: text(20) }),
  },
  { requiredKeys: [] },
);
