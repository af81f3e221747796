/**
 * Pipedrive → Google on the real stack, when the user chooses another calendar: the linked events move (under the
 * same id, mailing nobody, exactly once across a crash), a relocation that stopped early resumes, and new activities
 * go to the new calendar. One activity's changes are in sync-pipedrive-to-google-changes.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../sync-rules/settings.js';
import { reconcilePipedrive } from '../../activities/feeds/reconcile.js';
import { loadSyncContext } from '../../activities/sync/context.js';
import { pipedriveToGoogleSteps, writesIn } from '../../testing/pipedrive-to-google-steps.js';
import { startHarness, type Harness } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  // Relocation after a calendar switch in batches of one, so a few events show the batching.
  h = await startHarness({ relocateBatch: 1 });
});
afterAll(async () => {
  await h.close();
});

const { webhook, eventsOfActivity, theEventOf, createActivity, updateActivity, configure, callsSince } =
  pipedriveToGoogleSteps(() => h);

describe('Pipedrive → Google: a calendar switch', () => {
  it('mails nobody about moving an event to a newly chosen calendar, even with invitations on', async () => {
    const user = await h.connectUser({ sendInvitations: true });
    const id = await createActivity(user, { attendees: [{ email: 'guest@globex.example' }] });
    const event = await theEventOf(user, id);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });

    await configure(user, { sendInvitations: true, calendarId: dedicated.id });

    expect((await theEventOf(user, id, dedicated.id)).id).toBe(event.id);
    expect(h.google.control.inspectEvent(user.email, dedicated.id, event.id).lastSendUpdates).toBe('none');
    const moves = h.google.control
      .stats()
      .invitations.filter((r) => r.eventId === event.id && r.operation === 'events.move');
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.flatMap((r) => r.notified)).toEqual([]);
  });

  it('moves every linked event into the newly chosen calendar after a switch, unchanged and under the same id', async () => {
    const user = await h.connectUser();
    const ids = [
      await createActivity(user, { subject: 'First' }),
      await createActivity(user, { subject: 'Second' }),
      await createActivity(user, { subject: 'Deleted in Google meanwhile' }),
    ];
    const originals = await Promise.all(ids.map((id) => theEventOf(user, id)));
    // Deleted in the old calendar without the sync hearing of it (no feeds here): the switch finds it gone.
    h.google.control.deleteEvent(user.email, user.calendarId, originals[2]!.id);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });
    const before = new Map(h.apiCalls);

    await configure(user, { calendarId: dedicated.id });

    for (const i of [0, 1]) {
      const moved = await theEventOf(user, ids[i]!, dedicated.id);
      expect(moved).toMatchObject({ id: originals[i]!.id, summary: originals[i]!.summary });
      expect(eventsOfActivity(user, ids[i]!)).toEqual([]);
    }
    // Two moves (one per batch), one answered 410 for the deleted event; nothing else was written anywhere.
    const calls = callsSince(before);
    expect(writesIn(calls).sort()).toEqual(['google events.move 200', 'google events.move 410']);
    expect(calls.get('google events.move 200')).toBe(2);
    expect(calls.get('google events.move 410')).toBe(1);
    // The deleted event's activity stays in Pipedrive, unlinked: its next change writes a fresh event.
    expect(h.pipedrive.control.getActivity(ids[2]!)).toMatchObject({ subject: 'Deleted in Google meanwhile' });
    const { rows } = await h.stack.db.query('SELECT activity_id, calendar_id FROM links WHERE connection_id = $1', [
      user.connectionId,
    ]);
    expect(rows.map((r) => [Number(r.activity_id), r.calendar_id]).sort()).toEqual([
      [ids[0], dedicated.id],
      [ids[1], dedicated.id],
    ]);
    await updateActivity(user, ids[2]!, { subject: 'Back again' });
    expect((await theEventOf(user, ids[2]!, dedicated.id)).summary).toBe('Back again');

    // Edits made in Google to a moved event reach Pipedrive again.
    await user.calendar.events.patch({
      calendarId: dedicated.id,
      eventId: originals[0]!.id,
      requestBody: { summary: 'Renamed in Google' },
    });
    await h.sync.googleChanged(user.connectionId);
    await h.settled(user.connectionId);
    expect(h.pipedrive.control.getActivity(ids[0]!)).toMatchObject({ subject: 'Renamed in Google' });

    // Switching back brings every event back, the same ones again.
    await configure(user, { calendarId: user.calendarId });
    for (const i of [0, 1]) expect((await theEventOf(user, ids[i]!)).id).toBe(originals[i]!.id);
    expect((await theEventOf(user, ids[2]!)).summary).toBe('Back again');
    expect(h.google.control.listEvents(user.email, dedicated.id)).toEqual([]);
  });

  it('moves an event that changes before the relocation reaches it along with that change', async () => {
    const user = await h.connectUser();
    const first = await createActivity(user, { subject: 'Relocated first' });
    const edited = await createActivity(user, { subject: 'Edited before its turn' });
    const original = await theEventOf(user, edited);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });

    // While paused, the switch queues the relocation and the edit queues behind it; the first batch (one event)
    // puts the rest of the relocation after the edit, so the edit meets its event still in the old calendar.
    await h.sync.pause(user.connectionId);
    await h.sync.configure(user.connectionId, { ...DEFAULT_SETTINGS, enabled: true, calendarId: dedicated.id });
    h.pipedrive.control.updateActivity(edited, { subject: 'Edited, then moved' }, { userId: user.pipedriveUserId });
    await h.sync.pipedriveChanged(user.connectionId, webhook('change', 'activity', edited));
    const before = new Map(h.apiCalls);
    await h.sync.resume(user.connectionId);
    await h.settled(user.connectionId);

    expect(await theEventOf(user, edited, dedicated.id)).toMatchObject({
      id: original.id,
      summary: 'Edited, then moved',
    });
    expect(eventsOfActivity(user, edited)).toEqual([]);
    expect(eventsOfActivity(user, first)).toEqual([]);
    expect((await theEventOf(user, first, dedicated.id)).summary).toBe('Relocated first');
    const calls = callsSince(before);
    expect(calls.get('google events.move 200')).toBe(2);
    expect(calls.get('google events.update 200')).toBe(1);
    expect(calls.get('google events.insert 200')).toBeUndefined();
    // The relocation moved only the first; the edit moved its own event (the sync step's calendar check).
    const moves = (await h.sync.status(user.connectionId)).recent.filter((o) => o.result === 'moved');
    expect(moves.map((o) => o.subject)).toEqual([`activity:${first}`]);
  });

  it('moves an event exactly once when the relocation crashes between the move and saving the link', async () => {
    const user = await h.connectUser();
    const activity = await createActivity(user, { subject: 'Moving' });
    const original = await theEventOf(user, activity);
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });

    h.crashAt('after-google-move');
    await configure(user, { calendarId: dedicated.id });

    // The retry finds the event gone from the old calendar and already in the new one, and links it there.
    const moved = await theEventOf(user, activity, dedicated.id);
    expect(moved).toMatchObject({ id: original.id, summary: 'Moving' });
    expect(eventsOfActivity(user, activity)).toEqual([]);
    expect(h.google.control.listEvents(user.email, dedicated.id)).toHaveLength(1);
    await updateActivity(user, activity, { subject: 'Moved' });
    expect((await theEventOf(user, activity, dedicated.id)).summary).toBe('Moved');
    expect(h.google.control.listEvents(user.email, dedicated.id)).toHaveLength(1);
  });

  it('has the safety net notice events left in an old calendar, so a relocation that stopped early resumes', async () => {
    const user = await h.connectUser();
    await createActivity(user, { subject: 'Left behind' });
    const ctx = await loadSyncContext(h.deps, user.connectionId, 1);
    expect((await reconcilePipedrive(ctx)).relocationPending).toBe(false);
    await h.stack.db.query('UPDATE links SET calendar_id = $2 WHERE connection_id = $1', [
      user.connectionId,
      'calendar-switched-away-from@example.com',
    ]);
    expect((await reconcilePipedrive(ctx)).relocationPending).toBe(true);
  });

  it('writes new activities to the newly chosen calendar', async () => {
    const user = await h.connectUser();
    const dedicated = h.google.control.createCalendar(user.email, { summary: 'Pipedrive' });
    await configure(user, { calendarId: dedicated.id });
    const later = await createActivity(user, { subject: 'After the switch' });
    expect((await theEventOf(user, later, dedicated.id)).summary).toBe('After the switch');
    expect(eventsOfActivity(user, later)).toEqual([]);
  });
});
