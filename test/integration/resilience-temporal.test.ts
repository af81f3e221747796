/**
 * Drill: Temporal stops and comes back while webhooks, pushes and syncs are flowing. Both processes (the
 * production worker and web service, as child processes) stay up; webhooks accepted meanwhile are stored
 * (200) and relayed exactly once after recovery; pushes Temporal could not take are answered 503 and count when
 * Google retries them. The file runs its own Temporal dev server, persisted to a file so the restart keeps every
 * workflow, and its own Postgres (the web service's relay loop serves every connection in its database).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/provision/free-port.js';
import { startDevServer, type DevServer } from '../../scripts/provision/temporal-server.js';
import { startDrill, type Drill, type SentDelivery } from '../support/drill.js';
import { startRestartablePostgres, type RestartablePostgres } from '../support/restartable-postgres.js';

let pg: RestartablePostgres;
let temporal: DevServer | undefined;
let temporalPort: number;
let dir: string;
let drill: Drill;

const startTemporal = () => startDevServer({ port: temporalPort, dbFilename: path.join(dir, 'temporal.db') });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'drill-temporal-'));
  temporalPort = await freePort();
  [pg, temporal] = await Promise.all([startRestartablePostgres('drill_temporal'), startTemporal()]);
  drill = await startDrill({ databaseUrl: pg.url, temporalAddress: temporal.address });
}, 240_000);
afterAll(async () => {
  await drill?.close();
  await temporal?.stop();
  await pg?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Temporal outage under traffic', () => {
  it('stores what arrives while Temporal is down and relays each delivery exactly once after it is back', async () => {
    const sent: SentDelivery[] = [];
    const googleEvents: string[] = [];
    for (let i = 0; i < 3; i++) {
      sent.push(await drill.newActivityWebhook(`before outage ${i}`));
      googleEvents.push(drill.newGoogleEvent(`google before outage ${i}`));
    }
    expect(sent.map((d) => d.statuses)).toEqual([[200], [200], [200]]);

    const pushRetriesBefore = drill.google.control.stats().push.retried;
    await temporal!.stop();
    temporal = undefined;
    // Concurrently: each one waits for Temporal up to the ingress's signal deadline before leaving it stored.
    const duringOutage = await Promise.all(
      Array.from({ length: 4 }, (_, i) => {
        googleEvents.push(drill.newGoogleEvent(`google during outage ${i}`));
        return drill.newActivityWebhook(`during outage ${i}`);
      }),
    );
    // Stored, so accepted: 200, and waiting in the inbox.
    expect(duringOutage.map((d) => d.statuses)).toEqual(Array(4).fill([200]));
    const pending = await drill.db.query<{ delivery_id: string }>(
      'SELECT delivery_id FROM webhook_inbox WHERE connection_id = $1 AND relayed_at IS NULL',
      [drill.user.connectionId],
    );
    expect(pending.rows.map((r) => r.delivery_id)).toEqual(
      expect.arrayContaining(duringOutage.map((d) => d.deliveryId)),
    );
    sent.push(...duringOutage);
    expect(drill.processesAlive()).toEqual({ worker: true, web: true });

    temporal = await startTemporal();
    // Back up, with the relay loop draining the inbox: new deliveries arrive with their retries racing them.
    for (let i = 0; i < 3; i++) {
      sent.push(await drill.newActivityWebhook(`after outage ${i}`, 3));
      googleEvents.push(drill.newGoogleEvent(`google after outage ${i}`));
    }
    expect(sent.flatMap((d) => d.statuses).every((s) => s === 200)).toBe(true);

    await expect
      .poll(
        async () => {
          const { rows } = await drill.db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1 AND relayed_at IS NULL',
            [drill.user.connectionId],
          );
          return rows[0]!.n;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(0);
    await expect
      .poll(() => sent.map((d) => drill.eventsForActivity(d.activityId)), { timeout: 120_000, interval: 1000 })
      .toEqual(Array(sent.length).fill(1));
    await expect
      .poll(() => googleEvents.map((s) => drill.activitiesNamed(s)), { timeout: 120_000, interval: 1000 })
      .toEqual(Array(googleEvents.length).fill(1));
    // Exactly one signal per delivery: none lost in the outage, none doubled by ingress and relay loop.
    expect(await drill.pipedriveSignals()).toBe(sent.length);
    // The pushes of the outage were refused (5xx) and counted when Google retried them; none was given up.
    expect(drill.google.control.stats().push.retried - pushRetriesBefore).toBeGreaterThanOrEqual(4);
    expect(drill.google.control.stats().push.failed).toBe(0);
    expect(drill.processesAlive()).toEqual({ worker: true, web: true });
  });
});
