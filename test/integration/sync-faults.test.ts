/**
 * Convergence under faults: a seeded, randomized run of more than 500 changes on both sides (creates, edits of
 * mapped fields, deletes) for several users in two-way mode, while 20% of the API calls to each emulator fail
 * (5xx and rate limits, in each API's own shape) and Pipedrive change signals arrive duplicated and reordered.
 * Afterwards both sides hold the same pairs with the same content, and syncing again writes nothing.
 *
 * Replay a run with `SYNC_FAULTS_SEED=<seed>` (the seed is printed).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../adapters/pipedrive/change.js';
import { seededRandom } from '../../emulators/shared/random.js';
import { activityToSyncedFields, eventToSyncedFields } from '../../sync-rules/mapping.js';
import type { SyncSettings } from '../../sync-rules/settings.js';
import type { PdActivity } from '../../sync-rules/types.js';
import { workflowIdFor } from '../../workflows/names.js';
import { startHarness, type Harness, type SyncUser } from '../../testing/sync-harness.js';

const SEED = Number(process.env.SYNC_FAULTS_SEED ?? 20261126);
// Many users with small batches: each user's changes are processed one at a time, users in parallel, and a small
// batch keeps each Google pull short (a pull retries as a whole, so its backoff grows with the events it carries).
const USERS = 10;
const BATCHES = 9;
const CHANGES_PER_BATCH = 6; // 10 users × 9 batches × 6 = 540 changes

let h: Harness;
beforeAll(async () => {
  console.log(`sync-faults: seed ${SEED} (replay with SYNC_FAULTS_SEED=${SEED})`);
  // Hundreds of injected faults are retried by design; the worker's per-attempt warnings would drown the output.
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by an earlier file in this process
  }
  h = await startHarness({ seed: SEED });
});
afterAll(async () => {
  await h.close();
});

type Signal = { kind: 'pipedrive'; change: PipedriveChange } | { kind: 'google' };

const pad = (n: number) => String(n).padStart(2, '0');
const WORDS = ['Call', 'Demo', 'Lunch', 'Review', 'Sync', 'Pitch', 'Visit', 'Plan'];
const PLACES = ['', 'Room 1', 'Berlin office', 'Zoom', 'Café Ada'];

/** One user's random change generator; every choice comes from the user's own seeded PRNG. */
class ChangeMaker {
  private readonly random: () => number;
  private delivery = 0;
  readonly counts = { pipedrive: 0, google: 0 };

