/**
 * Merging concurrent edits, field by field.
 *
 * Given the content both sides last agreed on (`base`, what we last wrote) and each side's current content:
 * - a field changed on one side only takes that side's value — so independent edits to different fields (time in
 *   Google, subject in Pipedrive) both survive;
 * - a field changed on both sides takes the value of the side whose `updatedAt` is later;
 * - on a tie (or an unreadable timestamp) Pipedrive wins: it is the system of record for CRM activities;
 * - `private` always takes Pipedrive's value: Pipedrive's write API cannot store it, so a Google-side value could
 *   never be made consistent (it would flip back on the next Pipedrive change).
 *
 * `writeToGoogle` / `writeToPipedrive` say whether the merged content differs from what that side has now. For
 * Pipedrive, `title` and `private` are not compared: the title is derived from the subject and the links, and
 * privacy cannot be written there.
 */
import { canonicalJson } from './content-hash.js';
import type { SyncedFields } from './types.js';

export type FieldDecision = 'pipedrive' | 'google' | 'unchanged';
export type FieldDecisions = { [K in keyof SyncedFields]: FieldDecision };

export interface SideState {
  fields: SyncedFields;
  /** When this side last changed (Pipedrive `update_time`, Google `updated`), ISO 8601; offset-less means UTC. */
  updatedAt: string;
}

export interface ConflictInput {
  base: SyncedFields;
  pipedrive: SideState;
  google: SideState;
}

export interface ConflictResolution {
  merged: SyncedFields;
  writeToGoogle: boolean;
  writeToPipedrive: boolean;
  decisions: FieldDecisions;
}

const FIELDS: readonly (keyof SyncedFields)[] = [
  'subject',
  'title',
  'start',
  'end',
  'description',
  'location',
  'busy',
  'attendees',
  'private',
  'conferenceUrl',
];
const NOT_WRITABLE_TO_PIPEDRIVE: ReadonlySet<keyof SyncedFields> = new Set(['title', 'private']);

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Milliseconds of a timestamp; accepts `YYYY-MM-DD HH:MM:SS` (Pipedrive) and ISO; NaN if unreadable. */
function instant(timestamp: string): number {
  const iso = timestamp.trim().replace(' ', 'T');
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`);
}

/** True when Google's edit is strictly later; ties and unreadable timestamps go to Pipedrive. */
function googleIsLater(input: ConflictInput): boolean {
  const google = instant(input.google.updatedAt);
  const pipedrive = instant(input.pipedrive.updatedAt);
  if (Number.isNaN(google)) return false;
  if (Number.isNaN(pipedrive)) return true;
  return google > pipedrive;
}

function decide(field: keyof SyncedFields, input: ConflictInput): FieldDecision {
  const pdChanged = !same(input.pipedrive.fields[field], input.base[field]);
  const googleChanged = !same(input.google.fields[field], input.base[field]);
  if (!pdChanged && !googleChanged) return 'unchanged';
  if (field === 'private') return 'pipedrive';
  if (pdChanged && !googleChanged) return 'pipedrive';
  if (googleChanged && !pdChanged) return 'google';
  return googleIsLater(input) ? 'google' : 'pipedrive';
}

export function resolveConflict(input: ConflictInput): ConflictResolution {
  const decisions = {} as FieldDecisions;
  const merged = { ...input.base } as Record<keyof SyncedFields, unknown>;
  for (const field of FIELDS) {
    const decision = decide(field, input);
    decisions[field] = decision;
    merged[field] =
      decision === 'google'
        ? input.google.fields[field]
        : decision === 'pipedrive'
          ? input.pipedrive.fields[field]
          : input.base[field];
  }
  const result = merged as unknown as SyncedFields;
  return {
    merged: result,
    writeToGoogle: FIELDS.some((f) => !same(result[f], input.google.fields[f])),
    writeToPipedrive: FIELDS.some(
      (f) => !NOT_WRITABLE_TO_PIPEDRIVE.has(f) && !same(result[f], input.pipedrive.fields[f]),
    ),
    decisions,
  };
}
