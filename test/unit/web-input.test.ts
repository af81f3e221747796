/** The web service's pure input rules: JSON depth, Pipedrive API domains, webhook meta normalisation. */
import { describe, expect, it } from 'vitest';
import { allowedApiOriginsFromEnv, trustedApiDomain } from '../../client/http/pipedrive-api-domain.js';
import { storedMeta, webhookV2Schema } from '../../adapters/pipedrive/webhook-schema.js';
import { resultOfStatus } from '../../client/http/pipedrive-webhook.js';
import { jsonDepth, parseJsonBody } from '../../client/http/request-body.js';

describe('jsonDepth', () => {
  it('counts nesting, ignoring brackets inside strings and escaped quotes', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonDepth('{"a":"[[[[\\"{{{{"}')).toBe(1);
    expect(() => parseJsonBody('['.repeat(33) + ']'.repeat(33))).toThrow(/nested deeper/);
    expect(parseJsonBody('['.repeat(32) + ']'.repeat(32))).toBeDefined();
    expect(parseJsonBody('  ')).toBeUndefined();
    expect(() => parseJsonBody('{"a":')).toThrow(/malformed/);
  });
});

describe('trustedApiDomain', () => {
  it('accepts https company hosts of pipedrive.com only, as a bare origin', () => {
    expect(trustedApiDomain('https://acme.pipedrive.com')).toBe('https://acme.pipedrive.com');
    expect(trustedApiDomain(' https://my-co.pipedrive.com/ ')).toBe('https://my-co.pipedrive.com');
    for (const bad of [
      'http://acme.pipedrive.com',
      'https://pipedrive.com',
      'https://a.b.pipedrive.com',
      'https://acme.pipedrive.com.evil.example',
      'https://acme.pipedrive.com:444',
      'https://u:p@acme.pipedrive.com',
      'https://acme.pipedrive.com/v1',
      'https://acme.pipedrive.com/?x',
      'https://-acme.pipedrive.com',
      'javascript:alert(1)',
      'not a url',
      'http://127.0.0.1:8080',
    ]) {
      expect(trustedApiDomain(bad), bad).toBeNull();
    }
  });

  it('accepts a listed origin exactly, and the list must hold origins', () => {
    const allowed = allowedApiOriginsFromEnv('http://127.0.0.1:1234, http://localhost:99');
    expect(allowed).toEqual(['http://127.0.0.1:1234', 'http://localhost:99']);
    expect(trustedApiDomain('http://127.0.0.1:1234', allowed)).toBe('http://127.0.0.1:1234');
    expect(trustedApiDomain('http://127.0.0.1:1235', allowed)).toBeNull();
    expect(() => allowedApiOriginsFromEnv('http://127.0.0.1:1234/api')).toThrow(/not an origin/);
    expect(allowedApiOriginsFromEnv(undefined)).toEqual([]);
  });
});

describe('webhook meta', () => {
  const parse = (body: unknown) => storedMeta(webhookV2Schema.parse(body));

  it('keeps only the documented fields and normalises the timestamp to ISO 8601', () => {
    const meta = parse({
      meta: { action: 'change', entity: 'activity', entity_id: 7, id: 'x', timestamp: 1764600000, evil: 'y' },
      data: null,
    });
    expect(meta).toEqual({
      action: 'change',
      entity: 'activity',
      entity_id: '7',
      id: 'x',
      timestamp: '2025-12-01T14:40:00.000Z',
    });
    expect(
      parse({ meta: { action: 'create', entity: 'deal', entity_id: '1', id: 'y', timestamp: 'garbage' } }),
    ).not.toHaveProperty('timestamp');
  });

  it('returns null for what the sync does not handle', () => {
    expect(parse({ meta: { action: 'merge', entity: 'activity', entity_id: '1', id: 'z' } })).toBeNull();
    expect(parse({ meta: { action: 'change', entity: 'activity', id: 'z' } })).toBeNull();
  });

  it('maps answers to metric results', () => {
    expect([200, 401, 400, 413, 415, 503].map(resultOfStatus)).toEqual([
      'accepted',
      'unauthorized',
      'invalid',
      'invalid',
      'invalid',
      'unavailable',
    ]);
  });
});
