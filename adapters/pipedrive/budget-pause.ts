/**
 * Pipedrive's daily token budget, once spent, refuses every request until midnight UTC. Each worker process
 * remembers the reset per budget (company), so the connection's later calls fail at once with the same
 * classified failure — retried by Temporal when the budget returns — instead of spending requests that are
 * refused anyway (and that Pipedrive may count against the app). In memory on purpose: a restarted worker
 * learns it again from one 429.
 */
const pausedUntil = new Map<string, number>();

/** Records a pause; true when it is new (not already known for this reset). */
export function pauseBudget(key: string, until: number): boolean {
  const known = pausedUntil.get(key);
  if (known !== undefined && known >= until) return false;
  pausedUntil.set(key, until);
  return true;
}

/** When the budget returns, if it is spent now. */
export function budgetPausedUntil(key: string, now = Date.now()): number | undefined {
  const until = pausedUntil.get(key);
  if (until === undefined) return undefined;
  if (until <= now) {
    pausedUntil.delete(key);
    return undefined;
  }
  return until;
}

/** Forgets every pause (tests). */
export function clearBudgetPauses(): void {
  pausedUntil.clear();
}
