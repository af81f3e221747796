/** What the user-facing part of the HTTP server (OAuth, settings page) needs besides the ingress. */
import type { SyncDeps } from '../../adapters/sync-deps.js';

export interface WebConfig {
  /** The same dependencies the worker's activities get: store, encryption, both OAuth apps. */
  deps: SyncDeps;
  /** Public origin of this server (OAuth redirect URIs), e.g. https://sync.example.com */
  publicUrl: string;
  /** Signs session cookies and CSRF tokens (sessions themselves live in Postgres). */
  sessionSecret: Buffer;
  /** Google login hint for the consent screen (the sandbox passes its demo user). */
  googleLoginHint?: string;
  /**
   * Origins accepted as a Pipedrive API domain besides `https://<company>.pipedrive.com` — the emulators in the
   * sandbox and tests (`PIPEDRIVE_ALLOWED_API_ORIGINS`). Never set in production.
   */
  allowedPipedriveApiOrigins?: string[];
}
