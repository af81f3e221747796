/**
 * OAuth scopes (https://pipedrive.readme.io/docs/marketplace-scopes-and-permissions-explanations): an app's
 * access token may call an endpoint only with a scope that covers it; API tokens have the user's full access.
 * `…:full` covers `…:read`. Webhooks need `admin` ("Webhooks … are available only for … the admin scope").
 * The real table covers many more endpoints; this lists those the emulator serves.
 */
import { pdError } from './errors.js';

type Need = readonly string[];

const READ_OR_FULL = (area: string): Need => [`${area}:read`, `${area}:full`];
const FULL = (area: string): Need => [`${area}:full`];

/** Scopes, any one of which admits the route (`"METHOD /pattern"` as the server names routes). */
export function scopesFor(route: string): Need {
  const [method, path = ''] = route.split(' ');
  if (path.startsWith('/v1/webhooks')) return ['admin'];
  if (path === '/v1/users/me') return ['base'];
  if (path === '/v1/activityTypes') return [...READ_OR_FULL('activities'), 'admin'];
  // searchPersons lists `contacts:read`, `contacts:full` and `search:read` (the v2 reference's security block).
  if (method === 'GET' && path === '/api/v2/persons/search') return [...READ_OR_FULL('contacts'), 'search:read'];
  const area = /^\/api\/v2\/(activities|deals|persons|organizations)/.exec(path)?.[1];
  if (!area) return ['base'];
  const scopeArea = area === 'persons' || area === 'organizations' ? 'contacts' : area;
  return method === 'GET' ? READ_OR_FULL(scopeArea) : FULL(scopeArea);
}

/** 403 unless the token's scopes admit the route. Pipedrive answers a missing scope like this (unverified text). */
export function checkScope(route: string, granted: string): void {
  const have = new Set(granted.split(/[,\s]+/).filter(Boolean));
  const need = scopesFor(route);
  if (!need.some((s) => have.has(s))) {
    throw pdError(403, 'Scope and URL mismatch', {}, `This endpoint needs one of the scopes: ${need.join(', ')}`);
  }
}

/** Every scope the emulator knows: the default grant of a user's OAuth app. */
export const ALL_SCOPES = 'base,deals:full,activities:full,contacts:full,admin';
