import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import type { PipedriveEmulator } from '../../../emulators/pipedrive/index.js';
import { clients, failure, raw, seedCompany, sleep } from './fixtures.js';

const UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let emu: PipedriveEmulator;
let api: ReturnType<typeof clients>;
let userId: number;
let token: string;

beforeAll(async () => {
  emu = await startPipedriveEmulator({ burstLimitPer2s: 10_000 });
  const { user } = seedCompany(emu);
  userId = user.userId;
  token = user.apiToken;
  api = clients(emu, { apiKey: token });
});
afterAll(() => emu.close());

describe('API v2 activities', () => {
  it('creates an activity and answers with the full v2 activity, owned by the caller, with UTC second timestamps', async () => {
    const res = await api.activities.addActivity({
      AddActivityRequest: {
        subject: 'Call Bob',
        type: 'call',
        due_date: '2030-05-01',
        due_time: '09:30',
        duration: '00:45',
        busy: true,
        location: { value: 'Berlin HQ' },
      },
    });
    expect(res.success).toBe(true);
    expect(res.data).toMatchObject({
      subject: 'Call Bob',
      type: 'call',
      owner_id: userId,
      creator_user_id: userId,
      is_deleted: false,
      due_date: '2030-05-01',
      due_time: '09:30:00', // sent as HH:MM, answered as HH:MM:SS (v2)
      duration: '00:45:00',
      busy: true,
      done: false,
      deal_id: null,
      location: { value: 'Berlin HQ' },
    });
    expect(res.data?.update_time).toMatch(UTC_SECONDS);
    expect(res.data?.add_time).toMatch(UTC_SECONDS);
  });

  it('accepts times and durations as HH:MM:SS too, and answers every time as HH:MM:SS', async () => {
    const created = await api.activities.addActivity({
      AddActivityRequest: { subject: 'Seconds', due_date: '2030-05-02', due_time: '14:05:00', duration: '01:30:00' },
    });
    expect(created.data).toMatchObject({ due_time: '14:05:00', duration: '01:30:00' });
    const updated = await api.activities.updateActivity({
      id: created.data!.id!,
      AddActivityRequest: { due_time: '15:00', duration: '00:20' },
    });
    expect(updated.data).toMatchObject({ due_time: '15:00:00', duration: '00:20:00' });
    await expect(
      api.activities.updateActivity({ id: created.data!.id!, AddActivityRequest: { due_time: '15:00:60' } }),
    ).rejects.toMatchObject({ success: false, errorCode: 400 });
  });

  it('returns one activity by id', async () => {
    const created = await api.activities.addActivity({ AddActivityRequest: { subject: 'Fetch me' } });
    const got = await api.activities.getActivity({ id: created.data!.id! });
    expect(got.data).toMatchObject({ id: created.data!.id, subject: 'Fetch me' });
  });

  it('answers 404 in the Pipedrive error shape for an unknown activity', async () => {
    const res = await failure(raw(clients(emu, { apiKey: token }).activities).getActivity({ id: 999_999 }));
    expect(res.status).toBe(404);
    expect(res.data).toMatchObject({ success: false, error: expect.stringContaining('not found') });
  });

  it('patches only the given fields and moves update_time forward', async () => {
    const created = await api.activities.addActivity({ AddActivityRequest: { subject: 'Before', note: 'keep me' } });
    await sleep(1100);
    const patched = await api.activities.updateActivity({
      id: created.data!.id!,
      AddActivityRequest: { subject: 'After' },
    });
    expect(patched.data).toMatchObject({ subject: 'After', note: 'keep me' });
    expect(Date.parse(patched.data!.update_time!)).toBeGreaterThan(Date.parse(created.data!.update_time!));
  });

  it('sets marked_as_done_time when an activity is marked done', async () => {
    const created = await api.activities.addActivity({ AddActivityRequest: { subject: 'Do it' } });
    expect(created.data?.marked_as_done_time).toBeNull();
    const done = await api.activities.updateActivity({ id: created.data!.id!, AddActivityRequest: { done: true } });
    expect(done.data?.marked_as_done_time).toMatch(UTC_SECONDS);
  });

  it('soft-deletes: DELETE answers {id}, the activity then 404s, leaves the list and stays visible as is_deleted to the control API', async () => {
    const created = await api.activities.addActivity({ AddActivityRequest: { subject: 'Doomed' } });
    const id = created.data!.id!;
    const del = await api.activities.deleteActivity({ id });
    expect(del).toEqual({ success: true, data: { id } });
    expect((await failure(raw(clients(emu, { apiKey: token }).activities).getActivity({ id }))).status).toBe(404);
    const list = await api.activities.getActivities({ ids: String(id) });
    expect(list.data).toEqual([]);
    expect(emu.control.getActivity(id)).toMatchObject({ id, is_deleted: true });
    expect(emu.control.listActivities({ includeDeleted: true }).some((a) => a.id === id)).toBe(true);
    expect(emu.control.listActivities().some((a) => a.id === id)).toBe(false);
  });

  it('paginates with an opaque cursor until next_cursor is null, without repeating or skipping items', async () => {
    const { user } = seedCompany(emu, 'Paging');
    for (let i = 0; i < 7; i++) emu.control.createActivity({ userId: user.userId, subject: `p${i}` });
    const own = clients(emu, { apiKey: user.apiToken });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await own.activities.getActivities({ limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.data!.map((a) => a.subject!));
      cursor = page.additional_data?.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('returns 100 items per page by default', async () => {
    const { user } = seedCompany(emu, 'Many');
    for (let i = 0; i < 101; i++) emu.control.createActivity({ userId: user.userId, subject: `m${i}` });
    const page = await clients(emu, { apiKey: user.apiToken }).activities.getActivities();
    expect(page.data).toHaveLength(100);
    expect(page.additional_data?.next_cursor).toEqual(expect.any(String));
  });

  it('rejects a limit above 500 with 400', async () => {
    const res = await failure(raw(clients(emu, { apiKey: token }).activities).getActivities({ limit: 501 }));
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(/500/);
  });

  it('rejects a malformed cursor with 400', async () => {
    const res = await failure(
      raw(clients(emu, { apiKey: token }).activities).getActivities({ cursor: 'not-a-cursor' }),
    );
    expect(res.status).toBe(400);
  });

  it('filters by updated_since and updated_until (RFC 3339)', async () => {
    const { user } = seedCompany(emu, 'Since');
    const old = emu.control.createActivity({ userId: user.userId, subject: 'old' });
    await sleep(1100);
    const mark = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const fresh = emu.control.createActivity({ userId: user.userId, subject: 'fresh' });
    const own = clients(emu, { apiKey: user.apiToken });
    const since = await own.activities.getActivities({ updated_since: mark });
    expect(since.data!.map((a) => a.id)).toEqual([fresh.id]);
    const until = await own.activities.getActivities({ updated_until: mark });
    expect(until.data!.map((a) => a.id)).toEqual([old.id]);
  });

  it('rejects an updated_since that is not RFC 3339 with 400', async () => {
    const res = await failure(
      raw(clients(emu, { apiKey: token }).activities).getActivities({ updated_since: 'yesterday' }),
    );
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(/updated_since/);
  });

  it('filters by owner_id, done, deal_id and ids', async () => {
    const { companyId, user } = seedCompany(emu, 'Filters');
    const other = emu.control.createUser({ companyId, name: 'Other', email: 'other@filters.test' });
    const deal = emu.control.createDeal({ userId: user.userId, title: 'Big deal' });
    const a = emu.control.createActivity({ userId: user.userId, subject: 'mine' });
    const b = emu.control.createActivity({ userId: user.userId, subject: 'theirs', owner_id: other.userId });
    const c = emu.control.createActivity({
      userId: user.userId,
      subject: 'done',
      done: true,
      deal_id: deal.id as number,
    });
    const own = clients(emu, { apiKey: user.apiToken }).activities;
    expect((await own.getActivities({ owner_id: other.userId })).data!.map((x) => x.id)).toEqual([b.id]);
    expect((await own.getActivities({ done: true })).data!.map((x) => x.id)).toEqual([c.id]);
    expect((await own.getActivities({ deal_id: deal.id as number })).data!.map((x) => x.id)).toEqual([c.id]);
    expect((await own.getActivities({ ids: `${a.id},${c.id}` })).data!.map((x) => x.id)).toEqual([a.id, c.id]);
  });

  it('sorts by due_date descending when asked', async () => {
    const { user } = seedCompany(emu, 'Sorting');
    emu.control.createActivity({ userId: user.userId, subject: 'b', due_date: '2030-01-02' });
    emu.control.createActivity({ userId: user.userId, subject: 'c', due_date: '2030-01-03' });
    emu.control.createActivity({ userId: user.userId, subject: 'a', due_date: '2030-01-01' });
    const res = await clients(emu, { apiKey: user.apiToken }).activities.getActivities({
      sort_by: 'due_date',
      sort_direction: 'desc',
    });
    expect(res.data!.map((x) => x.subject)).toEqual(['c', 'b', 'a']);
  });

  it.each([
    ['due_date', { due_date: '2030-02-30' }],
    ['due_time', { due_time: '25:00' }],
    ['duration', { duration: '1h' }],
    ['type', { type: 'teleport' }],
  ])('rejects an invalid %s with 400 and a message naming the field', async (field, body) => {
    const res = await failure(
      raw(clients(emu, { apiKey: token }).activities).addActivity({ AddActivityRequest: body }),
    );
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ success: false, error: expect.stringContaining(field) });
  });

  it('returns attendees only when include_fields=attendees is asked for', async () => {
    const created = await api.activities.addActivity({
      AddActivityRequest: {
        subject: 'Meet',
        type: 'meeting',
        attendees: [{ email: 'guest@example.com', name: 'Guest' }],
      },
    });
    const id = created.data!.id!;
    expect(created.data?.attendees).toEqual([expect.objectContaining({ email: 'guest@example.com' })]);
    expect((await api.activities.getActivity({ id })).data).not.toHaveProperty('attendees');
    expect((await api.activities.getActivity({ id, include_fields: 'attendees' })).data?.attendees).toEqual([
      expect.objectContaining({ email: 'guest@example.com', name: 'Guest' }),
    ]);
  });

  it("does not show another company's activities", async () => {
    const { user } = seedCompany(emu, 'Stranger');
    const foreign = emu.control.createActivity({ userId: user.userId, subject: 'secret' });
    const res = await failure(
      raw(clients(emu, { apiKey: token }).activities).getActivity({ id: foreign.id as number }),
    );
    expect(res.status).toBe(404);
    const list = await api.activities.getActivities({ ids: String(foreign.id) });
    expect(list.data).toEqual([]);
  });
});
