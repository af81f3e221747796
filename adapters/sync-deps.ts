/**
 * The activities' dependencies from the environment: the database, the credential encryption keys, and the
 * Google and Pipedrive OAuth apps (endpoints overridable, which is how the sandbox and tests use the emulators).
 */
import { DEFAULT_FEEDS, type SyncDeps } from '../activities/sync/context.js';
import { createPool } from './store/pool.js';
import { SecretBox } from '../lib/secret-box.js';
import { EncryptionCodec, PAYLOAD_KEYS_VARIABLE } from '../lib/payload-codec.js';
import { requireEnv } from '../lib/config.js';

export function secretBoxFromEnv(env: NodeJS.ProcessEnv = process.env): SecretBox {
  return SecretBox.fromConfig(requireEnv('CALENDAR_SYNC_ENCRYPTION_KEYS', env));
}

/**
 * The Temporal payload codec's keys (`CALENDAR_SYNC_PAYLOAD_KEYS`, same format as the credential keys but
 * separate keys). Required: a worker or client without it would write personal data to Temporal in clear.
 */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodec {
  return EncryptionCodec.fromConfig(requireEnv(PAYLOAD_KEYS_VARIABLE, env));
}

export function syncDepsFromEnv(env: NodeJS.ProcessEnv = process.env): SyncDeps {
  return {
    db: createPool(requireEnv('DATABASE_URL', env), { max: Number(env.DATABASE_POOL_SIZE ?? 10) }),
    secrets: secretBoxFromEnv(env),
    feeds: {
      publicUrl: (env.PUBLIC_URL ?? 'http://localhost:3000').replace(/\/+$/, ''),
      channelTtlSeconds: Number(env.GOOGLE_CHANNEL_TTL_SECONDS ?? DEFAULT_FEEDS.channelTtlSeconds),
      channelRenewMarginSeconds: Number(
        env.GOOGLE_CHANNEL_RENEW_MARGIN_SECONDS ?? DEFAULT_FEEDS.channelRenewMarginSeconds,
      ),
      deletionSweepSeconds: Number(env.PIPEDRIVE_DELETION_SWEEP_SECONDS ?? DEFAULT_FEEDS.deletionSweepSeconds),
    },
    google: {
      clientId: requireEnv('GOOGLE_CLIENT_ID', env),
      clientSecret: requireEnv('GOOGLE_CLIENT_SECRET', env),
      rootUrl: env.GOOGLE_API_ROOT_URL || undefined,
      tokenUrl: env.GOOGLE_OAUTH_TOKEN_URL || undefined,
      authUrl: env.GOOGLE_OAUTH_AUTH_URL || undefined,
      redirectUri: env.GOOGLE_OAUTH_REDIRECT_URI || undefined,
    },
    pipedrive: {
      clientId: env.PIPEDRIVE_CLIENT_ID ?? '',
      clientSecret: env.PIPEDRIVE_CLIENT_SECRET ?? '',
      tokenUrl: env.PIPEDRIVE_OAUTH_TOKEN_URL || 'https://oauth.pipedrive.com/oauth/token',
      authorizeUrl: env.PIPEDRIVE_OAUTH_AUTHORIZE_URL || 'https://oauth.pipedrive.com/oauth/authorize',
    },
  };
}
