/**
 * Drill: Postgres stops and comes back while webhooks, pushes and syncs are flowing. Both processes (the
 * production worker and web service, as child processes) stay up; every delivery the web service could not
 * store was answered 503 (so Pipedrive retries it); every delivery answered 200 was processed exactly once after
 * recovery — one Google event per activity, one Pipedrive activity per Google event, one signal per delivery.
 * This file runs a Postgres of its own (the shared one must stay up for the other files).
 */
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startDrill, type Drill, type SentDelivery } from '../support/drill.js';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.js';

let pg: RestartablePostgres;
let drill: Drill;

beforeAll(async () => {
  pg = await startRestartablePostgres('drill_postgres');
  drill = await startDrill({ databaseUrl: pg.url, temporalAddress: inject('temporalAddress') });
}, 240_000);
afterAll(async () => {
  await drill?.close();
  await pg?.destroy();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Postgres outage under traffic', () => {
  it('keeps both processes up, answers 503 while down, and processes every accepted delivery exactly once', async () => {
    const sent: SentDelivery[] = [];
    const googleEvents: string[] = [];
    for (let i = 0; i < 3; i++) {
      sent.push(await drill.newActivityWebhook(`before outage ${i}`));
      googleEvents.push(drill.newGoogleEvent(`google before outage ${i}`));
    }
    expect(sent.map((d) => d.statuses)).toEqual([[200], [200], [200]]);

    const pushRetriesBefore = drill.google.control.stats().push.retried;
    await pg.stop();
    const duringOutage: SentDelivery[] = [];
    for (let i = 0; i < 4; i++) {
      duringOutage.push(await drill.newActivityWebhook(`during outage ${i}`));
      googleEvents.push(drill.newGoogleEvent(`google during outage ${i}`));
      await pause(500);
    }
    // Nothing could be stored: every one of them is refused with 503, so Pipedrive retries it.
    expect(duringOutage.map((d) => d.statuses)).toEqual(Array(4).fill([503]));
    expect(drill.processesAlive()).toEqual({ worker: true, web: true });

    await pg.start();
    // Pipedrive's retries of the refused deliveries, then new traffic.
    for (const d of duringOutage) {
      await expect.poll(() => drill.redeliver(d), { timeout: 30_000, interval: 500 }).toBe(200);
    }
    sent.push(...duringOutage);
    // New deliveries, each with a retry racing it (as when Pipedrive times out).
    for (let i = 0; i < 3; i++) {
      sent.push(await drill.newActivityWebhook(`after outage ${i}`, 2));
      googleEvents.push(drill.newGoogleEvent(`google after outage ${i}`));
    }
    expect(sent.every((d) => d.statuses.at(-1) === 200)).toBe(true);
    expect(sent.slice(-3).flatMap((d) => d.statuses)).toEqual(Array(6).fill(200));

    // Every accepted delivery reached Google exactly once; every Google change reached Pipedrive exactly once.
    await expect
      .poll(() => sent.map((d) => drill.eventsForActivity(d.activityId)), { timeout: 90_000, interval: 1000 })
      .toEqual(Array(sent.length).fill(1));
    await expect
      .poll(() => googleEvents.map((s) => drill.activitiesNamed(s)), { timeout: 90_000, interval: 1000 })
      .toEqual(Array(googleEvents.length).fill(1));
    // One signal per accepted delivery (the 503s stored nothing and signalled nothing).
    const { rows } = await drill.db.query<{ relayed: boolean }>(
      'SELECT relayed_at IS NOT NULL AS relayed FROM webhook_inbox WHERE connection_id = $1',
      [drill.user.connectionId],
    );
    expect(rows).toHaveLength(sent.length);
    expect(rows.every((r) => r.relayed)).toBe(true);
    expect(await drill.pipedriveSignals()).toBe(sent.length);
    // The pushes of the outage were refused (5xx) and counted when Google retried them; none was given up.
    expect(drill.google.control.stats().push.retried - pushRetriesBefore).toBeGreaterThanOrEqual(4);
    expect(drill.google.control.stats().push.failed).toBe(0);
    expect(drill.processesAlive()).toEqual({ worker: true, web: true });
    expect((await fetch(`${drill.web.url}/healthz`)).status).toBe(200);
  });
});
