/**
 * Credentials at rest are bound to their row: a ciphertext copied into another connection's row (by anyone with
 * write access to the table) is refused with a clear error instead of handing one user's token to another.
 * Ciphertexts written before that (format v1) still work and are sealed to their row on first read.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials, saveCredentials, upsertConnection } from '../../adapters/store/connections.js';
import { SecretBox, SecretBoxError } from '../../lib/secret-box.js';
import { legacyV1Ciphertext } from '../support/legacy-ciphertext.js';
import { connectStack, type Stack } from '../../testing/stack.js';

let stack: Stack;
const key = { id: 'k', key: Buffer.alloc(32, 5) };
const box = new SecretBox([key]);

beforeAll(async () => {
  stack = await connectStack();
});
afterAll(async () => {
  await stack.close();
});

async function twoUsers() {
  const a = `enc-a-${randomUUID().slice(0, 8)}`;
  const b = `enc-b-${randomUUID().slice(0, 8)}`;
  for (const id of [a, b]) await upsertConnection(stack.db, { id });
  await saveCredentials(stack.db, box, a, 'pipedrive', { kind: 'api-token', token: 'token-of-a' });
  await saveCredentials(stack.db, box, b, 'pipedrive', { kind: 'api-token', token: 'token-of-b' });
  return { a, b };
}

async function ciphertextOf(id: string, provider = 'pipedrive'): Promise<string> {
  const { rows } = await stack.db.query<{ ciphertext: string }>(
    'SELECT ciphertext FROM connection_credentials WHERE connection_id = $1 AND provider = $2',
    [id, provider],
  );
  return rows[0]!.ciphertext;
}

async function setCiphertext(id: string, ciphertext: string, provider = 'pipedrive'): Promise<void> {
  await stack.db.query('UPDATE connection_credentials SET ciphertext = $3 WHERE connection_id = $1 AND provider = $2', [
    id,
    provider,
    ciphertext,
  ]);
}

describe('credentials bound to their row', () => {
  it('refuses ciphertexts swapped between two users’ rows', async () => {
    const { a, b } = await twoUsers();
    const [ca, cb] = [await ciphertextOf(a), await ciphertextOf(b)];
    await setCiphertext(a, cb);
    await setCiphertext(b, ca);
    await expect(loadCredentials(stack.db, box, a, 'pipedrive')).rejects.toThrow(SecretBoxError);
    await expect(loadCredentials(stack.db, box, b, 'pipedrive')).rejects.toThrow(
      new RegExp(`does not belong to connection_credentials:ciphertext:pipedrive:${b}`),
    );
    // Restored, each row decrypts again: nothing was lost.
    await setCiphertext(a, ca);
    await setCiphertext(b, cb);
    expect(await loadCredentials(stack.db, box, a, 'pipedrive')).toEqual({ kind: 'api-token', token: 'token-of-a' });
  });

  it('refuses a ciphertext moved to another provider of the same user (e.g. webhook password → API token)', async () => {
    const { a } = await twoUsers();
    await saveCredentials(stack.db, box, a, 'webhook', { username: 'u', password: 'webhook-password' });
    await setCiphertext(a, await ciphertextOf(a, 'webhook'), 'pipedrive');
    await expect(loadCredentials(stack.db, box, a, 'pipedrive')).rejects.toThrow(SecretBoxError);
  });

  it('reads a v1 ciphertext, seals it to its row on the way, and refuses it in another row afterwards', async () => {
    const { a, b } = await twoUsers();
    const legacy = legacyV1Ciphertext(key.id, key.key, JSON.stringify({ kind: 'api-token', token: 'legacy-a' }));
    await setCiphertext(a, legacy);
    expect(await loadCredentials(stack.db, box, a, 'pipedrive')).toEqual({ kind: 'api-token', token: 'legacy-a' });
    const upgraded = await ciphertextOf(a);
    expect(upgraded.startsWith('v2.')).toBe(true);
    expect(await loadCredentials(stack.db, box, a, 'pipedrive')).toEqual({ kind: 'api-token', token: 'legacy-a' });
    await setCiphertext(b, upgraded);
    await expect(loadCredentials(stack.db, box, b, 'pipedrive')).rejects.toThrow(SecretBoxError);
  });
});
