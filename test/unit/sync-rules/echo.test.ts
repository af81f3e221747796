import { describe, expect, it } from 'vitest';
import type { calendar_v3 } from '@googleapis/calendar';
import {
  DEFAULT_SETTINGS,
  classifyGoogleChange,
  classifyPipedriveChange,
  isEcho,
  type GoogleChangeInput,
  type PdActivity,
  type PipedriveChangeInput,
  type SyncSettings,
} from '../../../sync-rules/index.js';

const settings: SyncSettings = { ...DEFAULT_SETTINGS, enabled: true, calendarId: 'primary' };

describe('isEcho', () => {
  it('is true when the observed hash is the one we last wrote', () => {
    expect(isEcho('abc', 'abc')).toBe(true);
  });

  it('is false when the content differs from what we wrote', () => {
    expect(isEcho('abc', 'abd')).toBe(false);
  });

  it('is false when we never wrote anything', () => {
    expect(isEcho('abc', null)).toBe(false);
  });
});

describe('classifyGoogleChange', () => {
  const event: calendar_v3.Schema$Event = {
    id: 'evt1',
    status: 'confirmed',
    summary: 'Lunch',
    start: { dateTime: '2026-05-04T12:00:00Z' },
    end: { dateTime: '2026-05-04T13:00:00Z' },
  };
  const ours = (connectionId: string): calendar_v3.Schema$Event => ({
    ...event,
    extendedProperties: { private: { pdActivityId: '42', pdConnectionId: connectionId, pdContentHash: 'h' } },
  });
  const link = { activityId: 42, lastWrittenHash: 'h1' };
  const input = (overrides: Partial<GoogleChangeInput>): GoogleChangeInput => ({
    event,
    link: null,
    settings,
    connectionId: 'conn-1',
    ...overrides,
  });

  it('imports a new Google event as an activity in two-way mode', () => {
    expect(classifyGoogleChange(input({}))).toEqual({
      decision: 'apply',
      effect: 'create-activity',
      reason: 'event-created',
    });
  });

  it('ignores a new Google event in pipedrive-to-google mode', () => {
    expect(classifyGoogleChange(input({ settings: { ...settings, mode: 'pipedrive-to-google' } }))).toMatchObject({
      decision: 'ignore',
      reason: 'google-events-not-imported-in-this-mode',
    });
  });

  it('applies edits of a linked event in pipedrive-to-google mode', () => {
    const decision = classifyGoogleChange(
      input({ link, observedHash: 'h2', settings: { ...settings, mode: 'pipedrive-to-google' } }),
    );
    expect(decision).toEqual({ decision: 'apply', effect: 'update-activity', reason: 'event-changed' });
  });

  it('recognizes our own write by its hash', () => {
    expect(classifyGoogleChange(input({ link, observedHash: 'h1' }))).toEqual({
      decision: 'echo',
      reason: 'own-write',
    });
  });

  it('deletes the activity of a cancelled linked event under the delete policy', () => {
    const decision = classifyGoogleChange(input({ event: { id: 'evt1', status: 'cancelled' }, link }));
    expect(decision).toEqual({ decision: 'apply', effect: 'delete-activity', reason: 'event-deleted' });
  });

  it('only unlinks a cancelled linked event under the unlink policy', () => {
    const decision = classifyGoogleChange(
      input({ event: { id: 'evt1', status: 'cancelled' }, link, settings: { ...settings, deletion: 'unlink' } }),
    );
    expect(decision).toMatchObject({ decision: 'apply', effect: 'unlink' });
  });

  it('ignores a cancelled event that was never linked', () => {
    expect(classifyGoogleChange(input({ event: { id: 'x', status: 'cancelled' } }))).toMatchObject({
      decision: 'ignore',
    });
  });

  it('ignores everything while the sync is disabled', () => {
    expect(classifyGoogleChange(input({ settings: DEFAULT_SETTINGS }))).toMatchObject({ reason: 'sync-disabled' });
  });

  it('ignores events another connection wrote into a shared calendar', () => {
    expect(classifyGoogleChange(input({ event: ours('conn-2') }))).toMatchObject({
      decision: 'ignore',
      reason: 'written-by-another-connection',
    });
  });

  it('ignores our own event once its link is gone instead of importing it again', () => {
    expect(classifyGoogleChange(input({ event: ours('conn-1') }))).toMatchObject({ reason: 'own-event-without-link' });
  });

  it('ignores private events under the skip policy', () => {
    const decision = classifyGoogleChange(
      input({ event: { ...event, visibility: 'private' }, settings: { ...settings, privateEvents: 'skip' } }),
    );
    expect(decision).toMatchObject({ decision: 'ignore', reason: 'private-event-skipped' });
  });

  it('imports private events under the public policy', () => {
    const decision = classifyGoogleChange(
      input({ event: { ...event, visibility: 'private' }, settings: { ...settings, privateEvents: 'public' } }),
    );
    expect(decision).toMatchObject({ decision: 'apply', effect: 'create-activity' });
  });

  it('ignores invitations the user declined', () => {
    const declined = { ...event, attendees: [{ email: 'me@x.com', self: true, responseStatus: 'declined' }] };
    expect(classifyGoogleChange(input({ event: declined }))).toMatchObject({ reason: 'invitation-declined' });
  });

  it('ignores the master of a recurring series because its instances arrive separately', () => {
    expect(classifyGoogleChange(input({ event: { ...event, recurrence: ['RRULE:FREQ=DAILY'] } }))).toMatchObject({
      reason: 'recurring-series-master',
    });
  });

  it('ignores recurring instances beyond the horizon', () => {
    const instance = {
      ...event,
      recurringEventId: 'series',
      start: { date: '2026-09-01' },
      end: { date: '2026-09-02' },
    };
    expect(classifyGoogleChange(input({ event: instance, now: '2026-05-01T00:00:00Z' }))).toMatchObject({
      reason: 'beyond-recurring-horizon',
    });
    expect(classifyGoogleChange(input({ event: instance, now: '2026-07-01T00:00:00Z' }))).toMatchObject({
      effect: 'create-activity',
    });
  });

  it('ignores an event without a readable start', () => {
    expect(classifyGoogleChange(input({ event: { id: 'x', status: 'confirmed' } }))).toMatchObject({
      reason: 'no-readable-start',
    });
  });
});

