/**
 * Applies the versioned SQL migrations in `migrations/` with node-pg-migrate. Each file has an
 * `-- Up Migration` and a `-- Down Migration` section; applied versions are recorded in `pgmigrations`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

/** `migrations/` at the package root, found from here both in the source tree and in a compiled `dist/`. */
export const migrationsDir = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package root not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return path.join(dir, 'migrations');
})();

export async function migrate(databaseUrl: string, log: (msg: string) => void = () => {}): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    singleTransaction: true,
    // advisory lock: two processes (worker and HTTP server) may start at once
    noLock: false,
    log: () => {},
    logger: { debug: () => {}, info: () => {}, warn: (m: string) => log(m), error: (m: string) => log(m) },
  });
  return applied.map((m) => m.name);
}
