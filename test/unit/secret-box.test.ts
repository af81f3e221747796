import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError, secretContext } from '../../lib/secret-box.js';
import { legacyV1Ciphertext } from '../support/legacy-ciphertext.js';

const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };
const rowA = secretContext('connection_credentials', 'ciphertext', 'pipedrive', 'conn-a');
const rowB = secretContext('connection_credentials', 'ciphertext', 'pipedrive', 'conn-b');

describe('SecretBox', () => {
  it('decrypts a value for the context it was encrypted for', () => {
    const box = new SecretBox([k1]);
    const sealed = box.encrypt('api-token-of-a', rowA);
    expect(sealed.startsWith('v2.k1.')).toBe(true);
    expect(box.decrypt(sealed, rowA)).toBe('api-token-of-a');
    expect(box.needsReseal(sealed)).toBe(false);
  });

  it('refuses a value moved to another row, with an error that says so', () => {
    const box = new SecretBox([k1]);
    const sealed = box.encrypt('api-token-of-a', rowA);
    expect(() => box.decrypt(sealed, rowB)).toThrow(SecretBoxError);
    expect(() => box.decrypt(sealed, rowB)).toThrow(
      /does not belong to connection_credentials:ciphertext:pipedrive:conn-b/,
    );
    const otherColumn = secretContext('connection_credentials', 'other', 'pipedrive', 'conn-a');
    expect(() => box.decrypt(sealed, otherColumn)).toThrow(SecretBoxError);
  });

  it('refuses an altered value', () => {
    const box = new SecretBox([k1]);
    const parts = box.encrypt('secret', rowA).split('.');
    const data = Buffer.from(parts[4]!, 'base64url');
    data[0] = data[0]! ^ 1;
    parts[4] = data.toString('base64url');
    expect(() => box.decrypt(parts.join('.'), rowA)).toThrow(SecretBoxError);
  });

  it('still decrypts values written before contexts (v1) and asks for them to be sealed again', () => {
    const box = new SecretBox([k1]);
    const legacy = legacyV1Ciphertext('k1', k1.key, 'old-token');
    expect(box.decrypt(legacy, rowA)).toBe('old-token');
    expect(box.needsReseal(legacy)).toBe(true);
    const resealed = box.encrypt(box.decrypt(legacy, rowA), rowA);
    expect(box.needsReseal(resealed)).toBe(false);
    expect(() => box.decrypt(resealed, rowB)).toThrow(SecretBoxError);
  });

  it('asks for a value under an old key to be sealed again, and decrypts it meanwhile', () => {
    const old = new SecretBox([k1]).encrypt('x', rowA);
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.decrypt(old, rowA)).toBe('x');
    expect(rotated.needsReseal(old)).toBe(true);
    expect(() => new SecretBox([k2]).decrypt(old, rowA)).toThrow(/unknown key "k1"/);
  });

  it('rejects what is not one of its ciphertexts', () => {
    const box = new SecretBox([k1]);
    expect(() => box.decrypt('v3.k1.a.b.c', rowA)).toThrow(/not a SecretBox ciphertext/);
    expect(() => box.decrypt('plain text', rowA)).toThrow(/not a SecretBox ciphertext/);
  });

  it('builds contexts that two places cannot share', () => {
    expect(secretContext('t', 'c', 'p', 'id:with:colons')).toBe('t:c:p:id:with:colons');
    expect(() => secretContext('t', 'c', 'p:x', 'id')).toThrow(/must not contain ":"/);
  });
});
