/**
 * Encryption at rest for credentials (OAuth tokens, API tokens, webhook passwords): AES-256-GCM with a random
 * 96-bit nonce per value. Ciphertexts are `v1.<keyId>.<nonce>.<tag>.<data>` (base64url), so keys can be
 * rotated: the first configured key encrypts, every configured key decrypts, and `needsRotation` tells a
 * re-encryption job which values still use an old key.
 *
 * Keys come from `CALENDAR_SYNC_ENCRYPTION_KEYS` = `id:base64key[,id:base64key…]` (32-byte keys, newest first).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export class SecretBox {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: EncryptionKey[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`encryption key "${k.id}" must be 32 bytes, got ${k.key.length}`);
      if (!/^[A-Za-z0-9_-]+$/.test(k.id)) throw new Error(`encryption key id "${k.id}" must be [A-Za-z0-9_-]+`);
    }
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Parses `id:base64[,id:base64…]`. */
  static fromConfig(value: string): SecretBox {
    const keys = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const sep = entry.indexOf(':');
        if (sep <= 0) throw new Error('CALENDAR_SYNC_ENCRYPTION_KEYS entries must look like id:base64key');
        return { id: entry.slice(0, sep), key: Buffer.from(entry.slice(sep + 1), 'base64') };
      });
    return new SecretBox(keys);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  encrypt(plaintext: string): string {
    const active = this.keys[0]!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', active.key, nonce);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', active.id, nonce, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(ciphertext: string): string {
    const [version, keyId, nonce, tag, data] = ciphertext.split('.');
    if (version !== 'v1' || !keyId || nonce === undefined || tag === undefined || data === undefined) {
      throw new Error('not a SecretBox ciphertext');
    }
    const key = this.byId.get(keyId);
    if (!key) throw new Error(`ciphertext was encrypted with unknown key "${keyId}"`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  encryptJson(value: unknown): string {
    return this.encrypt(JSON.stringify(value));
  }

  decryptJson<T>(ciphertext: string): T {
    return JSON.parse(this.decrypt(ciphertext)) as T;
  }

  /** True when the value is encrypted with a key other than the active one. */
  needsRotation(ciphertext: string): boolean {
    return ciphertext.split('.')[1] !== this.keys[0]!.id;
  }
}
