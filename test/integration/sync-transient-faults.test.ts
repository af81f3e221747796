/**
 * Transient API failures inside one sync step, on the real stack (Temporal, Postgres, the official clients against
 * the emulators). A Google pull of several pages: a list call's blip is ridden out inside the attempt, an attempt
 * that fails after a page resumes at the next page instead of listing and applying the calendar's changes again,
 * and a crash between a page's applies and saving its position duplicates nothing. A Pipedrive activity's sync to
 * Google rides out a blip of its read within the attempt.
 *
 * The faults are the emulators' seeded ones: a seed is chosen (from the same PRNG the emulators draw from) so that
 * exactly the intended requests fail, and the test checks that exactly those failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector } from '../../emulators/shared/faults.js';
import { day, googleToPipedriveSteps, timed } from '../../testing/google-to-pipedrive-steps.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';
import { workflowIdFor } from '../../workflows/names.js';
import { activityRuns } from '../../testing/activity-runs.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const { activitiesOf, pull, pushActivity } = googleToPipedriveSteps(() => h);

/** Google's largest events.list page, which the pull asks for. */
const PAGE = 2500;
const EARLY = ['Standup', 'Review', 'Retro'];
const LATE = 'Planning';

/**
 * Changes since the user's sync token over two pages (listed in id order): three new events on page 1, one on page
 * 2, between them a page's worth of events created and deleted again (deletions the pull lists and ignores).
 */
function twoPagesOfChanges(user: SyncUser): void {
  const g = h.google.control;
  const date = day(7);
  EARLY.forEach((summary, i) =>
    g.upsertEvent(user.email, user.calendarId, {
      id: `aaaa000${i}`,
      summary,
      ...timed(date, `1${i}:00`, `1${i}:30`),
    }),
  );
  for (let i = 0; i < PAGE; i++) {
    const id = `ffff${String(i).padStart(5, '0')}`;
    g.upsertEvent(user.email, user.calendarId, { id, summary: 'Gone', ...timed(date, '08:00', '08:30') });
    g.deleteEvent(user.email, user.calendarId, id);
  }
  g.upsertEvent(user.email, user.calendarId, { id: 'vvvv0001', summary: LATE, ...timed(date, '16:00', '16:30') });
}

/**
 * Google faults under which, of the next Google API requests, exactly those whose index (0-based) is in `failing` fail
 * with a 503 — found by drawing from the emulator's own seeded PRNG.
 */
function faultsFailing(failing: number[], requests: number) {
  const errorRates = { 503: 0.5 };
  for (let seed = 1; seed < 100_000; seed++) {
    const draw = new FaultInjector({ seed, errorRates });
    const fails = Array.from({ length: requests }, () => draw.pickError() !== undefined);
    if (fails.every((f, i) => f === failing.includes(i))) return { seed, errorRates };
  }
  throw new Error('no seed gives that fault pattern');
}

/** A pull of the user's changes while the Google emulator answers with `faults`; the faults end with it. */
async function pullUnderGoogleFaults(user: SyncUser, faults: ReturnType<typeof faultsFailing>): Promise<void> {
  h.google.control.setFaults(faults);
  try {
    await pull(user);
  } finally {
    h.google.control.setFaults({});
  }
}

/** Counters of what the pull made of the Google emulator. */
function googleCounts() {
  const s = h.google.control.stats();
  return { lists: s.requests.byOperation['events.list'] ?? 0, injected: s.injectedErrors };
}

/** Pipedrive activity creates the activities carried out. */
function pipedriveCreates(): number {
  return [...h.apiCalls]
    .filter(([k]) => /^pipedrive POST \/api\/v2\/activities 20\d$/.test(k))
    .reduce((n, [, c]) => n + c, 0);
}

/** The attempt that completed each of the user's Google pulls (history records only the last attempt's start). */
function pullAttempts(user: SyncUser): Promise<Attempt[]> {
  return attemptsOf(user, ['pullGoogle']);
}

/**
 * The step's attempts in history order: `'local'` for the local first attempt (workflows/local-first.ts) and
 * `'local failed'` when it failed, then the regular activity's attempt numbers — the one that finished is in
 * history, the failed ones before it are not.
 */
type Attempt = 'local' | 'local failed' | number;

async function attemptsOf(user: SyncUser, types: string[]): Promise<Attempt[]> {
  const history = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).fetchHistory();
  return activityRuns(history.events ?? [])
    .filter((r) => types.includes(r.type))
    .flatMap((r): Attempt[] => (r.local ? [r.ok ? 'local' : 'local failed'] : r.attempts));
}

