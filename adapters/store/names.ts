/**
 * Cached names of deals, persons and organizations, per connection: event titles need them on every write,
 * and reading them from Pipedrive each time would cost tokens and latency. Their webhooks refresh the cache.
 */
import type pg from 'pg';

export type NamedEntity = 'deal' | 'person' | 'organization';

export async function cachedNames(
  db: pg.Pool,
  connectionId: string,
  wanted: { entity: NamedEntity; id: number }[],
): Promise<Map<string, string>> {
  if (wanted.length === 0) return new Map();
  const { rows } = await db.query<{ entity: NamedEntity; entity_id: string; name: string }>(
    `SELECT entity, entity_id, name FROM pipedrive_names
     WHERE connection_id = $1 AND (entity, entity_id) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))`,
    [connectionId, wanted.map((w) => w.entity), wanted.map((w) => w.id)],
  );
  return new Map(rows.map((r) => [`${r.entity}:${r.entity_id}`, r.name]));
}

/** Stores a name; returns true when it differs from the cached one (or none was cached). */
export async function saveName(
  db: pg.Pool,
  connectionId: string,
  entity: NamedEntity,
  id: number,
  name: string,
): Promise<boolean> {
  const { rows } = await db.query<{ previous: string | null }>(
    `WITH old AS (SELECT name FROM pipedrive_names WHERE connection_id = $1 AND entity = $2 AND entity_id = $3)
     INSERT INTO pipedrive_names (connection_id, entity, entity_id, name) VALUES ($1, $2, $3, $4)
     ON CONFLICT (connection_id, entity, entity_id) DO UPDATE SET name = $4, fetched_at = now()
     RETURNING (SELECT name FROM old) AS previous`,
    [connectionId, entity, id, name],
  );
  return rows[0]?.previous !== name;
}
