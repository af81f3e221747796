/** What the user-facing part of the HTTP server (OAuth, settings page) needs besides the ingress. */
import type { SyncDeps } from '../../activities/sync/context.js';

export interface WebConfig {
  /** The same dependencies the worker's activities get: store, encryption, both OAuth apps. */
  deps: SyncDeps;
  /** Public origin of this server (OAuth redirect URIs), e.g. https://sync.example.com */
  publicUrl: string;
  /** Signs session cookies, CSRF tokens and OAuth state. */
  sessionSecret: Buffer;
  /** Google login hint for the consent screen (the sandbox passes its demo user). */
  googleLoginHint?: string;
}
