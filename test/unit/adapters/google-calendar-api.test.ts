/**
 * The Google adapter's vocabulary against the Google emulator, through the official client: what each answer the
 * sync acts on comes back as (`gone`, `alreadyExists`, `changed`, `notAllowed`, `fullSyncRequired`…), and that every
 * other failure is still classified for Temporal — a rate limit on a move included.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGoogleCalendarApi, type GoogleCalendarApi } from '../../../adapters/google/calendar-api.js';
import { startGoogleEmulator, type CreatedUser, type GoogleEmulator } from '../../../emulators/google/index.js';

let emu: GoogleEmulator;
let user: CreatedUser;
let api: GoogleCalendarApi;
let calendarId: string;

const slot = { start: { dateTime: '2030-01-10T10:00:00Z' }, end: { dateTime: '2030-01-10T11:00:00Z' } };

beforeEach(async () => {
  emu = await startGoogleEmulator({ seed: 11 });
  user = emu.control.createUser({ email: 'adapter@example.com' });
  calendarId = user.primaryCalendarId;
  api = createGoogleCalendarApi(
    { clientId: user.clientId, clientSecret: user.clientSecret, rootUrl: `${emu.url}/`, tokenUrl: emu.tokenUrl },
    { refreshToken: user.refreshToken, accessToken: user.accessToken, expiryDate: Date.now() + 3_600_000 },
    async () => undefined,
  );
});
afterEach(async () => {
  await emu.close();
});

describe('the Google adapter', () => {
  it('inserts an event, and answers alreadyExists for its id again, even once it is deleted', async () => {
    const body = { id: 'adapterevent0001', summary: 'Kick-off', ...slot };
    const created = await api.insertEvent(calendarId, body, 'none');
    expect(created).toMatchObject({ result: 'created', event: { id: body.id, summary: 'Kick-off' } });
    expect(await api.insertEvent(calendarId, body, 'none')).toEqual({ result: 'alreadyExists' });
    expect(await api.deleteEvent(calendarId, body.id, 'none')).toEqual({ result: 'deleted' });
    expect(await api.insertEvent(calendarId, body, 'none')).toEqual({ result: 'alreadyExists' });
  });

  it('answers null for an event that is not there or was deleted, and gone for deleting it again', async () => {
    expect(await api.getEvent(calendarId, 'neverthere0001')).toBeNull();
    await api.insertEvent(calendarId, { id: 'adapterevent0002', summary: 'Soon gone', ...slot }, 'none');
    await api.deleteEvent(calendarId, 'adapterevent0002', 'none');
    expect(await api.getEvent(calendarId, 'adapterevent0002')).toBeNull();
    expect(await api.deleteEvent(calendarId, 'adapterevent0002', 'none')).toEqual({ result: 'gone' });
  });

  it('updates with If-Match, answers changed when the etag moved, and gone for a deleted event', async () => {
    const created = await api.insertEvent(calendarId, { id: 'adapterevent0003', summary: 'v1', ...slot }, 'none');
    if (created.result !== 'created') throw new Error('not created');
    const first = created.event;
    const updated = await api.updateEvent(
      calendarId,
      first.id!,
      { ...first, summary: 'v2' },
      {
        ifMatch: first.etag,
        sendUpdates: 'none',
      },
    );
    expect(updated).toMatchObject({ result: 'updated', event: { summary: 'v2' } });
    // The etag we read before our own update is stale now.
    expect(
      await api.updateEvent(
        calendarId,
        first.id!,
        { ...first, summary: 'v3' },
        { ifMatch: first.etag, sendUpdates: 'none' },
      ),
    ).toEqual({ result: 'changed' });
    await api.deleteEvent(calendarId, first.id!, 'none');
    // Without a status in the body a deleted event stays deleted: gone. (The sync reads an event before updating
    // it, and a deleted one is gone at that read already.)
    expect(await api.updateEvent(calendarId, first.id!, { summary: 'v4', ...slot }, { sendUpdates: 'none' })).toEqual({
      result: 'gone',
    });
  });

  it('answers notAllowed for updating or moving an event someone else organizes', async () => {
    const other = emu.control.createCalendar(user.email, { summary: 'Pipedrive' }) as { id: string };
    const invitation = emu.control.createInvitation(user.email, calendarId, {
      id: 'invitation0001',
      ...slot,
      summary: 'Partner review',
      organizer: { email: 'boss@other.example' },
    });
    expect(
      await api.updateEvent(
        calendarId,
        'invitation0001',
        { ...invitation, summary: 'Mine now' },
        { sendUpdates: 'none' },
      ),
    ).toEqual({ result: 'notAllowed' });
    expect(await api.moveEvent(calendarId, 'invitation0001', other.id)).toEqual({
      result: 'notAllowed',
      why: 'invitation-organized-by-someone-else',
    });
  });

  it('moves an event under its id, and answers gone when it is no longer in the old calendar', async () => {
    const other = emu.control.createCalendar(user.email, { summary: 'Pipedrive' }) as { id: string };
    await api.insertEvent(calendarId, { id: 'adapterevent0004', summary: 'Moving', ...slot }, 'none');
    expect(await api.moveEvent(calendarId, 'adapterevent0004', other.id)).toMatchObject({
      result: 'moved',
      event: { id: 'adapterevent0004' },
    });
    expect(await api.moveEvent(calendarId, 'adapterevent0004', other.id)).toEqual({ result: 'gone' });
  });

  it('classifies a rate limit on a move for Temporal instead of taking it for a refusal', async () => {
    const other = emu.control.createCalendar(user.email, { summary: 'Pipedrive' }) as { id: string };
    await api.insertEvent(calendarId, { id: 'adapterevent0005', summary: 'Busy day', ...slot }, 'none');
    emu.control.setFaults({ seed: 1, errorRates: { 403: 1 } });
    const failure = await api.moveEvent(calendarId, 'adapterevent0005', other.id).catch((err: unknown) => err);
    emu.control.setFaults({});
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'GoogleRateLimited' });
  });

  it('pages the changes since a sync token, and answers fullSyncRequired once the token is invalid', async () => {
    const baseline = await api.listEvents(calendarId, {});
    if (baseline.result !== 'page') throw new Error('no page');
    expect(baseline.nextSyncToken).toBeTruthy();
    await api.insertEvent(calendarId, { id: 'adapterevent0006', summary: 'New', ...slot }, 'none');
    const changes = await api.listEvents(calendarId, { syncToken: baseline.nextSyncToken });
    expect(changes).toMatchObject({ result: 'page', items: [{ id: 'adapterevent0006' }] });
    emu.control.invalidateSyncTokens(user.email);
    expect(await api.listEvents(calendarId, { syncToken: baseline.nextSyncToken })).toEqual({
      result: 'fullSyncRequired',
    });
  });
});
