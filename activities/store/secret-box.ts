/**
 * Encryption at rest for credentials (OAuth tokens, API tokens, webhook passwords): AES-256-GCM with a random
 * 96-bit nonce per value. Ciphertexts are `v1.<keyId>.<nonce>.<tag>.<data>` (base64url), so keys can be
 * rotated: the first configured key encrypts, every configured key decrypts, and `needsRotation` tells a
 * re-encryption job which values still use an old key.
 *
 * Keys come from `CALENDAR_SYNC_ENCRYPTION_KEYS` = `id:base64key[,id:base64key…]` (32-byte keys, newest first).
 * The Temporal payload codec (`lib/payload-codec.ts`) uses the same key format and the byte-level
 * `sealBytes`/`openBytes`, with its own keys (`CALENDAR_SYNC_PAYLOAD_KEYS`).
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

  /** Parses `id:base64[,id:base64…]`; `variable` names the setting in error messages. */
  static fromConfig(value: string, variable = 'CALENDAR_SYNC_ENCRYPTION_KEYS'): SecretBox {
    const keys = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const sep = entry.indexOf(':');
        if (sep <= 0) throw new Error(`${variable} entries must look like id:base64key`);
        return { id: entry.slice(0, sep), key: Buffer.from(entry.slice(sep + 1), 'base64') };
      });
    return new SecretBox(keys);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  /** The id of the key that encrypts (the first configured). */
  get activeKeyId(): string {
    return this.keys[0]!.id;
  }

  encrypt(plaintext: string): string {
    const { keyId, nonce, tag, data } = this.seal(Buffer.from(plaintext, 'utf8'));
    return ['v1', keyId, nonce, tag, data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  decrypt(ciphertext: string): string {
    const [version, keyId, nonce, tag, data] = ciphertext.split('.');
    if (version !== 'v1' || !keyId || nonce === undefined || tag === undefined || data === undefined) {
      throw new Error('not a SecretBox ciphertext');
    }
    return this.open(
      keyId,
      Buffer.from(nonce, 'base64url'),
      Buffer.from(tag, 'base64url'),
      Buffer.from(data, 'base64url'),
    ).toString('utf8');
  }

  /**
   * Encrypts bytes with the active key; `sealed` is `nonce(12) ‖ ciphertext ‖ tag(16)` (the layout WebCrypto's
   * AES-GCM uses), and the key id travels separately (e.g. in payload metadata).
   */
  sealBytes(plaintext: Uint8Array): { keyId: string; sealed: Buffer } {
    const { keyId, nonce, tag, data } = this.seal(plaintext);
    return { keyId, sealed: Buffer.concat([nonce, data, tag]) };
  }

  /** Decrypts `sealBytes` output; throws on an unknown key id or any tampering (GCM authentication). */
  openBytes(keyId: string, sealed: Uint8Array): Buffer {
    if (sealed.length < 12 + 16) throw new Error('sealed value is too short');
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    return this.open(keyId, buf.subarray(0, 12), buf.subarray(buf.length - 16), buf.subarray(12, buf.length - 16));
  }

  private seal(plaintext: Uint8Array): { keyId: string; nonce: Buffer; tag: Buffer; data: Buffer } {
    const active = this.keys[0]!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', active.key, nonce);
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: active.id, nonce, tag: cipher.getAuthTag(), data };
  }

  private open(keyId: string, nonce: Buffer, tag: Buffer, data: Buffer): Buffer {
    const key = this.byId.get(keyId);
    if (!key) throw new Error(`ciphertext was encrypted with unknown key "${keyId}"`);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]);
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
