/**
 * The names work items' outcomes and failures are reported under (`activity:42`, `deal:7`, `google-calendar`…),
 * and the way back: which work item tries a failed subject again. Pure functions, shared by the workflow and the
 * clients (the settings page offers Retry only where a retry exists).
 */
import { keyOf, type WorkItem } from './work-queue.js';

/** The subject a housekeeping item's failure is reported under. */
const HOUSEKEEPING_SUBJECTS = {
  google: 'google-calendar',
  reconcile: 'pipedrive-reconciliation',
  feeds: 'change-feeds',
  'verify-feeds': 'change-feeds-check',
  relocate: 'calendar-relocation',
} as const;

type HousekeepingKind = keyof typeof HOUSEKEEPING_SUBJECTS;

/** The subject a work item's failure is reported under: the queue key of a change, a name for housekeeping. */
export function describeItem(item: WorkItem): string {
  return item.kind === 'activity' || item.kind === 'entity' ? keyOf(item) : HOUSEKEEPING_SUBJECTS[item.kind];
}

/** The work item that retries a failed change (`activity:42`, `deal:7`…); null for anything else. */
export function retryItemFor(subject: string): WorkItem | null {
  const [kind, raw] = subject.split(':');
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  if (kind === 'activity') return { kind: 'activity', id };
  if (kind === 'deal' || kind === 'person' || kind === 'organization') return { kind: 'entity', entity: kind, id };
  return null;
}

/**
 * What a user's Retry of one failed subject runs: the change itself, or the housekeeping step that failed (a
 * Google pull, the reconciliation, the feeds). Null when nothing can try it alone: a Google event that failed
 * (`event:…`) is seen again only when it changes in Google, as the pull reads changes, not single events.
 */
export function manualRetryItemFor(subject: string): WorkItem | null {
  const housekeeping = Object.entries(HOUSEKEEPING_SUBJECTS).find(([, name]) => name === subject);
  if (housekeeping) return { kind: housekeeping[0] as HousekeepingKind };
  return retryItemFor(subject);
}
