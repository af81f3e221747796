/**
 * Which hosts the server will send a user's Pipedrive credentials to. Pipedrive's API domain is always
 * `https://<company>.pipedrive.com` (the OAuth token answer's `api_domain`, or what a user types on the
 * API-token form); anything else would make us send authenticated requests — and a webhook password — to a
 * host of the requester's choosing, and trust the user/company ids it answers. Other origins (the emulators)
 * are accepted only when listed explicitly (`PIPEDRIVE_ALLOWED_API_ORIGINS`), which the sandbox and the tests
 * do and production never should.
 */

/** A company subdomain of pipedrive.com: a DNS label, nothing else (no port, path, credentials or query). */
const PIPEDRIVE_HOST = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.pipedrive\.com$/;

/** Parses `PIPEDRIVE_ALLOWED_API_ORIGINS` (comma-separated origins) into normalised origins. */
export function allowedApiOriginsFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const url = new URL(s);
      if (url.origin !== s.replace(/\/+$/, ''))
        throw new Error(`PIPEDRIVE_ALLOWED_API_ORIGINS: "${s}" is not an origin`);
      return url.origin;
    });
}

/**
 * The API domain as an origin (`https://acme.pipedrive.com`) when it is a Pipedrive company host or one of the
 * explicitly allowed origins; `null` for anything else.
 */
export function trustedApiDomain(input: string, allowedOrigins: readonly string[] = []): string | null {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return null;
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    return null;
  }
  if (allowedOrigins.includes(url.origin)) return url.origin;
  if (url.protocol !== 'https:' || url.port !== '' || !PIPEDRIVE_HOST.test(url.hostname)) return null;
  return url.origin;
}
