import { describe, expect, it } from 'vitest';
import type { PipedriveChange } from '../../../adapters/pipedrive/change.js';
import { keyOf, WorkQueue, workItemFor, type WorkItem } from '../../../workflows/work-queue.js';

const change = (entity: string, action: PipedriveChange['meta']['action'], entityId: string): PipedriveChange => ({
  meta: { action, entity, entity_id: entityId, id: `delivery-${entity}-${entityId}` },
  data: null,
  previous: null,
});

describe('WorkQueue', () => {
  it('serves items in the order they first arrived', () => {
    const q = new WorkQueue();
    q.add({ kind: 'activity', id: 2 });
    q.add({ kind: 'google' });
    q.add({ kind: 'activity', id: 1 });
    expect([q.take(), q.take(), q.take(), q.take()]).toEqual([
      { kind: 'activity', id: 2 },
      { kind: 'google' },
      { kind: 'activity', id: 1 },
      undefined,
    ]);
  });

  it('absorbs an item that is already waiting, which keeps its place in line', () => {
    const q = new WorkQueue();
    q.add({ kind: 'activity', id: 7 });
    q.add({ kind: 'reconcile' });
    q.add({ kind: 'activity', id: 7 });
    expect(q.size).toBe(2);
    expect(q.items()).toEqual([{ kind: 'activity', id: 7 }, { kind: 'reconcile' }]);
  });

  it('takes an item again once the waiting copy was taken', () => {
    const q = new WorkQueue([{ kind: 'google' }]);
    expect(q.take()).toEqual({ kind: 'google' });
    q.add({ kind: 'google' });
    expect(q.size).toBe(1);
  });

  it('keeps the same activity and a deal with the same id apart', () => {
    const q = new WorkQueue([
      { kind: 'activity', id: 5 },
      { kind: 'entity', entity: 'deal', id: 5 },
      { kind: 'entity', entity: 'person', id: 5 },
    ]);
    expect(q.size).toBe(3);
  });

  it('rebuilds the same queue from what it carried over continue-as-new', () => {
    const items: WorkItem[] = [{ kind: 'feeds' }, { kind: 'activity', id: 3 }, { kind: 'relocate' }];
    expect(new WorkQueue(new WorkQueue(items).items()).items()).toEqual(items);
  });
});

describe('WorkQueue batches', () => {
  const a = (id: number): WorkItem => ({ kind: 'activity', id });

  it('takes the activities at the front of the line, up to the first other item, which keeps its place', () => {
    const q = new WorkQueue([a(1), a(2), { kind: 'google' }, a(3)]);
    expect(q.takeActivities(20)).toEqual([a(1), a(2)]);
    expect(q.items()).toEqual([{ kind: 'google' }, a(3)]);
    expect(q.takeActivities(20)).toEqual([]);
  });

  it('when passing, takes the waiting activities in their order from wherever they wait, up to the bound', () => {
    const q = new WorkQueue([a(1), { kind: 'google' }, a(2), { kind: 'entity', entity: 'deal', id: 3 }, a(3), a(4)]);
    expect(q.activities).toBe(4);
    expect(q.takeActivities(3, true)).toEqual([a(1), a(2), a(3)]);
    expect(q.items()).toEqual([{ kind: 'google' }, { kind: 'entity', entity: 'deal', id: 3 }, a(4)]);
    expect(q.activities).toBe(1);
  });

  it('peeks at the next item without taking it', () => {
    const q = new WorkQueue([{ kind: 'reconcile' }, a(1)]);
    expect(q.peek()).toEqual({ kind: 'reconcile' });
    expect(q.size).toBe(2);
    expect(new WorkQueue().peek()).toBeUndefined();
  });

  it('puts untried items back at the front, in their order, absorbing copies that arrived meanwhile', () => {
    const q = new WorkQueue([a(1), a(2), a(3), { kind: 'google' }]);
    const taken = q.takeActivities(3, true);
    q.add(a(3)); // a new webhook for 3 while the batch ran
    q.add(a(9));
    q.putBack(taken.slice(1));
    expect(q.items()).toEqual([a(2), a(3), { kind: 'google' }, a(9)]);
  });

  it('leaves the queue as it is when nothing is put back', () => {
    const q = new WorkQueue([{ kind: 'google' }, a(1)]);
    q.putBack([]);
    expect(q.items()).toEqual([{ kind: 'google' }, a(1)]);
  });
});

describe('keyOf', () => {
  it('names a change by what it is about, and housekeeping by its kind', () => {
    expect(keyOf({ kind: 'activity', id: 42 })).toBe('activity:42');
    expect(keyOf({ kind: 'entity', entity: 'organization', id: 9 })).toBe('organization:9');
    expect(keyOf({ kind: 'verify-feeds' })).toBe('verify-feeds');
  });
});

describe('workItemFor', () => {
  it('syncs an activity on any action', () => {
    for (const action of ['create', 'change', 'delete'] as const) {
      expect(workItemFor(change('activity', action, '12'))).toEqual({ kind: 'activity', id: 12 });
    }
  });

  it('refreshes titles only when a deal, person or organization is renamed (changed)', () => {
    expect(workItemFor(change('deal', 'change', '3'))).toEqual({ kind: 'entity', entity: 'deal', id: 3 });
    expect(workItemFor(change('person', 'create', '3'))).toBeNull();
    expect(workItemFor(change('organization', 'delete', '3'))).toBeNull();
  });

  it('ignores other entities and ids that are not positive integers', () => {
    expect(workItemFor(change('note', 'change', '3'))).toBeNull();
    expect(workItemFor(change('activity', 'change', '0'))).toBeNull();
    expect(workItemFor(change('activity', 'change', '1.5'))).toBeNull();
    expect(workItemFor(change('activity', 'change', 'abc'))).toBeNull();
  });
});
