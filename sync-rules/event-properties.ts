/**
 * What we store on a Google event about its activity, in `extendedProperties.private` (visible only to our OAuth
 * client's requests for this calendar, not shown in the UI): which activity and connection the event belongs to, and
 * the content hash of what we wrote. This lets us recognize our own events even without the link table (e.g. events
 * of another connection in a shared calendar, or an event whose link was dropped by the `unlink` deletion policy).
 * Google limits keys to 44 characters and values to 1024.
 */
import type { calendar_v3 } from '@googleapis/calendar';

export const EVENT_PROPERTY_KEYS = {
  activityId: 'pdActivityId',
  connectionId: 'pdConnectionId',
  contentHash: 'pdContentHash',
} as const;

export interface EventLinkProperties {
  activityId: number;
  connectionId: string;
  contentHash: string;
}

const MAX_VALUE = 1024;

export function eventLinkProperties(link: EventLinkProperties): Record<string, string> {
  if (link.connectionId.length > MAX_VALUE) {
    throw new Error(`connection id longer than ${MAX_VALUE} characters cannot be stored on a Google event`);
  }
  return {
    [EVENT_PROPERTY_KEYS.activityId]: String(link.activityId),
    [EVENT_PROPERTY_KEYS.connectionId]: link.connectionId,
    [EVENT_PROPERTY_KEYS.contentHash]: link.contentHash,
  };
}

/** Our properties on an event, or null when the event was not written by this sync (or they are malformed). */
export function readEventLinkProperties(event: calendar_v3.Schema$Event): EventLinkProperties | null {
  const props = event.extendedProperties?.private ?? {};
  const activityId = Number(props[EVENT_PROPERTY_KEYS.activityId]);
  const connectionId = props[EVENT_PROPERTY_KEYS.connectionId];
  if (!Number.isSafeInteger(activityId) || activityId <= 0 || !connectionId) return null;
  return { activityId, connectionId, contentHash: props[EVENT_PROPERTY_KEYS.contentHash] ?? '' };
}
