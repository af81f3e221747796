/**
 * A change reported by Pipedrive: the webhook v2 payload (`meta`, `data`, `previous`), or the same shape
 * synthesised by the `updated_since` reconciliation when a webhook was lost.
 */
export interface PipedriveChange {
  meta: {
    action: 'create' | 'change' | 'delete';
    entity: string;
    entity_id: string;
    /** Unique per delivery event; used to deduplicate redeliveries. */
    id: string;
    change_source?: 'app' | 'api' | string;
    timestamp?: string;
    [key: string]: unknown;
  };
  data: Record<string, unknown> | null;
  previous: Record<string, unknown> | null;
  /** The web service's request id of the HTTP delivery, so the signal can be traced to its log lines. */
  requestId?: string;
}
