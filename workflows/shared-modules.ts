/**
 * Evaluated once per workflow thread, before any workflow, through the bundler's `preloadModules`
 * (worker/create-worker.ts). What it imports is shared by every workflow in the SDK's reusable V8 context instead of
 * being evaluated again for each one: zod alone added ~700 KB of heap to every cached workflow.
 *
 * The SDK deep-freezes preloaded modules, so only libraries without per-workflow state belong here. Our own modules
 * that build zod schemas stay per workflow: zod defines some properties of a schema lazily, which a frozen schema
 * refuses.
 */
import * as zod from 'zod';

// zod completes its global configuration (default locale, memoizer) when the first schema is built. Built here, before
// the SDK freezes the modules; left to a workflow's first schema, it would write to a frozen object and throw. (The
// import is also used, so the bundler keeps it: zod is marked free of side effects.)
zod.z.object({ s: zod.z.string() });
