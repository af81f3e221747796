#!/usr/bin/env node
// The `calendar-sync` admin CLI. In a built install (the image, or after `npm run build`) it runs the compiled
// CLI from dist/; in a repository checkout after `npm ci` it runs the TypeScript source through tsx, so the
// command works without a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/client/cli/main.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('calendar-sync: run `npm ci` (the CLI runs from source through tsx) or `npm run build` first.');
    process.exit(1);
  }
  register();
  await import(new URL('../client/cli/main.ts', import.meta.url).href);
}
