/**
 * Evaluated once per workflow thread, before any workflow, through the bundler's `preloadModules`
 * (worker/create-worker.ts). What it imports is shared by every workflow in the SDK's reusable V8 context instead of
 * being evaluated again for each one: zod and the settings schema added ~720 KB of heap to every cached workflow.
 *
 * The SDK deep-freezes what a preloaded module exports, and everything reachable from there, so a module belongs here
 * only if it keeps no per-workflow state and none of its exports is written to after loading. zod writes to its own
 * schema objects (properties defined on first use), so no export here may be a zod schema: the settings schema stays
 * inside its module (test/unit/workflows/shared-modules.test.ts). Loading the settings module also builds a schema,
 * which completes zod's global configuration (default locale, memoizer) before the freeze; left to a workflow's
 * first schema, it would write to a frozen object and throw.
 */
import { DEFAULT_SETTINGS } from '../sync-rules/settings.js';

// Used, so the bundler keeps the import (zod is marked free of side effects, and what it leaves out is not shared).
if (DEFAULT_SETTINGS.safetyIntervalSeconds <= 0) throw new Error('the settings module did not load');
