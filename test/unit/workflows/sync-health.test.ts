import { describe, expect, it } from 'vitest';
import { directionOf, SyncHealth } from '../../../workflows/sync-health.js';
import { describeItem, manualRetryItemFor, retryItemFor } from '../../../workflows/work-item-subjects.js';
import type { WorkItem } from '../../../workflows/work-queue.js';

const T = Date.parse('2026-12-01T10:00:00Z');
const at = (s: number) => new Date(T + s * 1000).toISOString();
const never = () => false;

describe('the last sync per direction', () => {
  it('moves when an item of that direction finishes without failure, and only then', () => {
    const h = new SyncHealth();
    h.itemDone({ kind: 'activity', id: 1 }, true, never, T);
    h.itemDone({ kind: 'google' }, false, never, T + 1000);
    h.itemDone({ kind: 'feeds' }, true, never, T + 2000);
    expect(h.view().lastSyncedAt).toEqual({ pipedriveToGoogle: at(0), googleToPipedrive: null });
    h.itemDone({ kind: 'google' }, true, never, T + 3000);
    h.itemDone({ kind: 'reconcile' }, true, never, T + 4000);
    expect(h.view().lastSyncedAt).toEqual({ pipedriveToGoogle: at(4), googleToPipedrive: at(3) });
  });

  it('travels over continue-as-new, and the view is a copy', () => {
    const h = new SyncHealth();
    h.itemDone({ kind: 'google' }, true, never, T);
    const carried = h.view();
    carried.lastSyncedAt.googleToPipedrive = 'tampered';
    expect(new SyncHealth(h.view()).view().lastSyncedAt.googleToPipedrive).toBe(at(0));
  });

  it('names a direction for every change, none for the feeds', () => {
    expect(directionOf({ kind: 'entity', entity: 'deal', id: 2 })).toBe('pipedriveToGoogle');
    expect(directionOf({ kind: 'relocate' })).toBe('pipedriveToGoogle');
    expect(directionOf({ kind: 'google' })).toBe('googleToPipedrive');
    expect(directionOf({ kind: 'verify-feeds' })).toBeNull();
  });
});

describe('a resync pass', () => {
  const pass = ['google', 'reconcile', 'verify-feeds'];

  it('finishes when the last of its items is done, counting the failed ones', () => {
    const h = new SyncHealth();
    h.resyncRequested(pass, T);
    h.itemDone({ kind: 'google' }, true, never, T + 1000);
    h.itemDone({ kind: 'activity', id: 9 }, true, never, T + 1500); // not part of the pass
    h.itemDone({ kind: 'reconcile' }, false, never, T + 2000);
    expect(h.view().resync).toEqual({ requestedAt: at(0), finishedAt: null, pending: ['verify-feeds'], failed: 1 });
    h.itemDone({ kind: 'verify-feeds' }, true, never, T + 3000);
    expect(h.view().resync).toEqual({ requestedAt: at(0), finishedAt: at(3), pending: [], failed: 1 });
  });

  it('does not count an item that was already running when the resync was asked (the queued one follows)', () => {
    const h = new SyncHealth();
    h.resyncRequested(['google'], T);
    h.itemDone({ kind: 'google' }, true, (key) => key === 'google', T + 1000);
    expect(h.view().resync?.finishedAt).toBeNull();
    h.itemDone({ kind: 'google' }, true, never, T + 2000);
    expect(h.view().resync?.finishedAt).toBe(at(2));
  });

  it('joins a second request to the running pass, and starts a new one after it finished', () => {
    const h = new SyncHealth();
    h.resyncRequested(pass, T);
    h.resyncRequested([...pass, 'activity:4'], T + 1000);
    expect(h.view().resync).toMatchObject({ requestedAt: at(0), pending: [...pass, 'activity:4'] });
    for (const item of [{ kind: 'google' }, { kind: 'reconcile' }, { kind: 'verify-feeds' }] as WorkItem[])
      h.itemDone(item, true, never, T + 2000);
    h.itemDone({ kind: 'activity', id: 4 }, true, never, T + 3000);
    expect(h.view().resync?.finishedAt).toBe(at(3));
    h.resyncRequested(pass, T + 4000);
    expect(h.view().resync).toEqual({ requestedAt: at(4), finishedAt: null, pending: pass, failed: 0 });
  });
});

describe('retrying one failed subject', () => {
  it('retries changes and housekeeping steps, and names each the way its failure is reported', () => {
    const items: WorkItem[] = [
      { kind: 'activity', id: 42 },
      { kind: 'entity', entity: 'person', id: 7 },
      { kind: 'google' },
      { kind: 'reconcile' },
      { kind: 'feeds' },
      { kind: 'verify-feeds' },
      { kind: 'relocate' },
    ];
    for (const item of items) expect(manualRetryItemFor(describeItem(item))).toEqual(item);
  });

  it('has no retry for a Google event or a malformed subject; the safety net retries only changes', () => {
    for (const subject of ['event:abc', 'activity:0', 'activity:x', 'deal:-1', 'upload:1', '', 'google'])
      expect(manualRetryItemFor(subject)).toBeNull();
    expect(retryItemFor('google-calendar')).toBeNull();
    expect(retryItemFor('deal:7')).toEqual({ kind: 'entity', entity: 'deal', id: 7 });
  });
});
