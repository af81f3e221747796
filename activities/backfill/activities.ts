/**
 * The activities of "upload unsynced activities" (workflows/upload-unsynced.ts): scan a page, write a batch,
 * report the result. Like every activity, each is idempotent under retries.
 */
import { Context } from '@temporalio/activity';
import { writeAudit } from '../../adapters/store/audit-log.js';
import type { SyncDeps } from '../../adapters/sync-deps.js';
import { loadSyncContext } from '../sync/context.js';
import { scanUploadPage, type ScannedPage, type UploadFilter } from './scan-page.js';
import { uploadBatch, type BatchOptions, type BatchReport } from './upload-batch.js';
import { pruneUpload, type UploadCounts } from '../../adapters/store/upload-items.js';

export type { BatchReport } from './upload-batch.js';
export type { ScannedPage, UploadFilter } from './scan-page.js';
export type { UploadCounts } from '../../adapters/store/upload-items.js';

export interface UploadReport {
  uploadId: string;
  state: 'completed' | 'cancelled' | 'failed';
  counts: UploadCounts;
  message?: string;
}

export function createBackfillActivities(deps: SyncDeps) {
  return {
    /** One page of the user's activities into the upload's store; answers counts and the next cursor. */
    async scanUploadPage(
      connectionId: string,
      uploadId: string,
      filter: UploadFilter,
      cursor: string | null,
    ): Promise<ScannedPage> {
      const ctx = await loadSyncContext(deps, connectionId, Context.current().info.attempt);
      return scanUploadPage(ctx, uploadId, filter, cursor);
    },

    /** Events for the next stored items; answers the upload's counters and what Google said. */
    async uploadBatch(connectionId: string, opts: BatchOptions): Promise<BatchReport> {
      let googleRequests = 0;
      const counting: SyncDeps = {
        ...deps,
        onApiCall: (side, route, status) => {
          if (side === 'google') googleRequests++;
          deps.onApiCall?.(side, route, status);
        },
      };
      const ctx = await loadSyncContext(counting, connectionId, Context.current().info.attempt);
      return uploadBatch(ctx, opts, () => googleRequests);
    },

    /** Writes the upload's outcome to the audit log and drops its store rows except the failures. */
    async finishUpload(connectionId: string, report: UploadReport): Promise<void> {
      await writeAudit(deps.db, {
        connectionId,
        direction: 'pipedrive-to-google',
        action: 'upload-unsynced',
        subject: `upload:${report.uploadId}`,
        outcome: report.state === 'completed' ? 'ok' : report.state === 'cancelled' ? 'skipped' : 'failed',
        detail: { state: report.state, ...report.counts, ...(report.message ? { message: report.message } : {}) },
        idempotencyKey: `upload/${report.uploadId}`,
      });
      await pruneUpload(deps.db, connectionId, report.uploadId);
    },
  };
}
