/**
 * Relays webhook deliveries that were stored while Temporal was unreachable. Runs in every HTTP server
 * process; rows are locked while relayed, so several processes share the work without double signals.
 */
import type pg from 'pg';
import { relayPending } from '../../activities/store/webhook-inbox.js';
import type { SyncClient } from '../sync-client.js';
import type { Logger } from '../../lib/logger.js';
import { SIGNAL_DEADLINE_MS } from './pipedrive-webhook.js';

export function startInboxRelay(
  deps: { db: pg.Pool; sync: SyncClient; log: Logger },
  intervalMs = 2000,
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      const { relayed } = await relayPending(deps.db, (row) =>
        deps.sync.client.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
          deps.sync.pipedriveChanged(row.connectionId, { meta: row.meta, data: null, previous: null }),
        ),
      );
      if (relayed > 0) deps.log.info({ relayed }, 'relayed stored webhook deliveries');
    } catch (err) {
      deps.log.warn({ error: (err as Error).message }, 'inbox relay round failed');
    }
  };
  const timer = setInterval(() => {
    if (!stopped) running = running.then(tick);
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
