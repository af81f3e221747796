import { describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { activityRuns, localActivityMarker } from '../../testing/activity-runs.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
/** A history event written as plain data (ids as numbers, which the proto types declare as Long). */
const ev = (e: object) => e as HistoryEvent;

/** A `core_local_activity` marker as the SDK core writes it: its record as a JSON payload under `data`. */
function marker(eventId: number, data: object, failed = false): HistoryEvent {
  return ev({
    eventId,
    markerRecordedEventAttributes: {
      markerName: 'core_local_activity',
      details: {
        data: {
          payloads: [
            { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(data), 'utf8') },
          ],
        },
      },
      failure: failed ? { message: 'simulated crash' } : null,
    },
  });
}

const scheduled = (eventId: number, name: string): HistoryEvent =>
  ev({ eventId, activityTaskScheduledEventAttributes: { activityType: { name } } });

describe('activity runs in a history', () => {
  it('counts local activities (markers) beside regular ones, with attempts and outcomes', () => {
    const events: HistoryEvent[] = [
      scheduled(5, 'applySettings'),
      ev({ eventId: 6, activityTaskStartedEventAttributes: { scheduledEventId: 5, attempt: 1 } }),
      ev({ eventId: 7, activityTaskCompletedEventAttributes: { scheduledEventId: 5 } }),
      marker(10, { seq: 3, attempt: 1, activity_id: '3', activity_type: 'syncPipedriveActivity' }),
      marker(14, { seq: 4, attempt: 1, activity_id: '4', activity_type: 'pullGoogle' }, true),
      scheduled(15, 'pullGoogle'),
      ev({ eventId: 16, activityTaskStartedEventAttributes: { scheduledEventId: 15, attempt: 2 } }),
      ev({ eventId: 17, activityTaskFailedEventAttributes: { scheduledEventId: 15 } }),
      ev({ eventId: 18, markerRecordedEventAttributes: { markerName: 'core_patch', details: {} } }),
    ];
    expect(activityRuns(events)).toEqual([
      { type: 'applySettings', local: false, eventId: 5, attempts: [1], ok: true },
      { type: 'syncPipedriveActivity', local: true, eventId: 10, attempts: [1], ok: true },
      { type: 'pullGoogle', local: true, eventId: 14, attempts: [1], ok: false },
      { type: 'pullGoogle', local: false, eventId: 15, attempts: [2], ok: false },
    ]);
    // Only what came after `since`.
    expect(activityRuns(events, 10).map((r) => r.eventId)).toEqual([14, 15]);
  });

  it('reads a marker’s record and ignores other markers', () => {
    const m = localActivityMarker(marker(3, { seq: 7, attempt: 1, activity_id: '7', activity_type: 'pullGoogle' }));
    expect(m).toEqual({ seq: 7, attempt: 1, activity_id: '7', activity_type: 'pullGoogle', failed: false });
    expect(
      localActivityMarker(ev({ eventId: 4, markerRecordedEventAttributes: { markerName: 'core_patch' } })),
    ).toBeNull();
  });
});
