/**
 * `calendar-sync upload --watch` rides out a few transient answers of the admin API (a progress query past its
 * deadline, a restarting server) instead of ending the watch, and still gives up on a run of them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../client/cli/commands.js';
import type { UploadProgress } from '../../workflows/upload-unsynced.js';

const TOKEN = 'watch-test-token';

function progress(state: UploadProgress['state'], done: number): UploadProgress {
  return {
    uploadId: 'upload-1',
    state,
    total: 4,
    scanComplete: true,
    done,
    skipped: 0,
    excluded: 0,
    failed: 0,
    pending: 4 - done,
    failures: [],
    eventsPerMinute: 60,
    targetPerMinute: 570,
    quotaPerMinute: 600,
    rateLimited: 0,
    estimatedSecondsLeft: null,
    startedAt: '2026-12-01T09:00:00.000Z',
  };
}

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A stand-in admin API: the upload starts, then each progress poll gets the next answer of `answers`. */
async function adminApi(answers: (UploadProgress | number)[]): Promise<string> {
  let poll = 0;
  server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST') return send(200, { connectionId: 'c1', uploadWorkflowId: 'u', progress: null });
    const answer = answers[Math.min(poll++, answers.length - 1)]!;
    if (typeof answer === 'number') return send(answer, { error: 'the upload did not answer its progress query' });
    return send(200, { connectionId: 'c1', progress: answer });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

function io(url: string): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    env: { CALENDAR_SYNC_URL: url, CALENDAR_SYNC_ADMIN_TOKEN: TOKEN },
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    pollMs: 5,
    out: () => out,
    err: () => err,
  };
}

describe('upload --watch', () => {
  it('keeps watching through a few 504 and 503 answers and reports the finished upload', async () => {
    const url = await adminApi([progress('uploading', 1), 504, 503, 504, progress('completed', 4)]);
    const cli = io(url);
    expect(await runCli(['upload', 'c1', '--watch'], cli)).toBe(0);
    expect(cli.out()).toContain('Upload for c1 finished.');
  });

  it('gives up on a run of transient answers, saying why', async () => {
    const url = await adminApi([progress('uploading', 1), 504]);
    const cli = io(url);
    expect(await runCli(['upload', 'c1', '--watch'], cli)).not.toBe(0);
    expect(cli.err()).toContain('progress query');
  });
});
