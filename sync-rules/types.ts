/**
 * The shapes the sync rules work on.
 *
 * `PdActivity` is the subset of a Pipedrive API v2 activity that the sync reads. It is declared here (instead of
 * importing `ActivityItem` from the `pipedrive` package) because that type makes every field optional and has no
 * notion of `null`, while the API does return `null` for absent values; the rules must handle exactly what arrives.
 */

/** A Pipedrive API v2 activity, as returned by `GET /api/v2/activities[/:id]` and in v2 webhook `data`. */
export interface PdActivity {
  id: number;
  subject: string;
  type: string;
  owner_id: number;
  is_deleted?: boolean;
  done?: boolean;
  /** `YYYY-MM-DDTHH:MM:SSZ`; used by conflict resolution as "when Pipedrive changed it". */
  update_time?: string | null;
  deal_id?: number | null;
  person_id?: number | null;
  org_id?: number | null;
  /** `YYYY-MM-DD`; an activity without a due date cannot be shown in a calendar. */
  due_date?: string | null;
  /** `HH:MM` in UTC; `null` or `''` means an all-day activity. */
  due_time?: string | null;
  /** `HH:MM`, hours may exceed 23 for long activities; `null`/`''` means no duration. */
  duration?: string | null;
  busy?: boolean | null;
  public_description?: string | null;
  location?: { value?: string | null } | null;
  attendees?: PdAttendee[] | null;
  /** Not part of the public v2 schema; present when the activity is marked private. */
  private?: boolean | null;
  /** The video-call link (`ActivityItem.conference_meeting_url` of the v2 model). */
  conference_meeting_url?: string | null;
  /** "The client used for the conference meeting" (free text in the v2 model). */
  conference_meeting_client?: string | null;
  /** "The ID of the conference meeting". */
  conference_meeting_id?: string | null;
}

export interface PdAttendee {
  email: string;
  name?: string | null;
}

/**
 * The Pipedrive v2 activity write body (`POST`/`PATCH /api/v2/activities`) for the fields the sync owns.
 * `location: null` and `due_time: null` clear the value on Pipedrive's side.
 */
export interface PdActivityWrite {
  subject: string;
  public_description: string;
  location: { value: string } | null;
  due_date: string;
  due_time: string | null;
  duration: string | null;
  busy: boolean;
  attendees: { email: string }[];
  /** Only set when creating an activity from a Google event. */
  type?: string;
  /**
   * The event's video-call link; `null`: the event has none (not sent — see docs/sync-rules.md). Client and id only
   * when the event's own conference names them.
   */
  conference_meeting_url?: string | null;
  conference_meeting_client?: string;
  conference_meeting_id?: string;
}

/** Names of the entities an activity is linked to; these make up the title prefix. Absent → left out. */
export interface LinkedNames {
  deal?: string | null;
  person?: string | null;
  org?: string | null;
}

/** An instant or a day, in the canonical form both sides are compared in. */
export type SyncedTime =
  /** All-day: `YYYY-MM-DD`; for `end` it is exclusive (the day after the last day). */
  | { date: string }
  /** Timed: always UTC, minute resolution, `YYYY-MM-DDTHH:MM:00Z`. */
  | { dateTime: string };

/**
 * The canonical, normalized content both sides share. Built from a Pipedrive activity by `activityToSyncedFields`
 * and from a Google event by `eventToSyncedFields`; a write we made compares deep-equal (and hashes equal) when we
 * observe it again, which is what echo suppression and field-wise conflict resolution rely on.
 */
export interface SyncedFields {
  /** The activity subject (the title without the linked-names prefix). */
  subject: string;
  /**
   * The full rendered event title (prefix + subject). Derived, but part of the content so that linking an activity to
   * a deal, or renaming the deal, changes the hash and re-titles the event, while our own re-title is still an echo.
   */
  title: string;
  start: SyncedTime;
  end: SyncedTime;
  /** Description without the contact-details block; `''` when absent. */
  description: string;
  /** `''` when absent. */
  location: string;
  busy: boolean;
  /** Lower-cased, trimmed, de-duplicated, sorted. */
  attendees: string[];
  /** Effective privacy under the `privateEvents` policy (always false unless the policy is `'private'`). */
  private: boolean;
  /**
   * The pair's video-call link; absent (not `''`) when there is none, so the hash of content without a link is the
   * one stored before links were synced.
   */
  conferenceUrl?: string;
}
