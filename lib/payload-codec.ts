/**
 * End-to-end encryption of Temporal payloads: workflow and activity inputs and results, signal and update
 * arguments, query results and memo all go through this codec, so the Temporal server (and anyone reading its
 * database or history exports) only ever sees ciphertext — event titles, descriptions and attendee emails
 * never sit in clear in Temporal history.
 *
 * The encrypted payload follows the convention of Temporal's encryption samples: metadata
 * `encoding: binary/encrypted` and `encryption-key-id: <id>`, data = AES-256-GCM over the whole original
 * payload (protobuf-serialized, so its own metadata is protected too), laid out `nonce ‖ ciphertext ‖ tag`.
 * The crypto and the key format are the credential store's (`SecretBox`): `CALENDAR_SYNC_PAYLOAD_KEYS` =
 * `id:base64key[,id:base64key…]`, the first key encrypts and every key decrypts, so keys rotate by
 * prepending a new one and dropping the old one once no retained history uses it.
 *
 * Failure messages and stack traces are first encoded into a payload (lib/failure-converter.cjs), so they are
 * encrypted too. Not covered, by Temporal's design: search attributes (never encoded, indexed in clear) and
 * workflow/activity ids and types. Keep personal data out of those. (In the TypeScript SDK the memo does go
 * through the codec, which is why the Temporal UI needs the codec endpoint to show it.)
 *
 * Lives in `lib/` because the worker, every client (HTTP server, CLI, tests, benchmarks, sandbox) and the
 * codec endpoint share it; the codec runs outside the workflow sandbox (only the failure converter is bundled).
 */
import { fileURLToPath } from 'node:url';
import {
  METADATA_ENCODING_KEY,
  ValueError,
  type DataConverter,
  type Payload,
  type PayloadCodec,
} from '@temporalio/common';
import { decode as utf8Decode, encode as utf8Encode } from '@temporalio/common/lib/encoding.js';
import proto from '@temporalio/proto';
import { SecretBox } from './secret-box.js';

// A CommonJS package: Node's ESM loader only exposes its default export.
const { Payload: ProtoPayload } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';
export const PAYLOAD_KEYS_VARIABLE = 'CALENDAR_SYNC_PAYLOAD_KEYS';

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly box: SecretBox) {}

  /** From `CALENDAR_SYNC_PAYLOAD_KEYS`' format: `id:base64key[,id:base64key…]`, newest first. */
  static fromConfig(value: string): EncryptionCodec {
    return new EncryptionCodec(SecretBox.fromConfig(value, PAYLOAD_KEYS_VARIABLE));
  }

  /** The id of the key new payloads are encrypted with. */
  get activeKeyId(): string {
    return this.box.activeKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const { keyId, sealed } = this.box.sealBytes(ProtoPayload.encode(payload).finish());
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: utf8Encode(ENCRYPTED_ENCODING),
          [METADATA_ENCRYPTION_KEY_ID]: utf8Encode(keyId),
        },
        data: sealed,
      };
    });
  }

  /**
   * Payloads that are not `binary/encrypted` pass through unchanged: histories written before encryption was
   * turned on keep replaying. An encrypted payload with an unknown key or altered bytes is rejected.
   */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || utf8Decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = payload.metadata?.[METADATA_ENCRYPTION_KEY_ID];
      if (!keyId) throw new ValueError('encrypted payload has no encryption key id');
      if (!payload.data) throw new ValueError('encrypted payload has no data');
      let plain: Buffer;
      try {
        plain = this.box.openBytes(utf8Decode(keyId), payload.data);
      } catch (err) {
        throw new ValueError(`cannot decrypt payload: ${(err as Error).message}`);
      }
      return ProtoPayload.decode(plain) as Payload;
    });
  }
}

/** lib/failure-converter.cjs, which also puts failure messages and stack traces through the codec. */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter for workers and clients: the SDK's default payload conversion, then encryption, for
 * payloads and failures alike. (Workflow bundles need `failureConverterPath` too: `bundleSyncWorkflows`.)
 */
export function encryptingDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath };
}

/** True when a payload (as stored in history) is encrypted by this codec. */
export function isEncryptedPayload(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && utf8Decode(encoding) === ENCRYPTED_ENCODING;
}

/** A payload in JSON form — the codec endpoint protocol's and `historyToJSON`'s (proto3 JSON: bytes as base64). */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export function payloadToJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, ...(p.data && p.data.length > 0 ? { data: Buffer.from(p.data).toString('base64') } : {}) };
}

export function payloadFromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

const ENCRYPTED_ENCODING_BASE64 = Buffer.from(ENCRYPTED_ENCODING).toString('base64');

/**
 * Decrypts, in place, every encrypted payload found anywhere in a JSON document such as `historyToJSON`'s
 * output (stored test histories are kept readable and replayable without the keys they were captured with).
 */
export async function decodePayloadsInJson<T>(doc: T, codec: PayloadCodec): Promise<T> {
  const visit = async (node: unknown): Promise<void> => {
    if (typeof node !== 'object' || node === null) return;
    const container = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(container)) {
      if (typeof value !== 'object' || value === null) continue;
      if ((value as JsonPayload).metadata?.encoding === ENCRYPTED_ENCODING_BASE64) {
        const [decoded] = await codec.decode([payloadFromJson(value as JsonPayload)]);
        container[key] = payloadToJson(decoded!);
      } else {
        await visit(value);
      }
    }
  };
  await visit(doc);
  return doc;
}
