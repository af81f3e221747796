/**
 * The options of an upload of unsynced activities, and their one parser: the parent workflow's update validator,
 * the upload itself and the admin API all read options through `parseUploadOptions`.
 */
import type { UploadFilter } from '../sync-rules/upload-filter.js';

export interface UploadOptions extends UploadFilter {
  /** The user's Google quota (requests per minute); Google's default is 600. */
  quotaPerMinute?: number;
}

export const DEFAULT_QUOTA_PER_MINUTE = 600;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Validates the options of an upload (the parent's update validator uses it: bad input starts nothing). */
export function parseUploadOptions(
  input: unknown,
): { ok: true; options: UploadOptions } | { ok: false; errors: string[] } {
  const raw = input ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, errors: ['options must be an object'] };
  const o = raw as Record<string, unknown>;
  const errors: string[] = [];
  for (const key of Object.keys(o)) {
    if (!['from', 'to', 'includeDone', 'quotaPerMinute'].includes(key)) errors.push(`unknown option "${key}"`);
  }
  const day = (key: 'from' | 'to') => {
    const v = o[key];
    if (v === undefined) return;
    const time = typeof v === 'string' && DAY.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
    // Date.parse accepts 2026-02-31 (as March 3rd): the day must read back the same.
    if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== v) {
      errors.push(`${key} must be a date YYYY-MM-DD`);
    }
  };
  day('from');
  day('to');
  if (typeof o.from === 'string' && typeof o.to === 'string' && errors.length === 0 && o.from > o.to) {
    errors.push('from must not be after to');
  }
  if (o.includeDone !== undefined && typeof o.includeDone !== 'boolean') errors.push('includeDone must be a boolean');
  const q = o.quotaPerMinute;
  if (q !== undefined && (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 1_000_000)) {
    errors.push('quotaPerMinute must be an integer between 1 and 1000000');
  }
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    options: {
      ...(o.from !== undefined ? { from: o.from as string } : {}),
      ...(o.to !== undefined ? { to: o.to as string } : {}),
      ...(o.includeDone !== undefined ? { includeDone: o.includeDone as boolean } : {}),
      ...(q !== undefined ? { quotaPerMinute: q as number } : {}),
    },
  };
}
