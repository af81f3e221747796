/**
 * A credential ciphertext in the first format (`v1`: AES-256-GCM without associated data), as releases before
 * row-bound ciphertexts wrote it — what an upgraded deployment still has in its database.
 */
import { createCipheriv, randomBytes } from 'node:crypto';

export function legacyV1Ciphertext(keyId: string, key: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    'v1',
    keyId,
    nonce.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    data.toString('base64url'),
  ].join('.');
}
