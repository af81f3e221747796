import { describe, expect, it } from 'vitest';
import { attentionLines } from '../../client/cli/format.js';

describe('the CLI status: what holds the whole sync up', () => {
  it('shows a spent Pipedrive budget with the time it returns, and an account to reconnect', () => {
    expect(
      attentionLines({ needsReconnect: 'google', pipedriveBudgetPausedUntil: '2030-01-02T00:00:00.000Z' }),
    ).toEqual([
      'Reconnect    Google: its authorization was revoked or expired; connect it again',
      'Paused       Pipedrive daily API budget spent; the sync waits until 2030-01-02T00:00:00.000Z',
    ]);
  });

  it('says nothing when nothing holds it up', () => {
    expect(attentionLines({ needsReconnect: null, pipedriveBudgetPausedUntil: null })).toEqual([]);
  });
});