  constructor(
    private readonly user: SyncUser,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }
  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }
  private chance(p: number): boolean {
    return this.random() < p;
  }
  private subject(): string {
    return `${this.pick(WORDS)} ${this.int(1, 999)}`;
  }
  private date(): string {
    return `2026-12-${pad(this.int(1, 28))}`;
  }

  private liveActivities(): PdActivity[] {
    return (h.pipedrive.control.listActivities() as unknown as PdActivity[])
      .filter((a) => a.owner_id === this.user.pipedriveUserId)
      .sort((a, b) => a.id - b.id);
  }
  private liveEvents() {
    return h.google.control.listEvents(this.user.email, this.user.calendarId);
  }

  private signal(action: 'create' | 'change' | 'delete', id: number): Signal[] {
    const change: PipedriveChange = {
      meta: {
        action,
        entity: 'activity',
        entity_id: String(id),
        id: `faults-${this.user.connectionId}-${++this.delivery}`,
        change_source: 'app',
      },
      data: null,
      previous: null,
    };
    // A duplicated delivery carries the same meta.id, as Pipedrive's retries do.
    return Array.from({ length: this.chance(0.5) ? 2 : 1 }, () => ({ kind: 'pipedrive' as const, change }));
  }

  /** Makes one change on one side, as the user would in that app, and returns the notifications it causes. */
  change(): Signal[] {
    const roll = this.random();
    if (roll < 0.6) {
      this.counts.pipedrive++;
      return this.pipedriveChange(roll / 0.6);
    }
    this.counts.google++;
    this.googleChange((roll - 0.6) / 0.4);
    return [{ kind: 'google' }];
  }

  private pipedriveChange(roll: number): Signal[] {
    const pd = h.pipedrive.control;
    const userId = this.user.pipedriveUserId;
    const live = this.liveActivities();
    if (roll < 0.4 || live.length === 0) {
      const a = pd.createActivity({
        userId,
        subject: this.subject(),
        type: 'task',
        due_date: this.date(),
        due_time: `${pad(this.int(6, 19))}:${pad(this.int(0, 11) * 5)}`,
        duration: `0${this.int(0, 2)}:${pad(this.int(1, 11) * 5)}`,
        location: { value: this.pick(PLACES) || 'HQ' },
        public_description: this.chance(0.5) ? `Notes ${this.int(1, 99)}` : '',
        busy: this.chance(0.7),
      }) as { id: number };
      return this.signal('create', a.id);
    }
    const target = this.pick(live);
    if (roll < 0.85) {
      const patch: Record<string, unknown> = {};
      if (this.chance(0.6)) patch.subject = this.subject();
      if (this.chance(0.3)) patch.due_date = this.date();
      if (this.chance(0.3)) patch.due_time = `${pad(this.int(6, 19))}:${pad(this.int(0, 11) * 5)}`;
      if (this.chance(0.2)) patch.duration = `0${this.int(0, 2)}:${pad(this.int(1, 11) * 5)}`;
      if (this.chance(0.3)) patch.location = { value: this.pick(PLACES) || 'Elsewhere' };
      if (this.chance(0.3)) patch.public_description = `Edited ${this.int(1, 999)}`;
      if (this.chance(0.2)) patch.busy = !(target.busy ?? true);
      if (Object.keys(patch).length === 0) patch.subject = this.subject();
      pd.updateActivity(target.id, patch, { userId });
      return this.signal('change', target.id);
    }
    pd.deleteActivity(target.id, { userId });
    return this.signal('delete', target.id);
  }

  private googleChange(roll: number): void {
    const g = h.google.control;
    const { email, calendarId } = this.user;
    const live = this.liveEvents();
    const times = () => {
      const date = this.date();
      const start = this.int(6 * 12, 19 * 12) * 5; // minutes since midnight, on the 5-minute grid
      const end = start + this.int(1, 24) * 5;
      const at = (m: number) => `${date}T${pad(Math.floor(m / 60))}:${pad(m % 60)}:00Z`;
      return { start: { dateTime: at(start) }, end: { dateTime: at(end) } };
    };
    if (roll < 0.4 || live.length === 0) {
      g.upsertEvent(email, calendarId, {
        summary: this.subject(),
        ...times(),
        location: this.pick(PLACES),
        description: this.chance(0.5) ? `Agenda ${this.int(1, 99)}` : '',
        transparency: this.chance(0.7) ? 'opaque' : 'transparent',
      });
      return;
    }
    const target = this.pick(live);
    if (roll < 0.8) {
      const patch: Record<string, unknown> = { id: target.id };
      if (this.chance(0.6)) patch.summary = this.subject();
      if (this.chance(0.4)) Object.assign(patch, times());
      if (this.chance(0.3)) patch.location = this.pick(PLACES);
      if (this.chance(0.3)) patch.description = `Changed in Google ${this.int(1, 999)}`;
      if (this.chance(0.2)) patch.transparency = target.transparency === 'transparent' ? 'opaque' : 'transparent';
      if (Object.keys(patch).length === 1) patch.summary = this.subject();
      g.upsertEvent(email, calendarId, patch);
      return;
    }
    g.deleteEvent(email, calendarId, target.id);
  }

  /** Notifications of a batch, reordered within small windows (webhooks and pushes overtake each other). */
  shuffleInWindows(signals: Signal[], window = 4): Signal[] {
    const out: Signal[] = [];
    for (let i = 0; i < signals.length; i += window) {
      const part = signals.slice(i, i + window);
      for (let j = part.length - 1; j > 0; j--) {
        const k = Math.floor(this.random() * (j + 1));
        [part[j], part[k]] = [part[k]!, part[j]!];
      }
      out.push(...part);
    }
    return out;
  }
}

async function deliver(user: SyncUser, signals: Signal[]): Promise<void> {
  for (const s of signals) {
    if (s.kind === 'google') await h.sync.googleChanged(user.connectionId);
    else await h.sync.pipedriveChanged(user.connectionId, s.change);
  }
}

