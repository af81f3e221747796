/**
 * Relays stored webhook deliveries into the users' workflows. The ingress relays the row it just stored (and
 * claimed) at once; the loop here, running in every web process, relays whatever is left — rows stored while
 * Temporal was unreachable, or whose holder died. Each row is relayed by whoever claimed it (see
 * `adapters/store/webhook-inbox.ts`), so ingress and loops, in any number of processes, signal it once.
 */
import type pg from 'pg';
import {
  CLAIM_LEASE_SECONDS,
  claimPending,
  markRelayed,
  pruneRelayed,
  releaseClaim,
  type InboxRow,
} from '../../adapters/store/webhook-inbox.js';
import type { SyncClient } from '../sync-client.js';
import type { Logger } from '../../lib/logger.js';
import { SIGNAL_DEADLINE_MS } from './pipedrive-webhook.js';

export interface RelayDeps {
  db: pg.Pool;
  sync: SyncClient;
  /** The process logger, or a request's (the ingress relays the row it just stored). */
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Signals one claimed row. Returns whether Temporal took it; if not, the claim is released so the next relay
 * round retries it. Never throws.
 */
export async function relayClaimed(deps: RelayDeps, row: InboxRow): Promise<boolean> {
  try {
    // Bounded: Pipedrive gives up after 10 s, and a stored delivery is safe to answer for anyway.
    await deps.sync.client.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
      deps.sync.pipedriveChanged(row.connectionId, {
        meta: row.meta,
        data: null,
        previous: null,
        ...(row.requestId ? { requestId: row.requestId } : {}),
      }),
    );
  } catch (err) {
    deps.log.warn(
      {
        connectionId: row.connectionId,
        error: (err as Error).message,
      },
      'webhook stored; relay to Temporal deferred',
    );
    await releaseClaim(deps.db, row.id).catch(() => {
      // Postgres is away too: the lease runs out by itself and the row is claimable again.
    });
    return false;
  }
  await markRelayedEventually(deps, row);
  return true;
}

/**
 * Marks a signalled row relayed. If Postgres is away at that moment the mark is retried in the background for
 * (most of) the claim's lease — the claim keeps everyone else from signalling the row again meanwhile.
 */
async function markRelayedEventually(deps: RelayDeps, row: InboxRow): Promise<void> {
  try {
    await markRelayed(deps.db, row.id);
    return;
  } catch (err) {
    deps.log.warn(
      {
        inboxId: row.id,
        error: (err as Error).message,
      },
      'relayed webhook not yet marked; retrying',
    );
  }
  const giveUpAt = Date.now() + (CLAIM_LEASE_SECONDS * 1000) / 2;
  const retry = (delayMs: number) => {
    const timer = setTimeout(() => {
      markRelayed(deps.db, row.id).catch(() => {
        if (Date.now() < giveUpAt) retry(Math.min(delayMs * 2, 5_000));
        else deps.log.error({ inboxId: row.id }, 'relayed webhook could not be marked; it may be signalled again');
      });
    }, delayMs);
    timer.unref();
  };
  retry(250);
}

/** One relay round: claims pending rows oldest first and relays them until Temporal refuses one. */
export async function relayPending(deps: RelayDeps, limit = 100): Promise<{ relayed: number; failed: number }> {
  const rows = await claimPending(deps.db, limit);
  let relayed = 0;
  for (const [i, row] of rows.entries()) {
    if (await relayClaimed(deps, row)) {
      relayed++;
      continue;
    }
    // Temporal is still away: hand back the rest of the batch for the next round (and keep their order).
    await Promise.all(rows.slice(i + 1).map((r) => releaseClaim(deps.db, r.id))).catch(() => undefined);
    return { relayed, failed: rows.length - relayed };
  }
  return { relayed, failed: 0 };
}

/**
 * How long relayed deliveries are kept. They are only needed to recognise a redelivery of the same `meta.id`;
 * Pipedrive's retries of one delivery span about three minutes (3 s, 30 s, 150 s), so a week is ample room —
 * for clock skew, a Pipedrive backlog after their own outage, and an operator looking into "what came in".
 */
export const DEFAULT_RETENTION_HOURS = 7 * 24;
/** Less than this could forget a delivery while Pipedrive may still retry it (and so signal it twice). */
const MIN_RETENTION_HOURS = 1;

export interface InboxRetention {
  retentionSeconds: number;
  /** How often expired rows are pruned (default every 10 minutes). */
  pruneEveryMs: number;
}

/** `WEBHOOK_INBOX_RETENTION_HOURS` (default 168 = 7 days, at least 1). */
export function inboxRetentionFromEnv(env: NodeJS.ProcessEnv = process.env): InboxRetention {
  const raw = env.WEBHOOK_INBOX_RETENTION_HOURS;
  const hours = raw === undefined || raw === '' ? DEFAULT_RETENTION_HOURS : Number(raw);
  if (!Number.isFinite(hours) || hours < MIN_RETENTION_HOURS) {
    throw new Error(
      `WEBHOOK_INBOX_RETENTION_HOURS must be a number of hours >= ${MIN_RETENTION_HOURS} (Pipedrive retries a ` +
        `delivery for about 3 minutes; shorter retention could let a retry through twice), got "${raw}"`,
    );
  }
  return { retentionSeconds: Math.round(hours * 3600), pruneEveryMs: 10 * 60_000 };
}

export function startInboxRelay(
  deps: RelayDeps,
  intervalMs = 2000,
  retention: InboxRetention = inboxRetentionFromEnv(),
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let nextPruneAt = Date.now();
  const tick = async () => {
    try {
      const { relayed } = await relayPending(deps);
      if (relayed > 0) deps.log.info({ relayed }, 'relayed stored webhook deliveries');
    } catch (err) {
      deps.log.warn({ error: (err as Error).message }, 'inbox relay round failed');
    }
    if (Date.now() < nextPruneAt) return;
    nextPruneAt = Date.now() + retention.pruneEveryMs;
    try {
      const pruned = await pruneRelayed(deps.db, retention.retentionSeconds);
      if (pruned > 0) deps.log.info({ pruned }, 'pruned relayed webhook deliveries');
    } catch (err) {
      deps.log.warn({ error: (err as Error).message }, 'inbox pruning failed');
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    // One round at a time: a slow round (Temporal timing out) must not pile up rounds behind it.
    if (stopped || busy) return;
    busy = true;
    running = tick().finally(() => (busy = false));
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