async function createdAudited(user: SyncUser): Promise<number> {
  const { rows } = await h.stack.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM audit_log WHERE connection_id = $1 AND direction = 'google-to-pipedrive' AND action = 'created'`,
    [user.connectionId],
  );
  return Number(rows[0]!.n);
}

const subjects = (user: SyncUser) =>
  activitiesOf(user)
    .map((a) => a.subject)
    .sort();
const ALL = [...EARLY, LATE].sort();

describe('a Google pull of several pages under API faults', () => {
  it("rides out a failed events.list of the second page within the pull's first attempt", async () => {
    const user = await h.connectUser();
    twoPagesOfChanges(user);
    const before = { google: googleCounts(), creates: pipedriveCreates() };
    const attemptsBefore = (await pullAttempts(user)).length;

    // Requests of the pull: list page 1, list page 2 (fails), list page 2 again.
    await pullUnderGoogleFaults(user, faultsFailing([1], 3));

    const google = googleCounts();
    expect(google.injected - before.google.injected, 'the one planned fault was injected').toBe(1);
    expect(google.lists - before.google.lists, 'page 1 listed once, page 2 twice').toBe(3);
    expect(subjects(user)).toEqual(ALL);
    expect(pipedriveCreates() - before.creates).toBe(ALL.length);
    expect((await pullAttempts(user)).slice(attemptsBefore), 'one attempt').toEqual(['local']);
  });

  it('resumes at the page it had not finished when an attempt fails after a page, without applying page 1 again', async () => {
    const user = await h.connectUser();
    twoPagesOfChanges(user);
    const before = { google: googleCounts(), creates: pipedriveCreates() };
    const attemptsBefore = (await pullAttempts(user)).length;

    // Attempt 1: page 1, then page 2 fails on every try on the spot; attempt 2 lists page 2 only.
    await pullUnderGoogleFaults(user, faultsFailing([1, 2, 3], 6));

    const google = googleCounts();
    expect(google.injected - before.google.injected, 'the planned faults were injected').toBe(3);
    expect((await pullAttempts(user)).slice(attemptsBefore), 'the second attempt finished the pull').toEqual([
      'local failed',
      1,
    ]);
    expect(google.lists - before.google.lists, 'page 1 once, page 2 three times in attempt 1 and once in 2').toBe(5);
    expect(subjects(user)).toEqual(ALL);
    expect(pipedriveCreates() - before.creates).toBe(ALL.length);
    // The pull reports what its first attempt applied too: every import is in the audit log.
    expect(await createdAudited(user)).toBe(ALL.length);
    const { rows } = await h.stack.db.query('SELECT pull_position FROM google_sync_state WHERE connection_id = $1', [
      user.connectionId,
    ]);
    expect(rows, 'the finished pull left no position behind').toEqual([{ pull_position: null }]);
  });

  it('resumes a full resync (after a 410) at its next page, still as a full resync', async () => {
    const user = await h.connectUser();
    twoPagesOfChanges(user);
    h.google.control.invalidateSyncTokens(user.email, user.calendarId);
    const before = { google: googleCounts(), creates: pipedriveCreates() };
    const attemptsBefore = (await pullAttempts(user)).length;

    // Attempt 1: the token's 410, the whole calendar's page 1, then page 2 fails on every try; attempt 2: page 2.
    await pullUnderGoogleFaults(user, faultsFailing([2, 3, 4], 7));

    const google = googleCounts();
    expect(google.injected - before.google.injected, 'the planned faults were injected').toBe(3);
    expect((await pullAttempts(user)).slice(attemptsBefore)).toEqual(['local failed', 1]);
    expect(google.lists - before.google.lists, 'the 410, page 1, page 2 three times, then page 2 once').toBe(6);
    // Each new event imported once, though the full listing of attempt 2 was entered at page 2.
    expect(subjects(user)).toEqual(ALL);
    expect(pipedriveCreates() - before.creates).toBe(ALL.length);
  });

  it('applies page 1 again, duplicating nothing, after a crash before its position was saved', async () => {
    const user = await h.connectUser();
    twoPagesOfChanges(user);
    const before = { google: googleCounts(), creates: pipedriveCreates() };
    const attemptsBefore = (await pullAttempts(user)).length;

    h.crashAt('before-pull-position');
    await pull(user);

    expect((await pullAttempts(user)).slice(attemptsBefore)).toEqual(['local failed', 1]);
    expect(googleCounts().lists - before.google.lists, 'page 1 twice, page 2 once').toBe(3);
    expect(subjects(user)).toEqual(ALL);
    expect(pipedriveCreates() - before.creates, 'each event imported once').toBe(ALL.length);
  });
});

describe('a Pipedrive activity synced to Google under API faults', () => {
  it('rides out a failed read of the activity within the first attempt', async () => {
    const user = await h.connectUser();
    const a = h.pipedrive.control.createActivity({
      userId: user.pipedriveUserId,
      subject: 'Call Ada',
      type: 'call',
      due_date: day(8),
      due_time: '09:00',
      duration: '00:30',
    }) as { id: number };
    const failedReads = () => h.apiCalls.get('pipedrive GET /api/v2/activities/:id 503') ?? 0;
    const before = failedReads();
    const stepTypes = ['syncPipedriveActivity', 'syncPipedriveActivities'];
    const attemptsBefore = (await attemptsOf(user, stepTypes)).length;

    // Pipedrive requests of the sync: the read fails, the second read and whatever follows pass.
    h.pipedrive.control.setFaults(faultsFailing([0], 6));
    try {
      await pushActivity(user, 'create', a.id);
    } finally {
      h.pipedrive.control.setFaults({});
    }

    expect(failedReads() - before, 'the planned fault was injected').toBe(1);
    const events = h.google.control.listEvents(user.email, user.calendarId);
    expect(events.map((e) => e.summary)).toEqual(['Call Ada']);
    expect((await attemptsOf(user, stepTypes)).slice(attemptsBefore), 'one attempt').toEqual(['local']);
  });
});
