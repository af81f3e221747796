/**
 * What contact linking needs from the Pipedrive emulator, driven through the official `pipedrive` v2 client:
 * person search by e-mail (`GET /api/v2/persons/search`), open deals of a person (`GET /api/v2/deals` with
 * `person_id` and `status`), adding a person with e-mails, activity participants — and their token costs and
 * the Search API's own burst limit.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPipedriveEmulator, type PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { clients, failure, raw, seedCompany } from './fixtures.js';

let emu: PipedriveEmulator;
beforeAll(async () => {
  emu = await startPipedriveEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.control.reset();
});

function seed() {
  const { companyId, user } = seedCompany(emu);
  const pd = emu.control;
  const org = pd.createOrganization({ userId: user.userId, name: 'Initech' }) as { id: number };
  const ann = pd.createPerson({
    userId: user.userId,
    name: 'Ann Lee',
    org_id: org.id,
    emails: [
      { value: 'Ann.Lee@initech.test', primary: true, label: 'work' },
      { value: 'ann@home.test', primary: false, label: 'home' },
    ],
  }) as { id: number };
  const bob = pd.createPerson({
    userId: user.userId,
    name: 'Bob',
    emails: [{ value: 'bob@initech.test', primary: true, label: 'work' }],
  }) as { id: number };
  return { companyId, user, org, ann, bob, api: clients(emu, { apiKey: user.apiToken }) };
}

describe('GET /api/v2/persons/search', () => {
  it('finds a person by an exact e-mail, case-insensitively, in the documented item shape', async () => {
    const { api, ann, org } = seed();
    const res = await api.persons.searchPersons({ term: 'ann.lee@INITECH.test', fields: 'email', exact_match: true });
    expect(res.success).toBe(true);
    expect(res.data?.items).toHaveLength(1);
    const item = res.data!.items![0]!.item!;
    expect(item).toMatchObject({ id: ann.id, type: 'person', name: 'Ann Lee', owner: { id: expect.any(Number) } });
    // Search answers e-mails as plain strings (GetPersonSearchResponse), not {value, primary, label}.
    expect(item.emails).toEqual(['Ann.Lee@initech.test', 'ann@home.test']);
    expect(item.organization).toMatchObject({ id: org.id, name: 'Initech' });
    expect(res.additional_data?.next_cursor).toBeNull();
  });

  it('exact_match needs the whole value; without it a part of a value matches', async () => {
    const { api, ann, bob } = seed();
    const exact = await api.persons.searchPersons({ term: 'initech.test', fields: 'email', exact_match: true });
    expect(exact.data?.items).toEqual([]);
    const partial = await api.persons.searchPersons({ term: 'initech.test', fields: 'email' });
    expect(partial.data?.items?.map((i) => i.item?.id).sort()).toEqual([ann.id, bob.id].sort());
  });

  it('searches only the fields asked for', async () => {
    const { api, bob } = seed();
    expect((await api.persons.searchPersons({ term: 'Bob', fields: 'phone' })).data?.items).toEqual([]);
    const byName = await api.persons.searchPersons({ term: 'Bob', fields: 'name' });
    expect(byName.data?.items?.map((i) => i.item?.id)).toEqual([bob.id]);
  });

  it('refuses a term too short, unknown fields, and a non-boolean exact_match (400)', async () => {
    const { api } = seed();
    const persons = raw(api.persons);
    expect((await failure(persons.searchPersons({ term: 'a' }))).status).toBe(400);
    expect((await failure(persons.searchPersons({ term: 'ab', fields: 'title' as never }))).status).toBe(400);
    const res = await fetch(`${emu.url}/api/v2/persons/search?term=ab&exact_match=maybe`, {
      headers: { 'x-api-token': seedCompany(emu, 'Other').user.apiToken },
    });
    expect(res.status).toBe(400);
  });

  it('does not find deleted persons or other companies', async () => {
    const { api, ann } = seed();
    const other = seedCompany(emu, 'Globex');
    emu.control.createPerson({
      userId: other.user.userId,
      name: 'Ann elsewhere',
      emails: [{ value: 'ann@home.test', primary: true, label: 'work' }],
    });
    emu.control.deletePerson(ann.id);
    const res = await api.persons.searchPersons({ term: 'ann@home.test', fields: 'email', exact_match: true });
    expect(res.data?.items).toEqual([]);
  });

  it('with an index delay, a person written just now is not found yet', async () => {
    const { api, user } = seed();
    emu.control.setSearchIndexDelay(60_000);
    emu.control.createPerson({
      userId: user.userId,
      name: 'Cleo',
      emails: [{ value: 'cleo@initech.test', primary: true, label: 'work' }],
    });
    const lagging = await api.persons.searchPersons({ term: 'cleo@initech.test', fields: 'email', exact_match: true });
    expect(lagging.data?.items).toEqual([]);
    emu.control.setSearchIndexDelay(0);
    const now = await api.persons.searchPersons({ term: 'cleo@initech.test', fields: 'email', exact_match: true });
    expect(now.data?.items).toHaveLength(1);
  });

  it('costs 20 tokens and has the Search API burst limit of 10 requests per 2 s per token', async () => {
    const { api, companyId } = seed();
    emu.control.resetStats();
    const persons = raw(api.persons);
    for (let i = 0; i < 10; i++) {
      const ok = await persons.searchPersons({ term: 'bob@initech.test', fields: 'email', exact_match: true });
      expect(ok.status).toBe(200);
    }
    expect(emu.control.stats().tokensSpent[String(companyId)]).toBe(200);
    const limited = await failure(persons.searchPersons({ term: 'bob@initech.test', fields: 'email' }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Other endpoints are still under the general limit.
    expect((await raw(api.deals).getDeals()).status).toBe(200);
  });

  it('needs contacts:read, contacts:full or search:read with OAuth', async () => {
    const { companyId } = seedCompany(emu, 'Scoped');
    const noContacts = emu.control.createUser({ companyId, name: 'N', email: 'n@s.test', oauthScopes: 'base' });
    const searchOnly = emu.control.createUser({ companyId, name: 'S', email: 's@s.test', oauthScopes: 'search:read' });
    const denied = raw(clients(emu, { accessToken: noContacts.oauth.accessToken }).persons);
    expect((await failure(denied.searchPersons({ term: 'x@y.z', exact_match: true }))).status).toBe(403);
    const allowed = raw(clients(emu, { accessToken: searchOnly.oauth.accessToken }).persons);
    expect((await allowed.searchPersons({ term: 'x@y.z', exact_match: true })).status).toBe(200);
  });
});

describe('GET /api/v2/deals?person_id=&status=', () => {
  it('lists the open deals of one person only', async () => {
    const { api, user, ann, bob } = seed();
    const pd = emu.control;
    const open = pd.createDeal({ userId: user.userId, title: 'Open', person_id: ann.id }) as { id: number };
    pd.createDeal({ userId: user.userId, title: 'Won', person_id: ann.id, status: 'won' });
    pd.createDeal({ userId: user.userId, title: 'Bob deal', person_id: bob.id });
    const gone = pd.createDeal({ userId: user.userId, title: 'Gone', person_id: ann.id }) as { id: number };
    pd.deleteDeal(gone.id);
    const res = await api.deals.getDeals({ person_id: ann.id, status: 'open' });
    expect(res.data?.map((d) => d.id)).toEqual([open.id]);
    const withDeleted = await raw(api.deals).getDeals({ person_id: ann.id, status: 'deleted' });
    expect(withDeleted.data.data?.map((d) => d.id)).toEqual([gone.id]);
    expect((await failure(raw(api.deals).getDeals({ status: 'stuck' as never }))).status).toBe(400);
  });
});

describe('POST /api/v2/persons and activity participants', () => {
  it('adds a person with e-mails (5 tokens) that an activity can have as its primary participant', async () => {
    const { api, companyId, org } = seed();
    emu.control.resetStats();
    const person = await api.persons.addPerson({
      AddPersonRequest: { name: 'Dee', org_id: org.id, emails: [{ value: 'dee@initech.test', primary: true }] },
    });
    expect(person.data?.emails).toEqual([{ value: 'dee@initech.test', primary: true, label: 'work' }]);
    expect(emu.control.stats().tokensSpent[String(companyId)]).toBe(5);
    const activity = await api.activities.addActivity({
      AddActivityRequest: {
        subject: 'Kick-off',
        person_id: person.data!.id!,
        org_id: org.id,
        participants: [{ person_id: person.data!.id!, primary: true }],
      },
    });
    expect(activity.data?.participants).toEqual([{ person_id: person.data!.id, primary: true }]);
    const refused = await failure(
      raw(api.activities).addActivity({ AddActivityRequest: { subject: 'x', participants: [{ person_id: 999 }] } }),
    );
    expect(refused.status).toBe(400);
  });
});
