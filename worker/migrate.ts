/**
 * Applies the database migrations and exits: `npm run migrate`, the Kubernetes migrations Job, or
 * `node dist/worker/migrate.js` in the image. The worker and the web service also migrate at start (under an
 * advisory lock), so this is the explicit step of an upgrade, run before the new version rolls out.
 */
import { migrate } from '../adapters/store/migrate.js';
import { createLogger } from '../lib/logger.js';
import { requireEnv } from '../lib/config.js';

const logger = createLogger({ name: 'migrate' });

migrate(requireEnv('DATABASE_URL'), (msg) => logger.warn(msg)).then(
  (applied) => {
    logger.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
    logger.flush();
  },
  (err: unknown) => {
    logger.error({ err }, 'migrations failed');
    logger.flush();
    process.exitCode = 1;
  },
);
