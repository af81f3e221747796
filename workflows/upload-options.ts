/**
 * The options of an upload of unsynced activities, and their one parser: the parent workflow's update validator,
 * the upload itself and the admin API all read options through `parseUploadOptions`.
 */
import type { UploadFilter } from '../sync-rules/upload-filter.js';
import type { Checked, ValidationIssue } from '../sync-rules/validation.js';

export interface UploadOptions extends UploadFilter {
  /** The user's Google quota (requests per minute); Google's default is 600. */
  quotaPerMinute?: number;
}

export const DEFAULT_QUOTA_PER_MINUTE = 600;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Validates the options of an upload (the parent's update validator uses it: bad input starts nothing). */
export function checkUploadOptions(input: unknown): Checked<UploadOptions> {
  const raw = input ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, issues: [{ path: [], message: 'options must be an object' }] };
  }
  const o = raw as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  const problem = (key: string, message: string) => issues.push({ path: [key], message });
  for (const key of Object.keys(o)) {
    if (!['from', 'to', 'includeDone', 'quotaPerMinute'].includes(key)) problem(key, `unknown option "${key}"`);
  }
  const day = (key: 'from' | 'to') => {
    const v = o[key];
    if (v === undefined) return;
    const time = typeof v === 'string' && DAY.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
    // Date.parse accepts 2026-02-31 (as March 3rd): the day must read back the same.
    if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== v) {
      problem(key, `${key} must be a date YYYY-MM-DD`);
    }
  };
  day('from');
  day('to');
  if (typeof o.from === 'string' && typeof o.to === 'string' && issues.length === 0 && o.from > o.to) {
    problem('from', 'from must not be after to');
  }
  if (o.includeDone !== undefined && typeof o.includeDone !== 'boolean') {
    problem('includeDone', 'includeDone must be a boolean');
  }
  const q = o.quotaPerMinute;
  if (q !== undefined && (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 1_000_000)) {
    problem('quotaPerMinute', 'quotaPerMinute must be an integer between 1 and 1000000');
  }
  if (issues.length) return { ok: false, issues };
  return {
    ok: true,
    value: {
      ...(o.from !== undefined ? { from: o.from as string } : {}),
      ...(o.to !== undefined ? { to: o.to as string } : {}),
      ...(o.includeDone !== undefined ? { includeDone: o.includeDone as boolean } : {}),
      ...(q !== undefined ? { quotaPerMinute: q as number } : {}),
    },
  };
}

/** `checkUploadOptions` with the issues as lines. */
export function parseUploadOptions(
  input: unknown,
): { ok: true; options: UploadOptions } | { ok: false; errors: string[] } {
  const checked = checkUploadOptions(input);
  return checked.ok
    ? { ok: true, options: checked.value }
    : { ok: false, errors: checked.issues.map((i) => i.message) };
}