describe('classifyPipedriveChange', () => {
  const activity: PdActivity = {
    id: 42,
    subject: 'Call',
    type: 'call',
    owner_id: 7,
    due_date: '2026-05-04',
    due_time: '10:00',
    duration: '00:30',
  };
  const link = { eventId: 'evt', lastWrittenHash: 'h1' };
  const input = (overrides: Partial<PipedriveChangeInput>): PipedriveChangeInput => ({
    activity,
    link: null,
    settings,
    ownerId: 7,
    ...overrides,
  });

  it('creates an event for a new activity of the connected user', () => {
    expect(classifyPipedriveChange(input({}))).toEqual({
      decision: 'apply',
      effect: 'create-event',
      reason: 'activity-created',
    });
  });

  it('updates the event of a changed linked activity', () => {
    expect(classifyPipedriveChange(input({ link, observedHash: 'h2' }))).toMatchObject({ effect: 'update-event' });
  });

  it('recognizes our own write by its hash', () => {
    expect(classifyPipedriveChange(input({ link, observedHash: 'h1' }))).toEqual({
      decision: 'echo',
      reason: 'own-write',
    });
  });

  it('ignores activities of other users', () => {
    expect(classifyPipedriveChange(input({ activity: { ...activity, owner_id: 8 } }))).toMatchObject({
      decision: 'ignore',
      reason: 'not-owned-by-connected-user',
    });
  });

  it('removes the event when the activity is handed to another owner', () => {
    expect(classifyPipedriveChange(input({ activity: { ...activity, owner_id: 8 }, link }))).toMatchObject({
      decision: 'apply',
      effect: 'delete-event',
      reason: 'not-owned-by-connected-user',
    });
  });

  it('ignores activity types that are not sent to the calendar', () => {
    expect(classifyPipedriveChange(input({ settings: { ...settings, activityTypesOut: ['meeting'] } }))).toMatchObject({
      reason: 'activity-type-not-synced',
    });
  });

  it('sends every type when the type list is empty', () => {
    expect(classifyPipedriveChange(input({ activity: { ...activity, type: 'anything' } }))).toMatchObject({
      effect: 'create-event',
    });
  });

  it('removes the event of a done activity when done activities are removed', () => {
    const decision = classifyPipedriveChange(
      input({ activity: { ...activity, done: true }, link, settings: { ...settings, doneActivities: 'remove' } }),
    );
    expect(decision).toMatchObject({ effect: 'delete-event', reason: 'done-activities-removed' });
  });

  it('keeps syncing done activities by default', () => {
    expect(classifyPipedriveChange(input({ activity: { ...activity, done: true } }))).toMatchObject({
      effect: 'create-event',
    });
  });

  it('skips private activities under the skip policy', () => {
    const decision = classifyPipedriveChange(
      input({ activity: { ...activity, private: true }, settings: { ...settings, privateEvents: 'skip' } }),
    );
    expect(decision).toMatchObject({ decision: 'ignore', reason: 'private-activity-skipped' });
  });

  it('ignores activities without a due date', () => {
    expect(classifyPipedriveChange(input({ activity: { ...activity, due_date: null } }))).toMatchObject({
      reason: 'no-due-date',
    });
  });

  it('deletes the event of a deleted activity under the delete policy', () => {
    expect(classifyPipedriveChange(input({ activity: { ...activity, is_deleted: true }, link }))).toEqual({
      decision: 'apply',
      effect: 'delete-event',
      reason: 'activity-deleted',
    });
  });

  it('only unlinks the event of a deleted activity under the unlink policy', () => {
    const decision = classifyPipedriveChange(
      input({ activity: null, link, settings: { ...settings, deletion: 'unlink' } }),
    );
    expect(decision).toMatchObject({ effect: 'unlink', reason: 'activity-deleted' });
  });

  it('ignores the deletion of an activity that had no event', () => {
    expect(classifyPipedriveChange(input({ activity: null }))).toMatchObject({ reason: 'deleted-activity-not-linked' });
  });

  it('ignores everything while no calendar is chosen', () => {
    expect(classifyPipedriveChange(input({ settings: { ...settings, calendarId: null } }))).toMatchObject({
      reason: 'no-calendar',
    });
  });

  it('ignores everything while the sync is disabled', () => {
    expect(classifyPipedriveChange(input({ settings: { ...settings, enabled: false } }))).toMatchObject({
      reason: 'sync-disabled',
    });
  });
});
