/**
 * The real 7-day channel cadence, without waiting a week: the workflow runs on Temporal's time-skipping test
 * server, whose clock jumps to the next timer. The activities here are recording stand-ins (this file checks
 * the workflow's timers; change-feeds tests run the real channel activities against the emulator), and they
 * read time from the server's clock so expirations agree with the workflow's.
 */
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { createActivities } from '../../activities/index.js';
import { DEFAULT_FEEDS } from '../../adapters/sync-deps.js';
import { findTemporalBinary, TEMPORAL_TEST_SERVER, toExecutable } from '../../scripts/provision/temporal-cli.js';
import { DEFAULT_SETTINGS } from '../../sync-rules/settings.js';
import { calendarSync } from '../../workflows/calendar-sync.js';
import { status } from '../../workflows/contract.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { temporal } from '@temporalio/proto';

type Activities = ReturnType<typeof createActivities>;

const DAY = 24 * 3600 * 1000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  const binary = await findTemporalBinary(TEMPORAL_TEST_SERVER, (m) => console.log(m));
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: toExecutable(binary) } });
  // The workflow keeps its state in search attributes; a server must know them before they are set.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      ALL_SEARCH_ATTRIBUTES.map((k) => [
        k.name,
        k.type === 'INT'
          ? temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT
          : temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
}, 180_000);

afterAll(async () => {
  await env?.teardown();
});

describe('Google channel renewal on the real cadence', () => {
  it('renews the channel every 6.5 days — new channel first, old one stopped — for three weeks', async () => {
    const calls: { name: string; at: number; channelId?: string; keep?: string }[] = [];
    const now = () => Context.current().info.currentAttemptScheduledTimestampMs;
    const ttlMs = DEFAULT_FEEDS.channelTtlSeconds * 1000;
    const marginMs = DEFAULT_FEEDS.channelRenewMarginSeconds * 1000;
    const settings = { ...DEFAULT_SETTINGS, enabled: true, calendarId: 'primary' };
    const activities: Partial<Activities> = {
      async loadConnection() {
        return { settings, pipedriveUserId: 7, pipedriveCompanyId: 1, googleEmail: null };
      },
      async ensureWebhooks() {
        return 0;
      },
      async startWatch(_connectionId, channelId) {
        calls.push({ name: 'startWatch', at: now(), channelId });
        const expiration = now() + ttlMs;
        return {
          channelId,
          expiration: new Date(expiration).toISOString(),
          renewAt: new Date(expiration - marginMs).toISOString(),
        };
      },
      async stopWatch(_connectionId, keep) {
        calls.push({ name: 'stopWatch', at: now(), keep });
        return 1;
      },
      // The feed check after each continue-as-new: the channel the workflow holds is the one last started.
      async verifyFeeds(_connectionId, channelId) {
        return { webhooksCreated: 0, channelLive: channelId !== null };
      },
      async pullGoogle() {
        return { mode: 'incremental', pages: 1, outcomes: [], failures: [] };
      },
      async reconcile() {
        return { activityIds: [], scanned: 0 };
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'cadence',
      workflowBundle: { code: inject('workflowBundleCode') },
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(calendarSync, {
        workflowId: 'calendar-sync:cadence',
        taskQueue: 'cadence',
        // Safety nets daily, so three weeks of skipped time stay a short history.
        args: [{ connectionId: 'cadence', safetyIntervalSeconds: 24 * 3600 }],
      });
      const startedAt = (await handle.describe()).startTime.getTime();
      await env.sleep(21 * DAY);
      const s = await handle.query(status);
      expect(s.channel?.channelId).toBeTruthy();
      await handle.terminate();

      const starts = calls.filter((c) => c.name === 'startWatch');
      // The first channel at start, then one per 6.5 days: at 6.5, 13 and 19.5 days.
      expect(starts.length).toBe(4);
      const offsets = starts.map((c) => (c.at - startedAt) / DAY);
      expect(offsets[0]).toBeLessThan(0.01);
      for (let i = 1; i < starts.length; i++) {
        expect(offsets[i]! - offsets[i - 1]!).toBeCloseTo((ttlMs - marginMs) / DAY, 1);
      }
      // Each renewal stops every channel but the one it just created, right after creating it.
      for (const start of starts) {
        const stop = calls[calls.indexOf(start) + 1];
        expect(stop).toMatchObject({ name: 'stopWatch', keep: start.channelId });
      }
      expect(s.channel?.channelId).toBe(starts.at(-1)!.channelId);
    });
  });
});
