/**
 * The activity ⇄ event link table. A row exists exactly while an activity and an event are synced as a pair.
 */
import type pg from 'pg';
import type { SyncedFields } from '../../sync-rules/types.js';

export interface Link {
  connectionId: string;
  activityId: number;
  calendarId: string;
  eventId: string;
  origin: 'pipedrive' | 'google';
  lastWrittenHash: string;
  baseFields: SyncedFields;
  googleEtag: string | null;
  googleUpdated: string | null;
  pipedriveUpdateTime: string | null;
  eventGeneration: number;
  /** The linked entities whose names make up the title prefix. */
  dealId: number | null;
  personId: number | null;
  orgId: number | null;
  /**
   * The event is an invitation organized by someone else, as seen when it was imported. Left out, a save keeps
   * what the link stored (writes that did not look at the organizer change nothing).
   */
  invitation?: boolean;
}

interface LinkRow {
  connection_id: string;
  activity_id: string;
  calendar_id: string;
  event_id: string;
  origin: 'pipedrive' | 'google';
  last_written_hash: string;
  base_fields: SyncedFields;
  google_etag: string | null;
  google_updated: Date | null;
  pipedrive_update_time: Date | null;
  event_generation: number;
  deal_id: string | null;
  person_id: string | null;
  org_id: string | null;
  invitation: boolean;
}

const num = (v: string | null) => (v === null ? null : Number(v));

function toLink(r: LinkRow): Link {
  return {
    connectionId: r.connection_id,
    activityId: Number(r.activity_id),
    calendarId: r.calendar_id,
    eventId: r.event_id,
    origin: r.origin,
    lastWrittenHash: r.last_written_hash,
    baseFields: r.base_fields,
    googleEtag: r.google_etag,
    googleUpdated: r.google_updated?.toISOString() ?? null,
    pipedriveUpdateTime: r.pipedrive_update_time?.toISOString() ?? null,
    eventGeneration: r.event_generation,
    dealId: num(r.deal_id),
    personId: num(r.person_id),
    orgId: num(r.org_id),
    invitation: r.invitation,
  };
}

export async function linkByActivity(db: pg.Pool, connectionId: string, activityId: number): Promise<Link | null> {
  const { rows } = await db.query<LinkRow>('SELECT * FROM links WHERE connection_id = $1 AND activity_id = $2', [
    connectionId,
    activityId,
  ]);
  return rows[0] ? toLink(rows[0]) : null;
}

export async function linkByEvent(
  db: pg.Pool,
  connectionId: string,
  calendarId: string,
  eventId: string,
): Promise<Link | null> {
  const { rows } = await db.query<LinkRow>(
    'SELECT * FROM links WHERE connection_id = $1 AND calendar_id = $2 AND event_id = $3',
    [connectionId, calendarId, eventId],
  );
  return rows[0] ? toLink(rows[0]) : null;
}

/** Links whose title depends on a deal, person or organization (for re-titling after a rename). */
export async function linksByLinkedEntity(
  db: pg.Pool,
  connectionId: string,
  entity: 'deal' | 'person' | 'organization',
  entityId: number,
): Promise<Link[]> {
  const column = { deal: 'deal_id', person: 'person_id', organization: 'org_id' }[entity];
  const { rows } = await db.query<LinkRow>(
    `SELECT * FROM links WHERE connection_id = $1 AND ${column} = $2 ORDER BY activity_id`,
    [connectionId, entityId],
  );
  return rows.map(toLink);
}

/** Every link whose title shows a deal, person or organization (the safety net's check for stale titles). */
export async function linksWithLinkedEntities(db: pg.Pool, connectionId: string): Promise<Link[]> {
  const { rows } = await db.query<LinkRow>(
    `SELECT * FROM links WHERE connection_id = $1
       AND (deal_id IS NOT NULL OR person_id IS NOT NULL OR org_id IS NOT NULL) ORDER BY activity_id`,
    [connectionId],
  );
  return rows.map(toLink);
}

/** Up to `limit` links whose event is in another calendar than `calendarId` (left there by a calendar switch). */
export async function linksOutsideCalendar(
  db: pg.Pool,
  connectionId: string,
  calendarId: string,
  limit: number,
): Promise<Link[]> {
  const { rows } = await db.query<LinkRow>(
    'SELECT * FROM links WHERE connection_id = $1 AND calendar_id <> $2 ORDER BY activity_id LIMIT $3',
    [connectionId, calendarId, limit],
  );
  return rows.map(toLink);
}

/**
 * Inserts or updates the pair's link. With `keepExisting`, a link that exists already wins (the upload of
 * unsynced activities: a live sync that linked the pair meanwhile wrote fresher data).
 */
export async function saveLink(db: pg.Pool, link: Link, opts: { keepExisting?: boolean } = {}): Promise<void> {
  const onConflict = opts.keepExisting
    ? 'NOTHING'
    : `UPDATE SET
       calendar_id = $3, event_id = $4, last_written_hash = $6, base_fields = $7, google_etag = $8,
       google_updated = $9, pipedrive_update_time = $10, event_generation = $11, deal_id = $12, person_id = $13,
       org_id = $14, invitation = COALESCE($15, links.invitation), updated_at = now()`;
  await db.query(
    `INSERT INTO links (connection_id, activity_id, calendar_id, event_id, origin, last_written_hash, base_fields,
                        google_etag, google_updated, pipedrive_update_time, event_generation, deal_id, person_id, org_id,
                        invitation)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, COALESCE($15, false))
     ON CONFLICT (connection_id, activity_id) DO ${onConflict}`,
    [
      link.connectionId,
      link.activityId,
      link.calendarId,
      link.eventId,
      link.origin,
      link.lastWrittenHash,
      JSON.stringify(link.baseFields),
      link.googleEtag,
      link.googleUpdated,
      link.pipedriveUpdateTime,
      link.eventGeneration,
      link.dealId,
      link.personId,
      link.orgId,
      link.invitation ?? null,
    ],
  );
}

export async function deleteLink(db: pg.Pool, connectionId: string, activityId: number): Promise<void> {
  await db.query('DELETE FROM links WHERE connection_id = $1 AND activity_id = $2', [connectionId, activityId]);
}

/** Every linked activity id of a connection, ascending. */
export async function linkedActivityIdsOf(db: pg.Pool, connectionId: string): Promise<number[]> {
  const { rows } = await db.query<{ activity_id: string }>(
    'SELECT activity_id FROM links WHERE connection_id = $1 ORDER BY activity_id',
    [connectionId],
  );
  return rows.map((r) => Number(r.activity_id));
}

export async function countLinks(db: pg.Pool, connectionId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM links WHERE connection_id = $1', [
    connectionId,
  ]);
  return rows[0]!.n;
}
