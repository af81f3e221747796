/** What one sync step did, for the workflow's status, the audit log and tests. */
export interface SyncOutcome {
  direction: 'pipedrive-to-google' | 'google-to-pipedrive';
  /** e.g. 'activity:42' or 'event:abc' */
  subject: string;
  result:
    | 'created'
    | 'updated'
    | 'moved'
    | 'deleted'
    | 'unlinked'
    | 'echo'
    | 'ignored'
    | 'conflict-resolved'
    /** Something that should have been done and could not be (e.g. an event Google does not let us move). */
    | 'skipped';
  reason?: string;
}
