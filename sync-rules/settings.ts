/**
 * Per-connection sync settings: one zod schema is the single source of truth for their shape, their defaults and the
 * error messages a user sees when the settings page (or admin API) sends something invalid.
 */
import { z } from 'zod';
import { templateProblems } from './title-template.js';
import { zodIssues, type Checked } from './validation.js';

export const SYNC_MODES = ['two-way', 'pipedrive-to-google'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const DEFAULT_TITLE_TEMPLATE = '{deal} > {person} > {org} > {subject}';

const syncSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The Google calendar events are written to; `null` until the user picks one. */
    calendarId: z.string().min(1, 'must not be empty').nullable().default(null),
    /** `two-way`: Google-created events become activities; `pipedrive-to-google`: only our events flow back. */
    mode: z.enum(SYNC_MODES).default('two-way'),
    titleTemplate: z
      .string()
      .default(DEFAULT_TITLE_TEMPLATE)
      .superRefine((template, ctx) => {
        for (const message of templateProblems(template)) ctx.addIssue({ code: 'custom', message });
      }),
    /** Activity types sent to Google; empty means every type. */
    activityTypesOut: z.array(z.string().min(1)).default([]),
    /** The activity type events created in Google become. */
    incomingActivityType: z.string().min(1).default('task'),
    /** Private items: sync marked private, sync as ordinary (public) items, or do not sync them at all. */
    privateEvents: z.enum(['private', 'public', 'skip']).default('private'),
    /** Write the linked person/organization/deal details (with links to Pipedrive) into the event description. */
    contactDetails: z.boolean().default(false),
    /** When one side is deleted: delete the other side too, or only forget the link and keep it. */
    deletion: z.enum(['delete', 'unlink']).default('delete'),
    /** Activities marked done: keep their events, or remove the events from the calendar. */
    doneActivities: z.enum(['keep', 'remove']).default('keep'),
    /** Send Google invitation e-mails to attendees (`sendUpdates=all`); off by default so syncing never spams. */
    sendInvitations: z.boolean().default(false),
    /** How far ahead instances of recurring Google events are turned into activities. */
    recurringHorizonDays: z.number().int().min(1).max(730).default(90),
    /**
     * Two-way mode: link an event that becomes an activity to the Pipedrive persons whose e-mail is one of its
     * attendees' (and to their organization and their one open deal), so the meeting shows on their timelines.
     */
    linkContacts: z.boolean().default(true),
    /** With `linkContacts`: create a Pipedrive person for an external attendee no person has the e-mail of. */
    createPersonsForAttendees: z.boolean().default(false),
    /** Give the events of Pipedrive meetings without a video-call link of their own a Google Meet link. */
    createMeetLinks: z.boolean().default(false),
    // Two-way import filters: which Google events become activities. An event already linked is never filtered.
    /** Google event types other than `default` (focus time, out of office, working location, birthdays…). */
    importOtherEventTypes: z.boolean().default(false),
    /** Invitations the user declined (declining a synced invitation applies `deletion`). */
    importDeclined: z.boolean().default(false),
    /** Events that do not block time (`transparency: transparent`, shown as "free"). */
    importFree: z.boolean().default(true),
    /** All-day events. */
    importAllDay: z.boolean().default(true),
    /** Events without any attendee other than the user. */
    importWithoutExternalAttendees: z.boolean().default(true),
    /** Period of the safety-net incremental sync that catches lost webhooks and push notifications. */
    safetyIntervalSeconds: z.number().int().min(60).max(86_400).default(300),
  })
  .superRefine((settings, ctx) => {
    // Enabling without a calendar would accept changes with nowhere to write them.
    if (settings.enabled && settings.calendarId === null) {
      ctx.addIssue({ code: 'custom', path: ['calendarId'], message: 'choose a calendar before enabling the sync' });
    }
  });

export type SyncSettings = z.output<typeof syncSettingsSchema>;
/** What a caller may send: every field optional, defaults fill the rest. */
export type SyncSettingsInput = z.input<typeof syncSettingsSchema>;

export const DEFAULT_SETTINGS: SyncSettings = Object.freeze(syncSettingsSchema.parse({})) as SyncSettings;

export type ParseSettingsResult = { ok: true; settings: SyncSettings } | { ok: false; errors: string[] };

/** Validates settings from outside (HTTP body, CLI, database row, an update): the settings, or what is wrong. */
export function checkSettings(input: unknown): Checked<SyncSettings> {
  const result = syncSettingsSchema.safeParse(input ?? {});
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: zodIssues(result.error.issues) };
}

/**
 * `checkSettings` with the issues as lines. Never throws: bad input yields one readable line per problem, prefixed
 * with the field name, suitable for a 400 response.
 */
export function parseSettings(input: unknown): ParseSettingsResult {
  const checked = checkSettings(input);
  return checked.ok
    ? { ok: true, settings: checked.value }
    : { ok: false, errors: checked.issues.map((i) => i.message) };
}
