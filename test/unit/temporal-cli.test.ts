import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findTemporalCli, toExecutable } from '../../scripts/provision/temporal-cli.js';

describe('finding the Temporal CLI', () => {
  const saved = { ...process.env };
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  async function fakeBinary(name: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, '#!/bin/sh\n');
    await chmod(file, 0o755);
    return file;
  }

  it('uses TEMPORAL_CLI_PATH before anything else', async () => {
    const explicit = await fakeBinary('my-temporal');
    process.env.TEMPORAL_CLI_PATH = explicit;
    expect(await findTemporalCli()).toEqual({ kind: 'path', path: explicit, source: 'env' });
  });

  it('refuses a TEMPORAL_CLI_PATH that does not exist', async () => {
    process.env.TEMPORAL_CLI_PATH = path.join(dir, 'missing');
    await expect(findTemporalCli()).rejects.toThrow(/does not exist/);
  });

  it('prefers `temporal` on PATH to the project-local copy', async () => {
    delete process.env.TEMPORAL_CLI_PATH;
    const onPath = await fakeBinary('temporal');
    process.env.PATH = `${dir}${path.delimiter}${saved.PATH ?? ''}`;
    expect(await findTemporalCli()).toEqual({ kind: 'path', path: onPath, source: 'PATH' });
  });

  it('hands an existing binary to the SDK instead of letting it download one', () => {
    expect(toExecutable({ kind: 'path', path: '/x/temporal', source: 'tools' })).toEqual({
      type: 'existing-path',
      path: '/x/temporal',
    });
    expect(toExecutable({ kind: 'sdk-download' })).toEqual({ type: 'cached-download' });
  });
});
