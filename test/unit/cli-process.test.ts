/**
 * The CLI process when its connection to the sync server breaks: a command that never finishes exits 1 with a
 * message instead of 0 with nothing printed, and an answer cut off mid-way is an `AdminApiError` with a plain message.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminApiClient, AdminApiError } from '../../client/admin/api-client.js';
import { runCli } from '../../client/cli/commands.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function runSupport(arg: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['node_modules/tsx/dist/cli.mjs', 'test/support/cli-main.ts', arg],
      { cwd: ROOT, timeout: 30_000 },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

let server: net.Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server that answers the first request with a status line, headers and half a body, then drops the connection. */
async function cutOffServer(): Promise<string> {
  server = net.createServer((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"connectionId":');
      setTimeout(() => socket.destroy(), 20);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe('the CLI process', () => {
  it('exits 1 saying so when its command never finishes, instead of 0 with nothing printed', async () => {
    const r = await runSupport('never');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the command stopped before it finished');
  });

  it("exits with the command's own code when it finishes, and says nothing more", async () => {
    const r = await runSupport('four');
    expect(r).toEqual({ code: 4, stderr: '' });
  });
});

describe('an answer cut off mid-way', () => {
  it('is an AdminApiError naming the server, not a bare "terminated"', async () => {
    const url = await cutOffServer();
    const err = await new AdminApiClient({ url, token: 't' }).cancelUpload('conn-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect((err as AdminApiError).message).toMatch(
      new RegExp(`^the answer from the sync server at ${url} was cut off`),
    );
    expect((err as AdminApiError).status).toBe(0);
  });

  it('makes the CLI exit 3 with that message on stderr', async () => {
    const url = await cutOffServer();
    let out = '';
    let err = '';
    const code = await runCli(['upload-cancel', 'conn-1'], {
      env: { CALENDAR_SYNC_URL: url, CALENDAR_SYNC_ADMIN_TOKEN: 't' },
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    });
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toContain(`the answer from the sync server at ${url} was cut off`);
  });
});
