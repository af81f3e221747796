/**
 * The activities' dependencies from the environment: the database, the credential encryption keys, and the
 * Google and Pipedrive OAuth apps (endpoints overridable, which is how the sandbox and tests use the emulators).
 */
import type pg from 'pg';
import type { GoogleAppConfig } from './google/calendar-api.js';
import { createPool } from './store/pool.js';
import { SecretBox } from '../lib/secret-box.js';
import { EncryptionCodec, PAYLOAD_KEYS_VARIABLE } from '../lib/payload-codec.js';
import { requireEnv } from '../lib/config.js';

export interface PipedriveAppConfig {
  clientId: string;
  clientSecret: string;
  /** OAuth token endpoint (https://oauth.pipedrive.com/oauth/token, or the emulator's). */
  tokenUrl: string;
  /** OAuth authorize endpoint. */
  authorizeUrl?: string;
}

/** API calls made, by side and route: benchmarks report calls per change from these. */
export type ApiCallObserver = (side: 'google' | 'pipedrive', route: string, status: number) => void;

/** How the outside world reaches our HTTP server, and the Google channel lifetimes. */
export interface FeedConfig {
  /**
   * Public origin of the HTTP server, e.g. https://sync.example.com (webhook and push addresses). Without one,
   * nothing can reach us: no webhooks or channels are registered and only the safety-net polling runs. From the
   * environment (`syncDepsFromEnv`) it defaults to `http://localhost:3000`, the sandbox's web service.
   */
  publicUrl?: string;
  /** Requested channel lifetime; Google's default and maximum for calendars is 7 days. */
  channelTtlSeconds: number;
  /** Renew this long before a channel expires. */
  channelRenewMarginSeconds: number;
  /** How often the Pipedrive safety net checks that every linked activity still exists (see feeds/reconcile.ts). */
  deletionSweepSeconds: number;
  /** The longest the deletion sweep backs off to while it finds nothing (activities/feeds/deletion-sweep.ts). */
  deletionSweepBoundSeconds: number;
}

export const DEFAULT_FEEDS: Omit<FeedConfig, 'publicUrl'> = {
  channelTtlSeconds: 7 * 24 * 3600,
  channelRenewMarginSeconds: 12 * 3600,
  deletionSweepSeconds: 3600,
  deletionSweepBoundSeconds: 24 * 3600,
};

export interface SyncDeps {
  db: pg.Pool;
  feeds: FeedConfig;
  secrets: SecretBox;
  google: GoogleAppConfig;
  pipedrive: PipedriveAppConfig;
  onApiCall?: ApiCallObserver;
  /** Fault injection for the crash tests: called at named points between side effects. */
  crashPoint?: (name: CrashPoint) => void;
  /** Events moved per call after a calendar switch (default `RELOCATE_BATCH`; tests lower it). */
  relocateBatch?: number;
  /** How long to wait after Google's 403 `dailyLimitExceeded` (default `DAILY_LIMIT_RETRY_MS`; tests lower it). */
  googleDailyLimitRetryMs?: number;
}

export type CrashPoint =
  | 'after-pipedrive-create'
  | 'after-google-insert'
  | 'after-google-move'
  | 'before-google-watch'
  | 'after-person-create'
  /** A Google pull applied a page of several and has not saved its position yet. */
  | 'before-pull-position';

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
      deletionSweepBoundSeconds: Number(
        env.PIPEDRIVE_DELETION_SWEEP_BOUND_SECONDS ?? DEFAULT_FEEDS.deletionSweepBoundSeconds,
      ),
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
