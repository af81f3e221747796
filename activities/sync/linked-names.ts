/**
 * The names that make up an event title's prefix (deal, person, organization), from the cache or, when
 * missing, from Pipedrive (then cached).
 */
import type { ContactDetails } from '../../sync-rules/contact-details.js';
import type { LinkedNames, PdActivity } from '../../sync-rules/types.js';
import { cachedNames, saveName, type NamedEntity } from '../../adapters/store/names.js';
import type { SyncContext } from './context.js';

interface LinkedIds {
  deal_id?: number | null;
  person_id?: number | null;
  org_id?: number | null;
}

export async function linkedNames(ctx: SyncContext, ids: LinkedIds): Promise<LinkedNames> {
  const wanted: { entity: NamedEntity; id: number }[] = [];
  if (ids.deal_id) wanted.push({ entity: 'deal', id: ids.deal_id });
  if (ids.person_id) wanted.push({ entity: 'person', id: ids.person_id });
  if (ids.org_id) wanted.push({ entity: 'organization', id: ids.org_id });
  const cached = await cachedNames(ctx.db, ctx.connection.id, wanted);
  const names: LinkedNames = {};
  for (const w of wanted) {
    let name = cached.get(`${w.entity}:${w.id}`) ?? null;
    if (name === null) {
      name = await fetchName(ctx, w.entity, w.id);
      if (name !== null) await saveName(ctx.db, ctx.connection.id, w.entity, w.id, name);
    }
    if (w.entity === 'deal') names.deal = name;
    else if (w.entity === 'person') names.person = name;
    else names.org = name;
  }
  return names;
}

/** The current name in Pipedrive, or null when the record is gone. */
export async function fetchName(ctx: SyncContext, entity: NamedEntity, id: number): Promise<string | null> {
  if (entity === 'deal') return (await ctx.pipedrive.getDeal(id))?.title ?? null;
  if (entity === 'person') return (await ctx.pipedrive.getPerson(id))?.name ?? null;
  return (await ctx.pipedrive.getOrganization(id))?.name ?? null;
}

/** Details for the optional contact block in event descriptions (read only when the setting is on). */
export async function contactDetails(ctx: SyncContext, activity: PdActivity): Promise<ContactDetails | undefined> {
  if (!ctx.settings.contactDetails) return undefined;
  const [deal, person, org] = await Promise.all([
    activity.deal_id ? ctx.pipedrive.getDeal(activity.deal_id) : null,
    activity.person_id ? ctx.pipedrive.getPerson(activity.person_id) : null,
    activity.org_id ? ctx.pipedrive.getOrganization(activity.org_id) : null,
  ]);
  return {
    deal: deal ? { id: deal.id, title: deal.title } : null,
    person: person
      ? {
          id: person.id,
          name: person.name,
          emails: person.emails?.map((e) => e.value) ?? null,
          phones: person.phones?.map((p) => p.value) ?? null,
        }
      : null,
    org: org ? { id: org.id, name: org.name } : null,
  };
}
