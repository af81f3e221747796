import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, parseSettings } from '../../../sync-rules/index.js';

describe('parseSettings', () => {
  it('fills every field with its default when given nothing', () => {
    expect(parseSettings({})).toEqual({ ok: true, settings: DEFAULT_SETTINGS });
    expect(DEFAULT_SETTINGS).toEqual({
      enabled: false,
      calendarId: null,
      mode: 'two-way',
      titleTemplate: '{deal} > {person} > {org} > {subject}',
      activityTypesOut: [],
      incomingActivityType: 'task',
      privateEvents: 'private',
      contactDetails: false,
      deletion: 'delete',
      doneActivities: 'keep',
      sendInvitations: false,
      recurringHorizonDays: 90,
      linkContacts: true,
      createPersonsForAttendees: false,
      createMeetLinks: false,
      importOtherEventTypes: false,
      importDeclined: false,
      importFree: true,
      importAllDay: true,
      importWithoutExternalAttendees: true,
      safetyIntervalSeconds: 300,
    });
  });

  it('keeps the values it is given', () => {
    const result = parseSettings({
      enabled: true,
      calendarId: 'cal-1',
      mode: 'pipedrive-to-google',
      titleTemplate: '{subject}',
    });
    expect(result.ok && result.settings).toMatchObject({
      enabled: true,
      calendarId: 'cal-1',
      mode: 'pipedrive-to-google',
    });
  });

  it('names the field of every problem', () => {
    const result = parseSettings({ mode: 'one-way', recurringHorizonDays: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(2);
      expect(result.errors.some((e) => e.startsWith('mode:'))).toBe(true);
      expect(result.errors.some((e) => e.startsWith('recurringHorizonDays:'))).toBe(true);
    }
  });

  it('rejects a title template without {subject}', () => {
    expect(parseSettings({ titleTemplate: '{deal}' })).toEqual({
      ok: false,
      errors: ['titleTemplate: must contain {subject}'],
    });
  });

  it('rejects a title template with an unknown placeholder', () => {
    const result = parseSettings({ titleTemplate: '{company} {subject}' });
    expect(!result.ok && result.errors[0]).toMatch(/^titleTemplate: unknown placeholder \{company\}/);
  });

  it('rejects a recurring horizon above two years', () => {
    expect(parseSettings({ recurringHorizonDays: 731 }).ok).toBe(false);
  });

  it('rejects a fractional recurring horizon', () => {
    expect(parseSettings({ recurringHorizonDays: 1.5 }).ok).toBe(false);
  });

  it('rejects enabling the sync without a calendar', () => {
    expect(parseSettings({ enabled: true })).toEqual({
      ok: false,
      errors: ['calendarId: choose a calendar before enabling the sync'],
    });
  });

  it('rejects unknown fields so typos do not pass silently', () => {
    expect(parseSettings({ enabeld: true }).ok).toBe(false);
  });

  it('rejects input that is not an object', () => {
    expect(parseSettings('yes').ok).toBe(false);
  });
});
