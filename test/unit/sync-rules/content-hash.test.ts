import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  activityToSyncedFields,
  canonicalJson,
  contentHash,
  type SyncedFields,
} from '../../../sync-rules/index.js';
import { activities, names } from './arbitraries.js';

const fields: SyncedFields = {
  subject: 'Demo',
  title: 'Demo',
  start: { dateTime: '2026-05-04T09:30:00Z' },
  end: { dateTime: '2026-05-04T10:30:00Z' },
  description: '',
  location: '',
  busy: true,
  attendees: ['a@x.com'],
  private: false,
};

describe('contentHash', () => {
  it('is 32 lower-case hex characters', () => {
    expect(contentHash(fields)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('does not depend on the order of keys', () => {
    const reordered = Object.fromEntries(Object.entries(fields).reverse()) as unknown as SyncedFields;
    expect(contentHash(reordered)).toBe(contentHash(fields));
  });

  it('changes when any single field changes', () => {
    const variants: SyncedFields[] = [
      { ...fields, subject: 'Demo!' },
      { ...fields, title: 'D > Demo' },
      { ...fields, start: { dateTime: '2026-05-04T09:31:00Z' } },
      { ...fields, end: { date: '2026-05-05' } },
      { ...fields, description: 'x' },
      { ...fields, location: 'x' },
      { ...fields, busy: false },
      { ...fields, attendees: [] },
      { ...fields, private: true },
    ];
    for (const variant of variants) expect(contentHash(variant)).not.toBe(contentHash(fields));
  });

  it('is equal for equal content built separately', () => {
    fc.assert(
      fc.property(activities, names, (a, linked) => {
        const ctx = { names: linked, settings: DEFAULT_SETTINGS };
        expect(contentHash(activityToSyncedFields(structuredClone(a), ctx))).toBe(
          contentHash(activityToSyncedFields(a, ctx)),
        );
      }),
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: [2, 1], a: { d: 1, c: null } })).toBe('{"a":{"c":null,"d":1},"b":[2,1]}');
  });
});
