/**
 * One Google pull of a connection at a time. The workflow runs its items one after another, but two attempts of
 * the same pull can still overlap: a local attempt that ran past its bound is not stopped by the workflow moving
 * on to the regular activity (workflows/local-first.ts), and a regular attempt that missed its heartbeat keeps
 * running beside its retry. Two overlapping pulls list the same new event; the second finds the first one's create
 * intent, looks for the activity before the first has created it, and creates another (create-activity.ts). So a
 * pull holds a lease while it runs and another pull of the connection fails its attempt, retryably, until the
 * lease is free: Temporal's backoff (workflows/calendar-sync.ts `retry`, minutes in all) outlasts any pull that
 * is still running, and a crashed holder's lease runs out after `PULL_LEASE_TTL_MS`.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { releasePullLease, renewPullLease, takePullLease } from '../../adapters/store/pull-leases.js';

/** How long a lease lasts without renewal: how long a crashed pull blocks the next one. */
export const PULL_LEASE_TTL_MS = 30_000;
/** The holder renews well within the TTL, so a busy event loop does not lose it. */
const RENEW_EVERY_MS = PULL_LEASE_TTL_MS / 3;

export const GOOGLE_PULL_IN_PROGRESS = 'GooglePullInProgress';

export async function withPullLease<T>(db: pg.Pool, connectionId: string, pull: () => Promise<T>): Promise<T> {
  const holder = randomUUID();
  if (!(await takePullLease(db, connectionId, holder, PULL_LEASE_TTL_MS))) {
    throw ApplicationFailure.create({
      type: GOOGLE_PULL_IN_PROGRESS,
      message: 'another attempt of this Google pull is still running; trying again when it has ended',
    });
  }
  // A failed renewal is not fatal here: the pull's writes stay idempotent, and the lease is taken again next time.
  const renew = setInterval(
    () => void renewPullLease(db, connectionId, holder, PULL_LEASE_TTL_MS).catch(() => undefined),
    RENEW_EVERY_MS,
  );
  try {
    return await pull();
  } finally {
    clearInterval(renew);
    await releasePullLease(db, connectionId, holder).catch(() => undefined);
  }
}