/** Waits for the user's sync to settle; if it does not, the error says what the workflow is stuck on. */
async function settledOrExplain(user: SyncUser, timeoutMs: number) {
  try {
    return await h.settled(user.connectionId, timeoutMs);
  } catch (err) {
    const d = await h.stack.client.workflow.getHandle(workflowIdFor(user.connectionId)).describe();
    const status = await h.sync.status(user.connectionId);
    const pending = (d.raw.pendingActivities ?? []).map((p) => ({
      activity: p.activityType?.name,
      attempt: p.attempt,
      lastFailure: p.lastFailure?.message,
    }));
    throw new Error(`${(err as Error).message}: ${JSON.stringify({ status, pending })}`, { cause: err });
  }
}

/**
 * Write requests the activities made, by side (Google event inserts/updates/deletes, Pipedrive activity
 * creates/updates/deletes); `succeeded` only those that were carried out.
 */
function writeCalls(succeeded = false): { google: number; pipedrive: number } {
  let google = 0;
  let pipedrive = 0;
  for (const [key, n] of h.apiCalls) {
    if (succeeded && !/ 20\d$/.test(key)) continue;
    if (/^google events\.(insert|update|patch|delete) /.test(key)) google += n;
    if (/^pipedrive (POST|PATCH|DELETE) \/api\/v2\/activities/.test(key)) pipedrive += n;
  }
  return { google, pipedrive };
}

/** API calls answered with an injected fault status (server errors and rate limits). */
function faultCalls(): number {
  let n = 0;
  for (const [key, count] of h.apiCalls) if (/ (403|429|500|503)$/.test(key)) n += count;
  return n;
}

interface Pairing {
  activities: number;
  events: number;
  links: number;
}

/** Checks that the user's live activities and live events are linked one to one with equal mapped fields. */
async function expectConverged(user: SyncUser, settings: SyncSettings): Promise<Pairing> {
  const activities = new Map(
    (h.pipedrive.control.listActivities() as unknown as PdActivity[])
      .filter((a) => a.owner_id === user.pipedriveUserId)
      .map((a) => [a.id, a]),
  );
  const events = new Map(h.google.control.listEvents(user.email, user.calendarId).map((e) => [e.id, e]));
  const { rows } = await h.stack.db.query<{ activity_id: string; event_id: string; calendar_id: string }>(
    'SELECT activity_id, event_id, calendar_id FROM links WHERE connection_id = $1',
    [user.connectionId],
  );
  const linkedActivities = rows.map((r) => Number(r.activity_id)).sort((a, b) => a - b);
  const linkedEvents = rows.map((r) => r.event_id).sort();

  // One link per live activity and one per live event: nothing missing, nothing duplicated, nothing dangling.
  expect(linkedActivities, `${user.connectionId}: linked activities = live activities`).toEqual(
    [...activities.keys()].sort((a, b) => a - b),
  );
  expect(linkedEvents, `${user.connectionId}: linked events = live events`).toEqual([...events.keys()].sort());
  expect(new Set(linkedEvents).size).toBe(linkedEvents.length);
  expect(rows.every((r) => r.calendar_id === user.calendarId)).toBe(true);

  const ctx = { names: {}, settings };
  for (const r of rows) {
    const activity = activities.get(Number(r.activity_id))!;
    const event = events.get(r.event_id)!;
    expect(
      eventToSyncedFields(event, ctx),
      `${user.connectionId}: activity ${r.activity_id} ⇄ event ${r.event_id} carry the same fields`,
    ).toEqual(activityToSyncedFields(activity, ctx));
  }
  return { activities: activities.size, events: events.size, links: rows.length };
}

