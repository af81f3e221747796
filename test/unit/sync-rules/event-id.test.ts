import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32hex, eventIdFor, isValidEventId } from '../../../sync-rules/index.js';

describe('eventIdFor', () => {
  it('returns the same id for the same connection and activity', () => {
    expect(eventIdFor('conn-1', 42)).toBe(eventIdFor('conn-1', 42));
  });

  it('returns different ids for different activities of one connection', () => {
    expect(eventIdFor('conn-1', 42)).not.toBe(eventIdFor('conn-1', 43));
  });

  it('returns different ids for the same activity id in different connections', () => {
    expect(eventIdFor('conn-1', 42)).not.toBe(eventIdFor('conn-2', 42));
  });

  it('does not confuse connection and activity boundaries', () => {
    expect(eventIdFor('conn-1', 23)).not.toBe(eventIdFor('conn-12', 3));
  });

  it('returns a fresh id for a new generation because Google never reuses a deleted id', () => {
    expect(eventIdFor('conn-1', 42, 1)).not.toBe(eventIdFor('conn-1', 42, 0));
  });

  it('always produces a valid Google event id (base32hex, 5 to 1024 characters)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.integer({ min: 1 }),
        fc.nat(),
        (connection, activity, generation) => {
          const id = eventIdFor(connection, activity, generation);
          expect(id).toMatch(/^[a-v0-9]+$/);
          expect(id.length).toBeGreaterThanOrEqual(5);
          expect(id.length).toBeLessThanOrEqual(1024);
          expect(isValidEventId(id)).toBe(true);
        },
      ),
    );
  });
});

describe('base32hex', () => {
  it('encodes the RFC 4648 test vectors in lower case without padding', () => {
    const enc = (s: string) => base32hex(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('co');
    expect(enc('fo')).toBe('cpng');
    expect(enc('foo')).toBe('cpnmu');
    expect(enc('foob')).toBe('cpnmuog');
    expect(enc('fooba')).toBe('cpnmuoj1');
    expect(enc('foobar')).toBe('cpnmuoj1e8');
  });
});
