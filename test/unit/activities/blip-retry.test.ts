/**
 * Which failures a pull tries again on the spot, and after how long: the failures as the adapters classify them
 * (the Google adapter against the Google emulator, Pipedrive answers through the Pipedrive classifier).
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGoogleCalendarApi } from '../../../adapters/google/calendar-api.js';
import { failureFromResponse } from '../../../adapters/pipedrive/errors.js';
import { ridingOutBlips, waitBeforeRetryMs } from '../../../activities/sync/blip-retry.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../../emulators/google/index.js';

let emu: GoogleEmulator;
beforeEach(async () => {
  emu = await startGoogleEmulator({ seed: 11 });
});
afterEach(async () => {
  await emu.close();
});

/** The failure of an events.list made in activity attempt `attempt` while the emulator answers `status`. */
async function listFailure(status: number | 'daily', attempt: number): Promise<unknown> {
  const user = emu.control.createUser({ email: `blip${attempt}-${status}@example.com` });
  const api = createGoogleCalendarApi(
    { clientId: user.clientId, clientSecret: user.clientSecret, rootUrl: `${emu.url}/`, tokenUrl: emu.tokenUrl },
    { refreshToken: user.refreshToken, accessToken: user.accessToken, expiryDate: Date.now() + 3_600_000 },
    async () => undefined,
    { attempt },
  );
  if (status === 'daily') emu.control.setDailyLimitExceeded(true);
  else emu.control.setFaults({ seed: 1, errorRates: { [status]: 1 } });
  try {
    return await api.listEvents(user.primaryCalendarId, {}).catch((err: unknown) => err);
  } finally {
    emu.control.setFaults({});
    emu.control.setDailyLimitExceeded(false);
  }
}

const pipedrive429 = (retryAfter: string) =>
  failureFromResponse(
    { status: 429, headers: new Headers({ 'retry-after': retryAfter }), body: { error: 'Too many' }, route: 'GET x' },
    [],
  );

describe('trying a failed call again on the spot', () => {
  it("backs off a Google rate limit per call (1 s, 2 s), not by the activity's attempt", async () => {
    for (const status of [429, 403]) {
      const failure = await listFailure(status, 6);
      expect(failure).toMatchObject({ type: 'GoogleRateLimited', nextRetryDelay: 32_000 });
      expect(waitBeforeRetryMs(failure, 1)).toBe(1000);
      expect(waitBeforeRetryMs(failure, 2)).toBe(2000);
      expect(waitBeforeRetryMs(failure, 3)).toBeNull();
    }
  });

  it('tries a Google 5xx again after 200 ms, then 400 ms', async () => {
    for (const status of [500, 503]) {
      const failure = await listFailure(status, 4);
      expect(failure).toMatchObject({ type: 'GoogleUnavailable' });
      expect([waitBeforeRetryMs(failure, 1), waitBeforeRetryMs(failure, 2)]).toEqual([200, 400]);
    }
  });

  it("leaves Google's daily quota, long Pipedrive windows and permanent failures to Temporal", async () => {
    expect(waitBeforeRetryMs(await listFailure('daily', 1), 1)).toBeNull();
    expect(waitBeforeRetryMs(pipedrive429('30'), 1)).toBeNull();
    expect(waitBeforeRetryMs(ApplicationFailure.nonRetryable('bad request', 'GoogleRequestRejected'), 1)).toBeNull();
    expect(waitBeforeRetryMs(new Error('connection terminated'), 1)).toBeNull();
  });

  it("waits for Pipedrive's Retry-After of its 2 s burst window", () => {
    expect(waitBeforeRetryMs(pipedrive429('2'), 1)).toBe(2000);
  });

  it('answers the first success, or the failure of the last try', async () => {
    let calls = 0;
    const blip = ApplicationFailure.retryable('events.list: Google answered 503', 'GoogleUnavailable');
    expect(await ridingOutBlips(async () => (++calls < 3 ? Promise.reject(blip) : 'page'))).toBe('page');
    expect(calls).toBe(3);
    calls = 0;
    await expect(ridingOutBlips(async () => (++calls, Promise.reject(blip)))).rejects.toBe(blip);
    expect(calls).toBe(3);
  });
});