describe('sync under API faults and disordered notifications', () => {
  it('converges to one event per activity with equal fields after 500+ random changes on both sides, and then writes nothing more', async () => {
    const users: SyncUser[] = [];
    for (let i = 0; i < USERS; i++) users.push(await h.connectUser({ mode: 'two-way' }));
    const makers = users.map((u, i) => new ChangeMaker(u, SEED * 31 + i));

    h.google.control.setFaults({ seed: SEED, errorRates: { 500: 0.08, 503: 0.02, 429: 0.05, 403: 0.05 } });
    h.pipedrive.control.setFaults({ seed: SEED + 1, errorRates: { 500: 0.1, 429: 0.1 } });
    h.apiCalls.clear(); // count only the run's calls, not the users' set-up

    await Promise.all(
      users.map(async (user, i) => {
        const maker = makers[i]!;
        for (let b = 0; b < BATCHES; b++) {
          const signals: Signal[] = [];
          for (let c = 0; c < CHANGES_PER_BATCH; c++) signals.push(...maker.change());
          await deliver(user, maker.shuffleInWindows(signals));
          // Usually seconds; the bound covers the worst case of a pull retried as a whole through most of its
          // 12 attempts (the backoff grows to 1 min), which 20% faults on every call can cause.
          await settledOrExplain(user, 240_000);
        }
      }),
    );
    const changes = makers.reduce((n, m) => n + m.counts.pipedrive + m.counts.google, 0);
    expect(changes).toBeGreaterThanOrEqual(500);
    const injected = faultCalls();
    expect(injected, 'faults were injected').toBeGreaterThan(100);

    // Faults off; one more pull catches anything a pull of the last batch left to its next run.
    h.google.control.setFaults({});
    h.pipedrive.control.setFaults({});
    await Promise.all(users.map((u) => h.sync.googleChanged(u.connectionId)));
    const statuses = await Promise.all(users.map((u) => h.settled(u.connectionId, 60_000)));
    for (const s of statuses) expect(s.failures, JSON.stringify(s.lastError)).toBe(0);

    const pairings: Pairing[] = [];
    for (const [i, user] of users.entries()) pairings.push(await expectConverged(user, statuses[i]!.settings!));
    const pairs = pairings.reduce((n, p) => n + p.links, 0);
    expect(pairs, 'the run left pairs to compare').toBeGreaterThan(50);

    // No echo loops: each side was written at most once per change made on the other side (conflicts
    // resolved both ways are the only extra writes; duplicated and coalesced notifications add none).
    const writesDuring = writeCalls(true);
    const conflicts = (
      await h.stack.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM audit_log WHERE connection_id = ANY($1) AND action = 'conflict-resolved'`,
        [users.map((u) => u.connectionId)],
      )
    ).rows[0]!.n;
    const pdChanges = makers.reduce((n, m) => n + m.counts.pipedrive, 0);
    const googleChanges = makers.reduce((n, m) => n + m.counts.google, 0);
    console.log(
      `sync-faults: ${changes} changes (${pdChanges} Pipedrive, ${googleChanges} Google), ${pairs} pairs, ` +
        `${injected} faults, ${conflicts} conflicts, writes ${JSON.stringify(writesDuring)}`,
    );
    expect(writesDuring.google).toBeLessThanOrEqual(pdChanges + Number(conflicts));
    expect(writesDuring.pipedrive).toBeLessThanOrEqual(googleChanges + Number(conflicts));

    // Settled and fault-free: another pull and a re-delivery of every activity find nothing to write.
    h.apiCalls.clear();
    await Promise.all(
      users.map(async (user) => {
        await h.sync.googleChanged(user.connectionId);
        const live = (h.pipedrive.control.listActivities() as unknown as PdActivity[]).filter(
          (a) => a.owner_id === user.pipedriveUserId,
        );
        for (const a of live) {
          await h.sync.pipedriveChanged(user.connectionId, {
            meta: {
              action: 'change',
              entity: 'activity',
              entity_id: String(a.id),
              id: `resend-${a.id}`,
              change_source: 'app',
            },
            data: null,
            previous: null,
          });
        }
        await h.settled(user.connectionId, 60_000);
      }),
    );
    expect(writeCalls(), 'writes after convergence').toEqual({ google: 0, pipedrive: 0 });
    const reads = [...h.apiCalls.values()].reduce((n, v) => n + v, 0);
    expect(reads, 'the re-delivery was processed').toBeGreaterThanOrEqual(pairs);
    for (const [i, user] of users.entries())
      expect(await expectConverged(user, statuses[i]!.settings!)).toEqual(pairings[i]);
  }, 360_000);
});
