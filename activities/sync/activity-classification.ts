/**
 * What the sync rules make of an activity's current state next to its link. The Pipedrive direction acts on the
 * decision; the safety net's reconciliation asks the same question to find activities that need syncing.
 */
import { classifyPipedriveChange } from '../../sync-rules/echo.js';
import type { LinkedNames, PdActivity } from '../../sync-rules/types.js';
import type { Link } from '../../adapters/store/links.js';
import type { SyncContext } from './context.js';
import { activityContentOrNull, type SyncedContent } from './linked-pair.js';
import { linkedNames } from './linked-names.js';

export interface ActivityClassification {
  decision: ReturnType<typeof classifyPipedriveChange>;
  /** The names of the activity's deal, person and organization (the title's prefix). */
  names: LinkedNames;
  /** The activity's synced content; null when it is gone or has no due date. */
  content: SyncedContent | null;
}

/** The decision, with the linked names and synced content it was based on (the change writes those). */
export async function classifyActivity(
  ctx: SyncContext,
  activity: PdActivity | null,
  link: Link | null,
): Promise<ActivityClassification> {
  const names: LinkedNames = activity ? await linkedNames(ctx, activity) : {};
  const content = activity ? activityContentOrNull(ctx, activity, names) : null;
  const decision = classifyPipedriveChange({
    activity,
    link: link ? { eventId: link.eventId, lastWrittenHash: link.lastWrittenHash } : null,
    settings: ctx.settings,
    ownerId: ctx.ownerId,
    observedHash: content?.hash ?? null,
  });
  return { decision, names, content };
}
