/**
 * The sync's one durable timer for its next deadline (channel renewal or safety net). The loop wakes for work far
 * more often than for deadlines; a timer per wake-up would add two history events to every change, so the timer
 * is only replaced when the deadline itself moves.
 */
import { CancellationScope, sleep } from '@temporalio/workflow';

export class DeadlineTimer {
  private timer: { at: number; fired: boolean; scope: CancellationScope } | null = null;

  /** True once the armed deadline has passed (until `clear`). */
  get fired(): boolean {
    return this.timer?.fired === true;
  }

  /** Keeps one timer running until `at` (none for `null`); a running timer for the same deadline is kept. */
  arm(at: number | null): void {
    if (this.timer && this.timer.at === at && !this.timer.fired) return;
    this.timer?.scope.cancel();
    this.timer = null;
    if (at === null) return;
    const timer = { at, fired: false, scope: new CancellationScope() };
    this.timer = timer;
    timer.scope
      .run(() => sleep(Math.max(1, at - Date.now())))
      .then(
        () => (timer.fired = true),
        () => undefined, // cancelled: the deadline moved
      );
  }

  /** Forgets a fired timer: the next `arm` starts a new one. */
  clear(): void {
    this.timer = null;
  }
}
