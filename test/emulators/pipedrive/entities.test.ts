import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import type { CreatedUser, PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { clients, failure, raw, seedCompany } from './fixtures.js';

let emu: PipedriveEmulator;
let user: CreatedUser;
let api: ReturnType<typeof clients>;

beforeAll(async () => {
  emu = await startPipedriveEmulator();
  user = seedCompany(emu).user;
  api = clients(emu, { apiKey: user.apiToken });
});
afterAll(() => emu.close());

describe('API v2 deals, persons, organizations', () => {
  it('creates, reads, renames and deletes a deal', async () => {
    const created = await api.deals.addDeal({ AddDealRequest: { title: 'Big deal' } });
    const id = created.data!.id!;
    expect(created.data).toMatchObject({ title: 'Big deal', owner_id: user.userId });
    await api.deals.updateDeal({ id, UpdateDealRequest: { title: 'Bigger deal' } });
    expect((await api.deals.getDeal({ id })).data?.title).toBe('Bigger deal');
    expect(await api.deals.deleteDeal({ id })).toEqual({ success: true, data: { id } });
    expect((await failure(raw(clients(emu, { apiKey: user.apiToken }).deals).getDeal({ id }))).status).toBe(404);
  });

  it('rejects a deal without a title with 400', async () => {
    const res = await failure(
      raw(clients(emu, { apiKey: user.apiToken }).deals).addDeal({ AddDealRequest: {} as never }),
    );
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(/title/);
  });

  it('creates a person with emails and phones linked to an organization', async () => {
    const org = await api.organizations.addOrganization({ AddOrganizationRequest: { name: 'Globex' } });
    const person = await api.persons.addPerson({
      AddPersonRequest: {
        name: 'Ann',
        org_id: org.data!.id!,
        emails: [{ value: 'ann@globex.test', primary: true, label: 'work' }],
        phones: [{ value: '+49 30 1', primary: true, label: 'work' }],
      },
    });
    expect(person.data).toMatchObject({
      name: 'Ann',
      org_id: org.data!.id,
      emails: [{ value: 'ann@globex.test', primary: true }],
    });
    expect((await api.persons.getPersons()).data!.map((p) => p.name)).toContain('Ann');
  });

  it('renames an organization and lists it with its new name', async () => {
    const org = await api.organizations.addOrganization({ AddOrganizationRequest: { name: 'Initech' } });
    await api.organizations.updateOrganization({ id: org.data!.id!, UpdateOrganizationRequest: { name: 'Initrode' } });
    expect((await api.organizations.getOrganization({ id: org.data!.id! })).data?.name).toBe('Initrode');
  });

  it('rejects an activity linked to a deal that does not exist with 400', async () => {
    const res = await failure(
      raw(clients(emu, { apiKey: user.apiToken }).activities).addActivity({ AddActivityRequest: { deal_id: 424242 } }),
    );
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(/deal_id/);
  });
});

describe('API v1 users and activity types', () => {
  it('returns the current user with company and time zone', async () => {
    const me = await api.users.getCurrentUser();
    expect(me.data).toMatchObject({
      id: user.userId,
      name: 'Acme Owner',
      email: 'owner@acme.test',
      company_id: user.companyId,
      company_domain: expect.any(String),
      timezone_name: 'Europe/Berlin',
    });
  });

  it('lists the default activity types', async () => {
    const types = await api.activityTypes.getActivityTypes();
    expect(types.data!.map((t) => t.key_string)).toEqual(['call', 'meeting', 'task', 'deadline', 'email', 'lunch']);
    expect(types.data!.every((t) => t.active_flag === true && typeof t.name === 'string')).toBe(true);
  });

  it('serves v1 under /api/v1 as well as /v1', async () => {
    const res = await fetch(`${emu.url}/api/v1/users/me`, { headers: { 'x-api-token': user.apiToken } });
    expect(res.status).toBe(200);
  });
});

describe('control API over HTTP', () => {
  it('seeds a company, a user and an app-side activity under /_emulator and reports stats', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${emu.url}/_emulator/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const { companyId } = (await post('companies', { name: 'Remote' })) as { companyId: number };
    const u = (await post('users', { companyId, name: 'R', email: 'r@remote.test' })) as CreatedUser;
    const a = (await post('activities', { userId: u.userId, subject: 'from control' })) as { id: number };
    const got = await clients(emu, { apiKey: u.apiToken }).activities.getActivity({ id: a.id });
    expect(got.data?.subject).toBe('from control');
    const stats = (await fetch(`${emu.url}/_emulator/stats`).then((r) => r.json())) as {
      apiCalls: Record<string, number>;
    };
    expect(stats.apiCalls['GET /api/v2/activities/:id']).toBeGreaterThanOrEqual(1);
  });
});
