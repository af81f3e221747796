import { describe, expect, it } from 'vitest';
import { parseUploadOptions } from '../../../workflows/upload-options.js';

describe('parseUploadOptions', () => {
  it('accepts nothing as "everything open, Google\'s default quota"', () => {
    expect(parseUploadOptions(undefined)).toEqual({ ok: true, options: {} });
    expect(parseUploadOptions({})).toEqual({ ok: true, options: {} });
  });

  it('keeps exactly the options given', () => {
    expect(
      parseUploadOptions({ from: '2026-01-01', to: '2026-01-31', includeDone: true, quotaPerMinute: 300 }),
    ).toEqual({
      ok: true,
      options: { from: '2026-01-01', to: '2026-01-31', includeDone: true, quotaPerMinute: 300 },
    });
    expect(parseUploadOptions({ to: '2026-03-01' })).toEqual({ ok: true, options: { to: '2026-03-01' } });
  });

  it('refuses what is not an object', () => {
    for (const input of [[], 'from=2026-01-01', 7]) {
      expect(parseUploadOptions(input)).toEqual({ ok: false, errors: ['options must be an object'] });
    }
  });

  it('refuses days that do not exist or are not YYYY-MM-DD', () => {
    expect(parseUploadOptions({ from: '2026-02-31' })).toEqual({
      ok: false,
      errors: ['from must be a date YYYY-MM-DD'],
    });
    expect(parseUploadOptions({ to: '2026-1-5' })).toEqual({ ok: false, errors: ['to must be a date YYYY-MM-DD'] });
    expect(parseUploadOptions({ to: 20260105 })).toEqual({ ok: false, errors: ['to must be a date YYYY-MM-DD'] });
  });

  it('refuses a range that ends before it starts, but not a single day', () => {
    expect(parseUploadOptions({ from: '2026-05-02', to: '2026-05-01' })).toEqual({
      ok: false,
      errors: ['from must not be after to'],
    });
    expect(parseUploadOptions({ from: '2026-05-01', to: '2026-05-01' }).ok).toBe(true);
  });

  it('refuses a quota that is not a whole number from 1 to 1000000', () => {
    for (const quotaPerMinute of [0, -5, 1.5, 1_000_001, '600']) {
      expect(parseUploadOptions({ quotaPerMinute })).toEqual({
        ok: false,
        errors: ['quotaPerMinute must be an integer between 1 and 1000000'],
      });
    }
    expect(parseUploadOptions({ quotaPerMinute: 1 }).ok).toBe(true);
    expect(parseUploadOptions({ quotaPerMinute: 1_000_000 }).ok).toBe(true);
  });

  it('reports every problem at once, unknown options included', () => {
    expect(parseUploadOptions({ since: '2026-01-01', includeDone: 'yes', from: 'soon' })).toEqual({
      ok: false,
      errors: ['unknown option "since"', 'from must be a date YYYY-MM-DD', 'includeDone must be a boolean'],
    });
  });
});
