/**
 * The activity executions a workflow history shows, regular and local alike. A regular activity is an
 * `ActivityTaskScheduled` event (its attempts in the `ActivityTaskStarted` events after it); a local activity
 * (workflows/local-first.ts) is a `MarkerRecorded` event named `core_local_activity`, whose `data` detail is the
 * SDK core's JSON record of the execution (seq, attempt, activity_id, activity_type, …) and whose `failure` is set
 * when that attempt failed. Tests and the latency bench read histories through this, so a step that moved from
 * an activity task to a marker is still counted.
 */
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The marker name the SDK core records local activities under. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

export interface ActivityRun {
  /** The activity's name, e.g. `syncPipedriveActivity`. */
  type: string;
  /** A local activity (a marker) rather than a regular one (a scheduled activity task). */
  local: boolean;
  /** The history event id of the `ActivityTaskScheduled` or `MarkerRecorded` event. */
  eventId: number;
  /**
   * The attempts started: for a local activity, the attempt its marker records; for a regular one, the
   * `ActivityTaskStarted` attempts seen (only the last one is in history once it closed).
   */
  attempts: number[];
  /** Whether it ended in success (`undefined`: a regular activity still open). */
  ok: boolean | undefined;
}

interface LocalActivityMarkerData {
  seq?: number;
  attempt?: number;
  activity_id?: string;
  activity_type?: string;
}

/** The core's record of one local activity execution, or null for any other event. */
export function localActivityMarker(e: HistoryEvent): (LocalActivityMarkerData & { failed: boolean }) | null {
  const attrs = e.markerRecordedEventAttributes;
  if (!attrs || attrs.markerName !== LOCAL_ACTIVITY_MARKER) return null;
  const payload = attrs.details?.['data']?.payloads?.[0];
  if (!payload?.data) return null;
  const data = JSON.parse(Buffer.from(payload.data).toString('utf8')) as LocalActivityMarkerData;
  return { ...data, failed: attrs.failure !== null && attrs.failure !== undefined };
}

/** Every activity execution in `events` after event id `since`, in history order. */
export function activityRuns(events: HistoryEvent[], since = 0): ActivityRun[] {
  const runs: ActivityRun[] = [];
  const regular = new Map<number, ActivityRun>();
  for (const e of events) {
    const id = Number(e.eventId);
    const marker = localActivityMarker(e);
    if (marker && id > since) {
      runs.push({
        type: marker.activity_type ?? '',
        local: true,
        eventId: id,
        attempts: [marker.attempt ?? 1],
        ok: !marker.failed,
      });
      continue;
    }
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled && id > since) {
      const run: ActivityRun = {
        type: scheduled.activityType?.name ?? '',
        local: false,
        eventId: id,
        attempts: [],
        ok: undefined,
      };
      regular.set(id, run);
      runs.push(run);
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) regular.get(Number(started.scheduledEventId))?.attempts.push(started.attempt ?? 1);
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) {
      const run = regular.get(Number(completed.scheduledEventId));
      if (run) run.ok = true;
    }
    const failed =
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (failed) {
      const run = regular.get(Number(failed.scheduledEventId));
      if (run) run.ok = false;
    }
  }
  return runs;
}
