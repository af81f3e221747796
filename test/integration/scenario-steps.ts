/**
 * Steps the import-filter and video-link scenarios share: deliver a change and wait until the user's workflow has
 * processed it, read the user's activities and events back from the emulators, count writes.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { eventually } from '../../testing/stack.js';
import type { Harness, SyncUser } from '../../testing/sync-harness.js';

export interface Activity {
  id: number;
  subject: string;
  type: string;
  owner_id: number;
  is_deleted: boolean;
  due_date: string | null;
  due_time: string | null;
  public_description: string | null;
  location: { value: string } | null;
  conference_meeting_url: string | null;
  conference_meeting_client: string | null;
  conference_meeting_id: string | null;
}

/** `YYYY-MM-DD`, `days` from today (UTC). */
export function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export function timed(date: string, from: string, to: string): Pick<calendar_v3.Schema$Event, 'start' | 'end'> {
  return { start: { dateTime: `${date}T${from}:00Z` }, end: { dateTime: `${date}T${to}:00Z` } };
}

export function steps(h: Harness, prefix: string) {
  let deliveries = 0;
  const webhook = (action: 'create' | 'change' | 'delete', id: number): PipedriveChange => ({
    meta: {
      action,
      entity: 'activity',
      entity_id: String(id),
      id: `${prefix}-${id}-${action}-${++deliveries}`,
      change_source: 'app',
    },
    data: null,
    previous: null,
  });

  /** Runs `signal`, then waits until the workflow processed at least one more item and has nothing left to do. */
  async function processed(user: SyncUser, signal: () => Promise<void>): Promise<void> {
    const before = (await h.sync.status(user.connectionId)).processed;
    await signal();
    await eventually(
      async () => {
        const s = await h.sync.status(user.connectionId);
        return s.processed > before && s.queued === 0 && s.state !== 'syncing' ? s : undefined;
      },
      30_000,
      `the sync of ${user.connectionId} to process the change`,
    );
  }

  return {
    /** A Google change notification, fully processed (one pull). */
    pull: (user: SyncUser) => processed(user, () => h.sync.googleChanged(user.connectionId)),
    /** A Pipedrive webhook for an activity, fully processed. */
    pushActivity: (user: SyncUser, action: 'create' | 'change' | 'delete', id: number) =>
      processed(user, () => h.sync.pipedriveChanged(user.connectionId, webhook(action, id))),
    /** The user's activities in Pipedrive (not deleted). */
    activitiesOf: (user: SyncUser): Activity[] =>
      (h.pipedrive.control.listActivities() as unknown as Activity[]).filter(
        (a) => a.owner_id === user.pipedriveUserId && !a.is_deleted,
      ),
    activity: (id: number): Activity => h.pipedrive.control.getActivity(id) as unknown as Activity,
    /** Event writes the sync made to Google so far. */
    googleWrites: (): number => {
      let n = 0;
      for (const [key, count] of h.apiCalls) if (/^google events\.(insert|update|patch|delete) /.test(key)) n += count;
      return n;
    },
    /** Activity writes the sync made to Pipedrive so far. */
    pipedriveWrites: (): number => {
      let n = 0;
      for (const [key, count] of h.apiCalls) if (/^pipedrive (POST|PATCH|DELETE) /.test(key)) n += count;
      return n;
    },
  };
}
