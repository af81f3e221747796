/**
 * The admin API's wire format, shared by the server handlers (client/admin/routes.ts) and the typed client
 * (client/admin/api-client.ts) the CLI and the tests use. Nothing here ever carries a credential: a
 * connection says only *whether* each side has credentials stored.
 */
import type { SyncSettings } from '../../sync-rules/settings.js';
import type { SyncState } from '../../workflows/search-attributes.js';
import type { SyncStatus } from '../../workflows/contract.js';
import type { UploadProgress } from '../../workflows/upload-unsynced.js';
import type { UploadFilter } from '../../sync-rules/upload-filter.js';

export type { UploadProgress };

/** A connection as the admin API shows it. */
export interface ConnectionView {
  id: string;
  displayName: string;
  pipedriveUserId: number | null;
  pipedriveCompanyId: number | null;
  googleEmail: string | null;
  /** Whether credentials are stored for each side (never the credentials themselves). */
  credentials: { google: boolean; pipedrive: boolean; webhook: boolean };
  settings: SyncSettings;
}

/** Where a connection's workflow stands, from Temporal (no worker needed to answer). */
export interface WorkflowView {
  /** `RUNNING`, `COMPLETED`, `TERMINATED`, … or `NOT_STARTED` when there has never been a workflow. */
  execution: string;
  /** The settled state the workflow last published (search attribute), `null` if unknown. */
  state: SyncState | null;
}

export interface ConnectionSummary extends ConnectionView {
  workflow: WorkflowView;
}

export interface AuditEntryView {
  id: number;
  at: string;
  direction: string;
  action: string;
  subject: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

export interface ConnectionDetail {
  connection: ConnectionView;
  workflow: WorkflowView;
  /** The live status from the workflow's `status` query; `null` when the workflow is not running. */
  status: SyncStatus | null;
  /** Newest first. */
  audit: AuditEntryView[];
}

export interface SettingsView {
  connectionId: string;
  settings: SyncSettings;
}

export interface ActionResult {
  connectionId: string;
  /** The workflow's status after the action (`null` when there was no running workflow to act on). */
  status: SyncStatus | null;
}

export interface ResyncView extends ActionResult {
  /** Work items the resync added (0: its whole pass was waiting already). */
  added: number;
  status: SyncStatus;
}

/** Which activities an upload covers (validated by the workflow's own rules: YYYY-MM-DD days, from ≤ to). */
export type UploadRequest = UploadFilter;

export interface UploadProgressView {
  connectionId: string;
  /** The latest upload's progress (also after it ended); `null` when none was ever started. */
  progress: UploadProgress | null;
}

export interface UploadStartedView extends UploadProgressView {
  /** The upload's workflow id (to find it in the Temporal UI). */
  uploadWorkflowId: string;
}

/** Every error answer of the admin API. */
export interface AdminErrorBody {
  error: string;
  /** One line per problem with the input (400). */
  problems?: string[];
}
