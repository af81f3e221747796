import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  decodePayloadsInJson,
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  isEncryptedPayload,
  METADATA_ENCRYPTION_KEY_ID,
  payloadToJson,
} from '../../lib/payload-codec.js';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

const EVENT = { summary: 'Board meeting with Ann', attendees: [{ email: 'ann@example.com' }] };

describe('payload codec (AES-256-GCM)', () => {
  it('encrypts a payload into binary/encrypted with the key id and decrypts it back to the same value', async () => {
    const codec = EncryptionCodec.fromConfig(key('k1'));
    const [encrypted] = await codec.encode([toPayload(EVENT)]);

    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![METADATA_ENCRYPTION_KEY_ID])).toBe('k1');
    expect(text(encrypted!.data)).not.toContain('Board meeting');
    expect(text(encrypted!.data)).not.toContain('ann@example.com');
    expect(isEncryptedPayload(encrypted!)).toBe(true);

    const [decrypted] = await codec.decode([encrypted!]);
    expect(text(decrypted!.metadata!.encoding)).toBe('json/plain');
    expect(fromPayload(decrypted!)).toEqual(EVENT);
  });

  it('encrypts the same value differently each time (random nonce)', async () => {
    const codec = EncryptionCodec.fromConfig(key('k1'));
    const [a, b] = await codec.encode([toPayload(EVENT), toPayload(EVENT)]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rejects a payload encrypted with a key it does not have', async () => {
    const [encrypted] = await EncryptionCodec.fromConfig(key('k1')).encode([toPayload(EVENT)]);
    await expect(EncryptionCodec.fromConfig(key('k2')).decode([encrypted!])).rejects.toThrow(/unknown key "k1"/);
  });

  it('rejects a payload encrypted with a different key under the same id', async () => {
    const [encrypted] = await EncryptionCodec.fromConfig(key('k1')).encode([toPayload(EVENT)]);
    await expect(EncryptionCodec.fromConfig(key('k1')).decode([encrypted!])).rejects.toThrow(/cannot decrypt/);
  });

  it('rejects a payload whose ciphertext was altered', async () => {
    const codec = EncryptionCodec.fromConfig(key('k1'));
    const [encrypted] = await codec.encode([toPayload(EVENT)]);
    const tampered = Buffer.from(encrypted!.data!);
    tampered[20] = tampered[20]! ^ 0x01;
    await expect(codec.decode([{ ...encrypted!, data: tampered }])).rejects.toThrow(/cannot decrypt/);
    await expect(codec.decode([{ ...encrypted!, data: tampered.subarray(0, 20) }])).rejects.toThrow(/cannot decrypt/);
  });

  it('after a rotation encrypts with the new key and still decrypts payloads written with the old one', async () => {
    const oldKey = key('2025');
    const newKey = key('2026');
    const [old] = await EncryptionCodec.fromConfig(oldKey).encode([toPayload(EVENT)]);

    const rotated = EncryptionCodec.fromConfig(`${newKey},${oldKey}`);
    expect(fromPayload((await rotated.decode([old!]))[0]!)).toEqual(EVENT);
    const [fresh] = await rotated.encode([toPayload(EVENT)]);
    expect(text(fresh!.metadata![METADATA_ENCRYPTION_KEY_ID])).toBe('2026');
    // Once the old key is dropped, what it wrote is unreadable, and what the new key wrote still reads.
    const newOnly = EncryptionCodec.fromConfig(newKey);
    expect(fromPayload((await newOnly.decode([fresh!]))[0]!)).toEqual(EVENT);
    await expect(newOnly.decode([old!])).rejects.toThrow(/unknown key "2025"/);
  });

  it('passes payloads that were never encrypted through unchanged (histories from before encryption)', async () => {
    const codec = EncryptionCodec.fromConfig(key('k1'));
    const clear = toPayload(EVENT);
    const [decoded] = await codec.decode([clear]);
    expect(fromPayload(decoded!)).toEqual(EVENT);
  });

  it('refuses keys that are not 32 bytes or entries without an id', () => {
    expect(() => EncryptionCodec.fromConfig(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/32 bytes/);
    expect(() => EncryptionCodec.fromConfig(randomBytes(32).toString('base64'))).toThrow(
      /CALENDAR_SYNC_PAYLOAD_KEYS entries must look like id:base64key/,
    );
  });

  it('decrypts every encrypted payload nested in a history JSON document', async () => {
    const codec = EncryptionCodec.fromConfig(key('k1'));
    const [encrypted] = await codec.encode([toPayload(EVENT)]);
    const doc = { events: [{ attrs: { input: { payloads: [payloadToJson(encrypted!)] } } }] };
    await decodePayloadsInJson(doc, codec);
    const [payload] = doc.events[0]!.attrs.input.payloads;
    expect(Buffer.from(payload!.metadata!.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payload!.data!, 'base64').toString())).toEqual(EVENT);
  });
});
