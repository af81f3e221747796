/**
 * A deal, person or organization changed in Pipedrive: refresh its cached name, and when the name changed,
 * re-title every event whose title shows it (DESIGN.md §1.6, beyond the original product).
 */
import { saveName, type NamedEntity } from '../store/names.js';
import { linksByLinkedEntity } from '../store/links.js';
import type { SyncContext } from './context.js';
import { fetchName } from './linked-names.js';
import type { SyncOutcome } from './outcome.js';
import { syncActivityToGoogle } from './pipedrive-to-google.js';

export async function refreshLinkedEntity(ctx: SyncContext, entity: NamedEntity, id: number): Promise<SyncOutcome[]> {
  const name = await fetchName(ctx, entity, id);
  if (name === null) return []; // deleted: Pipedrive updates (or deletes) the linked activities, whose webhooks follow
  const changed = await saveName(ctx.db, ctx.connection.id, entity, id, name);
  if (!changed) return [];
  const outcomes: SyncOutcome[] = [];
  for (const link of await linksByLinkedEntity(ctx.db, ctx.connection.id, entity, id)) {
    outcomes.push(await syncActivityToGoogle(ctx, link.activityId));
  }
  return outcomes;
}
