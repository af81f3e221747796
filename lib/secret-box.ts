/**
 * Encryption at rest for credentials (OAuth tokens, API tokens, webhook passwords): AES-256-GCM with a random
 * 96-bit nonce per value, bound to where the value is stored (table, column, row) as associated data.
 * Ciphertexts are `v2.<keyId>.<nonce>.<tag>.<data>` (base64url), so keys can be rotated: the first configured
 * key encrypts, every configured key decrypts, and `needsReseal` tells the store which values to write again
 * (an old key, or the older `v1` format that had no associated data).
 *
 * Keys come from `CALENDAR_SYNC_ENCRYPTION_KEYS` = `id:base64key[,id:base64key…]` (32-byte keys, newest first).
 * The Temporal payload codec (`lib/payload-codec.ts`) uses the same key format and the byte-level
 * `sealBytes`/`openBytes`, with its own keys (`CALENDAR_SYNC_PAYLOAD_KEYS`).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** `v1`: no associated data (read only); `v2`: bound to its storage context. */
const CURRENT = 'v2';
const VERSIONS = new Set(['v1', CURRENT]);

/** A stored secret that cannot be decrypted (wrong row, altered, unknown key, not ours). Never retried away. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/**
 * The associated data of a secret stored in `table.column` of the row `rowKey`. Parts are joined with `:`;
 * only the last may contain one, so no two places share a context.
 */
export function secretContext(table: string, column: string, ...rowKey: string[]): string {
  for (const part of [table, column, ...rowKey.slice(0, -1)]) {
    if (part.includes(':')) throw new Error(`secret context part "${part}" must not contain ":"`);
  }
  return [table, column, ...rowKey].join(':');
}

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

  /**
   * Encrypts a value bound to `context` (where it is stored, e.g. `table:column:rowKey`, from `secretContext`):
   * the context is GCM associated data, so the ciphertext decrypts only for that same context. A ciphertext
   * copied into another row, or another column, is refused instead of handing out someone else's secret.
   */
  encrypt(plaintext: string, context: string): string {
    const { keyId, nonce, tag, data } = this.seal(Buffer.from(plaintext, 'utf8'), Buffer.from(context, 'utf8'));
    return [CURRENT, keyId, nonce, tag, data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /**
   * Decrypts a value stored under `context`. `v2` values must have been encrypted for exactly this context;
   * `v1` values (written before contexts existed) have none and still decrypt — `needsReseal` tells the caller
   * to write them back in the current format.
   */
  decrypt(ciphertext: string, context: string): string {
    const [version, keyId, nonce, tag, data] = ciphertext.split('.');
    if (!VERSIONS.has(version ?? '') || !keyId || nonce === undefined || tag === undefined || data === undefined) {
      throw new SecretBoxError('not a SecretBox ciphertext');
    }
    const aad = version === CURRENT ? Buffer.from(context, 'utf8') : undefined;
    try {
      return this.open(
        keyId,
        Buffer.from(nonce, 'base64url'),
        Buffer.from(tag, 'base64url'),
        Buffer.from(data, 'base64url'),
        aad,
      ).toString('utf8');
    } catch (err) {
      if (err instanceof SecretBoxError) throw err;
      // GCM says only "unable to authenticate": the value was not sealed for this row (moved or altered).
      throw new SecretBoxError(`stored secret does not belong to ${context} (moved from another row, or altered)`);
    }
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

  private seal(plaintext: Uint8Array, aad?: Buffer): { keyId: string; nonce: Buffer; tag: Buffer; data: Buffer } {
    const active = this.keys[0]!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', active.key, nonce);
    if (aad) cipher.setAAD(aad);
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: active.id, nonce, tag: cipher.getAuthTag(), data };
  }

  private open(keyId: string, nonce: Buffer, tag: Buffer, data: Buffer, aad?: Buffer): Buffer {
    const key = this.byId.get(keyId);
    if (!key) throw new SecretBoxError(`ciphertext was encrypted with unknown key "${keyId}"`);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  }

  encryptJson(value: unknown, context: string): string {
    return this.encrypt(JSON.stringify(value), context);
  }

  decryptJson<T>(ciphertext: string, context: string): T {
    return JSON.parse(this.decrypt(ciphertext, context)) as T;
  }

  /** True when the value is encrypted with a key other than the active one. */
  needsRotation(ciphertext: string): boolean {
    return ciphertext.split('.')[1] !== this.keys[0]!.id;
  }

  /** True when the value should be written again: an older format (no context) or an old key. */
  needsReseal(ciphertext: string): boolean {
    return !ciphertext.startsWith(`${CURRENT}.`) || this.needsRotation(ciphertext);
  }
}
