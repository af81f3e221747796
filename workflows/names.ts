/** Names shared by the workflow, the worker and every client. */
export const DEFAULT_TASK_QUEUE = 'calendar-sync';

/** One workflow per connected user; the id makes signal-with-start find the running one. */
export function workflowIdFor(connectionId: string): string {
  return `calendar-sync:${connectionId}`;
}
