/**
 * Google's JSON error envelope, as documented on "Handle API errors" for Calendar API v3:
 * `{"error":{"code","message","errors":[{domain,reason,message,locationType?,location?}],"status"}}`.
 * Every failure the emulator answers on `/calendar/v3/...` goes through here so the shape never drifts.
 */
import { HttpError } from '../shared/http-server.js';

/** Canonical status strings Google adds next to `code` (google.rpc.Code names). */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export interface ErrorDetail {
  domain?: string;
  reason: string;
  message: string;
  locationType?: 'header' | 'parameter';
  location?: string;
}

export function googleErrorBody(code: number, detail: ErrorDetail): unknown {
  const status = STATUS_NAMES[code];
  return {
    error: {
      code,
      message: detail.message,
      errors: [{ ...detail, domain: detail.domain ?? 'global' }],
      ...(status ? { status } : {}),
    },
  };
}

export function googleError(code: number, detail: ErrorDetail, headers: Record<string, string> = {}): HttpError {
  return new HttpError(code, googleErrorBody(code, detail), headers);
}

// The errors the API documents, one constructor each so call sites read like the docs.
export const errors = {
  badRequest: (message: string, reason = 'invalid', location?: string) =>
    googleError(400, { reason, message, ...(location ? { locationType: 'parameter' as const, location } : {}) }),
  required: (message: string) => googleError(400, { reason: 'required', message }),
  timeRangeEmpty: (location: string) =>
    googleError(400, {
      domain: 'calendar',
      reason: 'timeRangeEmpty',
      message: 'The specified time range is empty.',
      locationType: 'parameter',
      location,
    }),
  authError: () =>
    googleError(401, {
      reason: 'authError',
      message: 'Invalid Credentials',
      locationType: 'header',
      location: 'Authorization',
    }),
  notFound: () => googleError(404, { reason: 'notFound', message: 'Not Found' }),
  duplicate: () => googleError(409, { reason: 'duplicate', message: 'The requested identifier already exists.' }),
  cannotChangeOrganizerOfInstance: () =>
    googleError(400, {
      reason: 'cannotChangeOrganizerOfInstance',
      message: 'Cannot change the organizer of an instance.',
    }),
  forbiddenForNonOrganizer: () =>
    googleError(403, {
      domain: 'calendar',
      reason: 'forbiddenForNonOrganizer',
      message: 'Shared properties can only be changed by the organizer of the event.',
    }),
  webhookUrlNotHttps: (address: string) =>
    googleError(400, { reason: 'push.webhookUrlNotHttps', message: `WebHook callback must be HTTPS: ${address}` }),
  deleted: () => googleError(410, { reason: 'deleted', message: 'Resource has been deleted' }),
  fullSyncRequired: () =>
    googleError(410, {
      reason: 'fullSyncRequired',
      message: 'Sync token is no longer valid, a full sync is required.',
      locationType: 'parameter',
      location: 'syncToken',
    }),
  conditionNotMet: () =>
    googleError(412, {
      reason: 'conditionNotMet',
      message: 'Precondition Failed',
      locationType: 'header',
      location: 'If-Match',
    }),
  requiredAccessLevel: () =>
    googleError(403, {
      domain: 'calendar',
      reason: 'requiredAccessLevel',
      message: 'You need to have writer access to this calendar.',
    }),
  rateLimit: (kind: '403-rate' | '403-user' | '429') =>
    kind === '403-user'
      ? googleError(403, {
          domain: 'usageLimits',
          reason: 'userRateLimitExceeded',
          message: 'User Rate Limit Exceeded',
        })
      : kind === '403-rate'
        ? googleError(403, { domain: 'usageLimits', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' })
        : googleError(429, { domain: 'usageLimits', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' }),
  dailyLimitExceeded: () =>
    googleError(403, { domain: 'usageLimits', reason: 'dailyLimitExceeded', message: 'Daily Limit Exceeded' }),
  backendError: () => googleError(500, { reason: 'backendError', message: 'Backend Error' }),
  unavailable: () => googleError(503, { reason: 'backendError', message: 'The service is currently unavailable.' }),
};

/** The error an injected fault of HTTP status `status` answers with, in the shape the real API uses for it. */
export function injectedError(status: number): HttpError {
  switch (status) {
    case 429:
      return errors.rateLimit('429');
    case 403:
      return errors.rateLimit('403-rate');
    case 503:
      return errors.unavailable();
    case 500:
      return errors.backendError();
    default:
      return googleError(status, { reason: 'backendError', message: `Injected error ${status}` });
  }
}
