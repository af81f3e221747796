/**
 * Pipedrive's error envelope. Both API generations answer `success: false` plus a human `error`; v1 adds
 * `errorCode` (the HTTP status) and `error_info`, v2 adds a machine `code`. We send the union so a client
 * written against either generation finds what it looks for.
 */
import { HttpError } from '../shared/http-server.js';

export interface PipedriveErrorBody {
  success: false;
  error: string;
  errorCode: number;
  code: string;
  error_info: string;
  data: null;
  additional_data: null;
}

const CODES: Record<number, string> = {
  400: 'ERR_SCHEMA_VALIDATION_FAILED',
  401: 'ERR_UNAUTHORIZED',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  405: 'ERR_METHOD_NOT_ALLOWED',
  410: 'ERR_GONE',
  429: 'ERR_RATE_LIMIT_EXCEEDED',
  500: 'ERR_INTERNAL',
  502: 'ERR_BAD_GATEWAY',
  503: 'ERR_SERVICE_UNAVAILABLE',
};

export function errorBody(status: number, error: string, info?: string): PipedriveErrorBody {
  return {
    success: false,
    error,
    errorCode: status,
    code: CODES[status] ?? `ERR_${status}`,
    error_info: info ?? 'Please check developers.pipedrive.com for more information about Pipedrive API.',
    data: null,
    additional_data: null,
  };
}

export function pdError(status: number, error: string, headers: Record<string, string> = {}, info?: string): HttpError {
  return new HttpError(status, errorBody(status, error, info), headers);
}

export const badRequest = (message: string) => pdError(400, message);
export const notFound = (what: string) => pdError(404, `${what} not found`);
