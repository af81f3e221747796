/**
 * A deal, person or organization changed in Pipedrive: refresh its cached name, then re-title every linked event
 * whose title is stale.
 *
 * What is stale is derived from the link table and the name cache, never from "did the name just change": each
 * link remembers the title it was written with and the subject inside it (`baseFields`), so a link is stale when
 * the title rendered from the cached names differs from it. A step that fails half-way (a 429 on the 29th of 50
 * events) and is retried therefore re-titles exactly the events still showing the old name, and the safety net can
 * ask the same question later (`staleTitleLinks`).
 */
import { renderTitle } from '../../sync-rules/title-template.js';
import type { LinkedNames } from '../../sync-rules/types.js';
import { cachedNames, saveName, type NamedEntity } from '../../adapters/store/names.js';
import { linksByLinkedEntity, type Link } from '../../adapters/store/links.js';
import type { SyncContext } from './context.js';
import { fetchName } from './linked-names.js';
import type { SyncOutcome } from './outcome.js';
import { syncActivityToGoogle } from './pipedrive-to-google.js';

/** Called with each event's outcome as soon as it is written (the audit row must not wait for the whole loop). */
export type OutcomeSink = (outcome: SyncOutcome) => Promise<void>;

export async function refreshLinkedEntity(
  ctx: SyncContext,
  entity: NamedEntity,
  id: number,
  onOutcome: OutcomeSink = async () => undefined,
): Promise<SyncOutcome[]> {
  const name = await fetchName(ctx, entity, id);
  if (name === null) return []; // deleted: Pipedrive updates (or deletes) the linked activities, whose webhooks follow
  await saveName(ctx.db, ctx.connection.id, entity, id, name);
  const outcomes: SyncOutcome[] = [];
  for (const link of await staleTitles(ctx, await linksByLinkedEntity(ctx.db, ctx.connection.id, entity, id))) {
    const outcome = await syncActivityToGoogle(ctx, link.activityId);
    await onOutcome(outcome);
    outcomes.push(outcome);
  }
  return outcomes;
}

/** The links among `links` whose event title no longer matches the cached names of their deal, person and org. */
export async function staleTitles(ctx: SyncContext, links: Link[]): Promise<Link[]> {
  const wanted = new Map<string, { entity: NamedEntity; id: number }>();
  for (const l of links) {
    for (const w of linkedEntities(l)) wanted.set(`${w.entity}:${w.id}`, w);
  }
  const names = await cachedNames(ctx.db, ctx.connection.id, [...wanted.values()]);
  return links.filter((l) => {
    const current: LinkedNames = {
      deal: l.dealId === null ? undefined : (names.get(`deal:${l.dealId}`) ?? null),
      person: l.personId === null ? undefined : (names.get(`person:${l.personId}`) ?? null),
      org: l.orgId === null ? undefined : (names.get(`organization:${l.orgId}`) ?? null),
    };
    // A name not cached is unknown, not changed: nothing to compare with.
    if (linkedEntities(l).some((w) => !names.has(`${w.entity}:${w.id}`))) return false;
    return renderTitle(ctx.settings.titleTemplate, current, l.baseFields.subject) !== l.baseFields.title;
  });
}

function linkedEntities(l: Link): { entity: NamedEntity; id: number }[] {
  return [
    ...(l.dealId !== null ? [{ entity: 'deal' as const, id: l.dealId }] : []),
    ...(l.personId !== null ? [{ entity: 'person' as const, id: l.personId }] : []),
    ...(l.orgId !== null ? [{ entity: 'organization' as const, id: l.orgId }] : []),
  ];
}
