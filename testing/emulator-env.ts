/**
 * The environment that points a production process (the worker, the web service), configured as deployed, at the
 * API emulators instead of Google and Pipedrive.
 */
import type { GoogleEmulator } from '../emulators/google/index.js';
import type { PipedriveEmulator } from '../emulators/pipedrive/index.js';

export function emulatorEnv(google: GoogleEmulator, pipedrive: PipedriveEmulator): Record<string, string> {
  return {
    GOOGLE_CLIENT_ID: google.oauthClient.clientId,
    GOOGLE_CLIENT_SECRET: google.oauthClient.clientSecret,
    GOOGLE_API_ROOT_URL: `${google.url}/`,
    GOOGLE_OAUTH_TOKEN_URL: google.tokenUrl,
    GOOGLE_OAUTH_AUTH_URL: google.authUrl,
    PIPEDRIVE_OAUTH_TOKEN_URL: `${pipedrive.oauthUrl}/oauth/token`,
    // The emulator is no `https://<company>.pipedrive.com`: only this explicit setting lets the web service accept it.
    PIPEDRIVE_ALLOWED_API_ORIGINS: pipedrive.url,
  };
}
