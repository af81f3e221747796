/**
 * Local-first steps: a short sync step runs first as a local activity — on the worker that runs the workflow
 * task, recorded as one marker event, with no activity task for the server to schedule, dispatch and complete —
 * and only when that one attempt fails does the very same activity run as a regular activity, with the options
 * and retry policy it always had. The regular activity therefore keeps everything the failure handling relies on:
 * retries with backoff, the failure types that are not retried, heartbeats of long pulls, and the bookkeeping of
 * what failed for good.
 *
 * Why this is safe: the steps run this way (`syncPipedriveActivity`, `pullGoogle`) are idempotent and are already
 * retried after a partial effect — a regular retry after a timeout can even overlap the attempt it replaces — so a
 * local attempt that wrote half its work and failed is followed by a regular activity that finds the half done and
 * finishes it, exactly as a regular retry would. A worker that crashes during a local attempt has not completed its
 * workflow task; the task times out and runs again on another worker, which reruns the local attempt.
 *
 * What the short bound changes: a local attempt that timed out is cancelled, but our activity code does not stop
 * at a cancellation, so it may still be running when the regular activity starts — the same overlap a regular
 * retry after its own timeout has, only likelier for a step slower than the bound. Google event writes tolerate
 * it (deterministic event ids, etag-guarded updates). Two pulls could each create a Pipedrive activity for the same
 * new event, so a pull holds a lease and the regular attempt waits, retrying, until the local one has ended
 * (activities/sync/pull-lease.ts).
 */
import { isCancellation, TemporalFailure } from '@temporalio/workflow';

/**
 * `local()` once; when that attempt fails (an error of any kind, a timeout), `regular()` — the same step as a
 * regular activity. A failed local attempt does not always arrive as an `ActivityFailure`: the SDK (1.24) wraps
 * timeouts and cancellations in one, but hands the activity's own error (an `ApplicationFailure`) to the
 * workflow as it is — so any Temporal failure counts. Cancellation is not a failure of the step: it goes up as it
 * came, and so does anything that is not a Temporal failure (a bug in the workflow, not in the attempt).
 */
export async function localFirst<T>(local: () => Promise<T>, regular: () => Promise<T>): Promise<T> {
  try {
    return await local();
  } catch (err) {
    if (!(err instanceof TemporalFailure) || isCancellation(err)) throw err;
    return regular();
  }
}
