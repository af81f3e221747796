/**
 * Custom search attributes of the per-user workflow, so an operator can find a user's sync in the Temporal UI
 * (`CalendarSyncConnectionId = "…"`, `CalendarSyncState = "failing"`). They are registered with the dev server
 * at start and must be registered on any other cluster (`temporal operator search-attribute create`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CONNECTION_ID = defineSearchAttributeKey('CalendarSyncConnectionId', SearchAttributeType.KEYWORD);
export const SYNC_STATE = defineSearchAttributeKey('CalendarSyncState', SearchAttributeType.KEYWORD);
/** `two-way` or `pipedrive-to-google`. */
export const SYNC_MODE = defineSearchAttributeKey('CalendarSyncMode', SearchAttributeType.KEYWORD);
/** The connected Pipedrive company and user (ids only: search attributes are not encrypted). */
export const PIPEDRIVE_COMPANY_ID = defineSearchAttributeKey('PipedriveCompanyId', SearchAttributeType.INT);
export const PIPEDRIVE_USER_ID = defineSearchAttributeKey('PipedriveUserId', SearchAttributeType.INT);

export const ALL_SEARCH_ATTRIBUTES = [CONNECTION_ID, SYNC_STATE, SYNC_MODE, PIPEDRIVE_COMPANY_ID, PIPEDRIVE_USER_ID];

/**
 * What the sync is doing: `failing` while the latest work item failed for good (until one succeeds), so an
 * operator can list every user whose sync needs attention. The search attribute holds the settled states
 * (`idle`, `paused`, `failing`, `disconnected`); `syncing` is only reported by the status query.
 */
export type SyncState = 'idle' | 'syncing' | 'paused' | 'failing' | 'disconnected';
