/**
 * Writing the sync's search attributes (`search-attributes.ts` declares them) from inside the workflow, each one
 * only when its value changes: every write is a command and a visibility update.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import { PIPEDRIVE_COMPANY_ID, PIPEDRIVE_USER_ID, SYNC_MODE, SYNC_STATE, type SyncState } from './search-attributes.js';

export class SearchAttributeWriter {
  private state: SyncState | undefined;
  private mode: string | null = null;

  /**
   * Keeps `CalendarSyncState` in step with the settled state and `CalendarSyncMode` with the settings.
   * `syncing` is left out on purpose: it would flip twice for every change a user makes, and each flip is a
   * command and a visibility write; the status query shows it instead.
   */
  update(current: SyncState, failing: boolean, mode: string | null): void {
    const state = current === 'syncing' ? (failing ? 'failing' : 'idle') : current;
    const updates: SearchAttributeUpdatePair[] = [];
    if (state !== this.state) updates.push({ key: SYNC_STATE, value: state });
    if (mode !== null && mode !== this.mode) updates.push({ key: SYNC_MODE, value: mode });
    this.state = state;
    this.mode = mode;
    if (updates.length) upsertSearchAttributes(updates);
  }
}

/** For operators in the Temporal UI: the connection's Pipedrive ids as search attributes (ids only: not encrypted). */
export function recordConnectionIds(saved: {
  pipedriveCompanyId: number | null;
  pipedriveUserId: number | null;
}): void {
  upsertSearchAttributes([
    ...(saved.pipedriveCompanyId !== null ? [{ key: PIPEDRIVE_COMPANY_ID, value: saved.pipedriveCompanyId }] : []),
    ...(saved.pipedriveUserId !== null ? [{ key: PIPEDRIVE_USER_ID, value: saved.pipedriveUserId }] : []),
  ]);
}
