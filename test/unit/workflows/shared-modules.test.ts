/**
 * The modules workflows/shared-modules.ts preloads are deep-frozen by the SDK and shared by every workflow: none of
 * their exports may be a zod schema (zod defines properties on its schemas on first use, which a frozen schema
 * refuses, failing every workflow that validates settings).
 */
import { describe, expect, it } from 'vitest';
import * as settings from '../../../sync-rules/settings.js';
import * as titleTemplate from '../../../sync-rules/title-template.js';
import * as validation from '../../../sync-rules/validation.js';

/** Paths of the zod schemas reachable from `value` through own properties (as the SDK's freeze walks them). */
function schemasIn(value: unknown, at: string, seen = new Set<unknown>()): string[] {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return [];
  seen.add(value);
  if ('_zod' in (value as object)) return [at];
  if (typeof value === 'function') return [];
  return Object.entries(value as object).flatMap(([k, v]) => schemasIn(v, `${at}.${k}`, seen));
}

describe('modules preloaded into the shared workflow context', () => {
  it.each([
    ['sync-rules/settings', settings],
    ['sync-rules/title-template', titleTemplate],
    ['sync-rules/validation', validation],
  ])('%s exports no zod schema', (name, module) => {
    expect(schemasIn({ ...module }, name)).toEqual([]);
  });
});
