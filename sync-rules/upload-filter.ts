/** Which of the user's activities an upload of unsynced activities covers: pure, shared by workflow and activities. */
import type { PdActivity } from './types.js';

/** Which activities an upload covers (validated by the workflow). */
export interface UploadFilter {
  /** Due on or after this day (`YYYY-MM-DD`). */
  from?: string;
  /** Due on or before this day (`YYYY-MM-DD`). */
  to?: string;
  /** Done activities too (default: only open ones). */
  includeDone?: boolean;
}

export function withinFilter(activity: PdActivity, filter: UploadFilter): boolean {
  if (!filter.includeDone && activity.done === true) return false;
  const due = activity.due_date ?? null;
  if ((filter.from || filter.to) && !due) return false;
  if (filter.from && due! < filter.from) return false;
  if (filter.to && due! > filter.to) return false;
  return true;
}
