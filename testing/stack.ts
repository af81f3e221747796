/**
 * Per-test-file access to the shared stack started by the global setup: a Temporal client, a Postgres pool,
 * and workers built from the prebuilt workflow bundle on a task queue of the test's own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { inject } from 'vitest';
import type { ActivityDeps } from '../activities/index.js';
import { createPool } from '../adapters/store/pool.js';
import { EncryptionCodec, encryptingDataConverter, PAYLOAD_KEYS_VARIABLE } from '../lib/payload-codec.js';
import { createSyncWorker } from '../worker/create-worker.js';

let runtimeInstalled = false;

export interface Stack {
  /** Encrypts and decrypts payloads with the payload codec, like every production client. */
  client: Client;
  /** The codec the client and workers use (keys in `testPayloadKeys()`). */
  payloadCodec: EncryptionCodec;
  db: pg.Pool;
  taskQueue: string;
  nativeConnection: NativeConnection;
  /** A worker on this file's task queue; stop it with `worker.shutdown()`. */
  startWorker(deps: ActivityDeps): Promise<{ worker: Worker; done: Promise<void> }>;
  close(): Promise<void>;
}

export interface StackAddresses {
  temporalAddress: string;
  databaseUrl: string;
  /** Prebuilt bundle; without it the worker bundles `workflows/` itself. */
  workflowBundleCode?: string;
}

/**
 * The payload keys every test runs with: `CALENDAR_SYNC_PAYLOAD_KEYS` if set, else a random key generated once
 * and put into this process's environment, so a worker started as a child process (worker-process.ts) inherits
 * it and reads what the test's client encrypted.
 */
export function testPayloadKeys(): string {
  // One key for the whole test run (from the global setup): every file's workflows share one Temporal server,
  // and an operator-style listing decodes all of them. Scripts outside vitest get a key of their own.
  process.env[PAYLOAD_KEYS_VARIABLE] ||= process.env.VITEST
    ? inject('payloadKeys')
    : `test:${randomBytes(32).toString('base64')}`;
  return process.env[PAYLOAD_KEYS_VARIABLE];
}

/** Inside vitest the global setup provides the addresses; scripts pass their own. */
export async function connectStack(addresses?: StackAddresses): Promise<Stack> {
  const {
    temporalAddress: address,
    databaseUrl,
    workflowBundleCode,
  } = addresses ?? {
    temporalAddress: inject('temporalAddress'),
    databaseUrl: inject('databaseUrl'),
    workflowBundleCode: inject('workflowBundleCode'),
  };
  if (!runtimeInstalled) {
    // Worker logs at WARN keep test output readable; failures still surface through assertions.
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // a script already started the runtime (e.g. with the dev server); keep its logger
    }
    runtimeInstalled = true;
  }
  const connection = await Connection.connect({ address });
  const payloadCodec = EncryptionCodec.fromConfig(testPayloadKeys());
  const client = new Client({ connection, namespace: 'default', dataConverter: encryptingDataConverter(payloadCodec) });
  const nativeConnection = await NativeConnection.connect({ address });
  const db = createPool(databaseUrl);
  const taskQueue = `test-${randomUUID()}`;
  return {
    client,
    payloadCodec,
    db,
    taskQueue,
    nativeConnection,
    async startWorker(deps) {
      const worker = await createSyncWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        deps,
        payloadCodec,
        workflowBundle: workflowBundleCode ? { code: workflowBundleCode } : undefined,
      });
      const done = worker.run();
      return { worker, done };
    },
    async close() {
      await connection.close();
      await nativeConnection.close();
      await db.end();
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
