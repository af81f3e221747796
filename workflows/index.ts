// The workflow bundle's entry point: every workflow the worker runs.
export { calendarSync } from './calendar-sync.js';
export { uploadUnsynced } from './upload-unsynced.js';
