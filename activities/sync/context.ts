/**
 * Everything one sync step needs for one connection: its settings, both API clients with the user's
 * credentials (refreshed tokens are persisted back, encrypted), and the store.
 */
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { SyncSettings } from '../../sync-rules/settings.js';
import type { GoogleCalendarApi } from '../../adapters/google/calendar-api.js';
import type { PipedriveApi } from '../../adapters/pipedrive/client.js';
import { googleCalendarApiFor, pipedriveApiFor } from '../../adapters/connection-apis.js';
import { getConnection, loadCredentials, type Connection } from '../../adapters/store/connections.js';
import type { SyncDeps } from '../../adapters/sync-deps.js';

export interface SyncContext {
  deps: SyncDeps;
  db: pg.Pool;
  connection: Connection;
  settings: SyncSettings;
  /** The Pipedrive user whose activities sync. */
  ownerId: number;
  pipedrive: PipedriveApi;
  google: GoogleCalendarApi;
  /** Where links back to Pipedrive point, e.g. https://acme.pipedrive.com */
  pipedriveAppUrl: string | undefined;
}

export async function loadSyncContext(deps: SyncDeps, connectionId: string, attempt = 1): Promise<SyncContext> {
  const connection = await getConnection(deps.db, connectionId);
  if (!connection) {
    throw ApplicationFailure.nonRetryable(`connection ${connectionId} does not exist`, 'ConnectionNotFound');
  }
  const [googleCreds, pipedriveCreds] = await Promise.all([
    loadCredentials(deps.db, deps.secrets, connectionId, 'google'),
    loadCredentials(deps.db, deps.secrets, connectionId, 'pipedrive'),
  ]);
  if (!googleCreds || !pipedriveCreds || !connection.pipedriveApiDomain || connection.pipedriveUserId === null) {
    throw ApplicationFailure.nonRetryable(
      `connection ${connectionId} is not fully connected (Google and Pipedrive accounts are both needed)`,
      'ConnectionIncomplete',
    );
  }

  const pipedrive = pipedriveApiFor(
    deps,
    { ...connection, pipedriveApiDomain: connection.pipedriveApiDomain },
    pipedriveCreds,
  );
  const google = googleCalendarApiFor(deps, connectionId, googleCreds, { attempt });
  return {
    deps,
    db: deps.db,
    connection,
    settings: connection.settings,
    ownerId: connection.pipedriveUserId,
    pipedrive,
    google,
    pipedriveAppUrl: connection.pipedriveApiDomain,
  };
}
