/**
 * The `calendar-sync` admin CLI: parses arguments, calls the admin HTTP API through the same typed client the
 * tests use (client/admin/api-client.ts), prints for humans (or JSON with `--json`) and returns an exit code.
 */
import { parseArgs } from 'node:util';
import { AdminApiClient, AdminApiError } from '../admin/api-client.js';
import type { UploadProgress, UploadRequest } from '../admin/types.js';
import {
  connectionsTable,
  FINISHED_UPLOAD_STATES,
  progressBar,
  progressLine,
  settingsReport,
  statusReport,
  uploadReport,
} from './format.js';

export const EXIT = {
  ok: 0,
  /** The server refused or the operation failed (bad input, unknown connection, upload failed/cancelled). */
  failed: 1,
  usage: 2,
  unreachable: 3,
  /** 401/403: missing or wrong admin token. */
  auth: 4,
} as const;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  /** Poll interval of `upload --watch` (ms). */
  pollMs?: number;
}

export const USAGE = `Usage: calendar-sync <command> [options]

Commands:
  connections                         List connections and their sync state
  status <id> [--audit N]             A connection's live status and its N latest audit entries (default 20)
  start <id>                          Switch the sync on (with the stored settings)
  pause <id>                          Stop processing changes (they keep queueing)
  resume <id>                         Process changes again
  disconnect <id>                     Stop the change feeds, switch the sync off and end the workflow
  resync <id>                         Run the safety-net pass now (Google pull, Pipedrive reconciliation,
                                      feed check, retry of what failed); asking twice queues nothing more
  retry <id> <subject>                Retry one failed item now (a subject listed under "Not synced")
  settings <id> [--set key=value ...] Show the settings, or change the given ones
  upload <id> [--from DATE] [--to DATE] [--include-done] [--watch]
                                      Upload unsynced Pipedrive activities to Google;
                                      --watch shows progress until the upload finishes
  upload-status <id>                  Show the upload's progress
  upload-cancel <id>                  Cancel a running upload
  help                                This text

Options:
  --json                              Print the API's JSON answer instead of text

Environment:
  CALENDAR_SYNC_URL          The sync's HTTP server (default http://localhost:3000)
  CALENDAR_SYNC_ADMIN_TOKEN  The admin token the server was started with

Exit codes: 0 success, 1 failed (refused, unknown connection, upload failed or cancelled),
            2 usage error, 3 server unreachable or its answer cut off, 4 missing or wrong admin token.
`;

class UsageError extends Error {}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : s + '\n');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        set: { type: 'string', multiple: true },
        from: { type: 'string' },
        to: { type: 'string' },
        'include-done': { type: 'boolean' },
        watch: { type: 'boolean' },
        audit: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...args] = positionals;
    if (!command || command === 'help' || values.help) {
      out(USAGE);
      return command && command !== 'help' && !values.help ? EXIT.usage : EXIT.ok;
    }
    const api = new AdminApiClient({
      url: io.env.CALENDAR_SYNC_URL || 'http://localhost:3000',
      token: io.env.CALENDAR_SYNC_ADMIN_TOKEN || undefined,
    });
    const id = () => {
      if (args.length !== 1) throw new UsageError(`${command} needs exactly one connection id`);
      return args[0]!;
    };
    const print = (json: unknown, text: () => string) => out(values.json ? JSON.stringify(json, null, 2) : text());

    switch (command) {
      case 'connections': {
        if (args.length > 0) throw new UsageError('connections takes no arguments');
        const r = await api.listConnections();
        print(r, () => connectionsTable(r.connections));
        return EXIT.ok;
      }
      case 'status': {
        const audit = values.audit === undefined ? undefined : Number(values.audit);
        if (audit !== undefined && (!Number.isInteger(audit) || audit < 0)) {
          throw new UsageError('--audit needs a whole number');
        }
        const r = await api.connection(id(), audit);
        print(r, () => statusReport(r));
        return EXIT.ok;
      }
      case 'start': {
        const r = await api.start(id());
        print(r, () => `Sync of ${r.connectionId} started (calendar ${r.settings.calendarId}, ${r.settings.mode}).`);
        return EXIT.ok;
      }
      case 'pause':
      case 'resume':
      case 'disconnect': {
        const connectionId = id();
        const r = await api[command](connectionId);
        const verb = { pause: 'paused', resume: 'resumed', disconnect: 'disconnected' }[command];
        print(r, () =>
          r.status
            ? `Sync of ${connectionId} ${verb} (state: ${r.status.state}).`
            : `Sync of ${connectionId} was not running; nothing to ${command}.`,
        );
        return EXIT.ok;
      }
      case 'resync': {
        const connectionId = id();
        const r = await api.resync(connectionId);
        print(r, () =>
          r.added > 0
            ? `Resync of ${connectionId} queued (${r.added} step${r.added === 1 ? '' : 's'}); \`calendar-sync status ${connectionId}\` shows when it finished.`
            : `Resync of ${connectionId} already queued; nothing added.`,
        );
        return EXIT.ok;
      }
      case 'retry': {
        if (args.length !== 2) throw new UsageError('retry needs a connection id and a subject (e.g. activity:42)');
        const [connectionId, subject] = args as [string, string];
        const r = await api.retry(connectionId, subject);
        print(r, () => `Retry of ${subject} queued for ${connectionId} (state: ${r.status?.state ?? 'unknown'}).`);
        return EXIT.ok;
      }
      case 'settings': {
        const connectionId = id();
        const changes = await parseSets(values.set ?? []);
        const r = Object.keys(changes).length
          ? await api.changeSettings(connectionId, changes)
          : await api.settings(connectionId);
        print(
          r,
          () =>
            (Object.keys(changes).length ? `Settings of ${connectionId} saved:\n` : '') + settingsReport(r.settings),
        );
        return EXIT.ok;
      }
      case 'upload': {
        const connectionId = id();
        const options: UploadRequest = {};
        if (values.from) options.from = values.from;
        if (values.to) options.to = values.to;
        if (values['include-done']) options.includeDone = true;
        const r = await api.startUpload(connectionId, options);
        if (!values.watch) {
          print(r, () => `Upload for ${connectionId} started.${r.progress ? `\n${progressLine(r.progress)}` : ''}`);
          return EXIT.ok;
        }
        return await watchUpload(api, connectionId, io, out);
      }
      case 'upload-status': {
        const r = await api.uploadProgress(id());
        print(r, () => (r.progress ? uploadReport(r.progress) : `No upload for ${r.connectionId}.`));
        return EXIT.ok;
      }
      case 'upload-cancel': {
        const r = await api.cancelUpload(id());
        print(r, () => `Upload for ${r.connectionId} cancelled.${r.progress ? `\n${progressLine(r.progress)}` : ''}`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`calendar-sync: ${(e as Error).message}`);
      err('Run `calendar-sync help` for usage.');
      return EXIT.usage;
    }
    if (e instanceof AdminApiError) {
      err(`calendar-sync: ${e.message}`);
      for (const p of e.problems) err(`  - ${p}`);
      if (e.status === 0) return EXIT.unreachable;
      if (e.status === 401 || e.status === 403) return EXIT.auth;
      return EXIT.failed;
    }
    err(`calendar-sync: unexpected error: ${(e as Error).stack ?? String(e)}`);
    return EXIT.failed;
  }
}

/**
 * `--set key=value`: values are read as the setting's type (booleans, numbers, comma-separated lists,
 * `null` for the calendar); unknown keys go to the server as text, which rejects them with a clear reason.
 */
export async function parseSets(sets: string[]): Promise<Record<string, unknown>> {
  // Loaded only here: the settings schema pulls in zod, which the other commands do not need.
  const { DEFAULT_SETTINGS } = await import('../../sync-rules/settings.js');
  const changes: Record<string, unknown> = {};
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set needs key=value, got "${set}"`);
    const key = set.slice(0, eq).trim();
    const raw = set.slice(eq + 1);
    const example = (DEFAULT_SETTINGS as Record<string, unknown>)[key];
    if (typeof example === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`${key} must be true or false`);
      changes[key] = raw === 'true';
    } else if (typeof example === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n)) throw new UsageError(`${key} must be a number`);
      changes[key] = n;
    } else if (Array.isArray(example)) {
      changes[key] = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    } else if (key === 'calendarId' && raw === 'null') {
      changes[key] = null;
    } else {
      changes[key] = raw;
    }
  }
  return changes;
}

/** Answers a watch rides out: no answer (0), server restarting (503), a progress query past its deadline (504). */
const TRANSIENT_STATUSES = new Set([0, 503, 504]);
/** Consecutive transient failures a watch tolerates before it gives up. */
const WATCH_MISSES_MAX = 10;

async function watchUpload(
  api: AdminApiClient,
  connectionId: string,
  io: CliIo,
  out: (s: string) => void,
): Promise<number> {
  const tty = io.stdout.isTTY === true;
  let lastLine = '';
  let progress: UploadProgress | null;
  let misses = 0;
  for (let polls = 1; ; polls++) {
    try {
      progress = (await api.uploadProgress(connectionId)).progress;
      misses = 0;
    } catch (err) {
      // One slow progress query (504) or a restarting server (503, no answer) does not end a watch; a run of them
      // does (the error reaches the caller as usual).
      if (!(err instanceof AdminApiError) || !TRANSIENT_STATUSES.has(err.status) || ++misses > WATCH_MISSES_MAX)
        throw err;
      await new Promise((resolve) => setTimeout(resolve, io.pollMs ?? 500));
      continue;
    }
    if (!progress && polls >= 20) {
      io.stderr.write(`calendar-sync: the upload for ${connectionId} reports no progress\n`);
      return EXIT.failed;
    }
    if (progress) {
      if (tty) {
        // Redraw the bar in place: carriage return, clear the line.
        io.stdout.write(`\r\x1b[2K${progressBar(progress)}`);
      } else {
        const line = progressLine(progress);
        if (line !== lastLine) out(line);
        lastLine = line;
      }
      if (FINISHED_UPLOAD_STATES.has(progress.state)) break;
    }
    await new Promise((resolve) => setTimeout(resolve, io.pollMs ?? 500));
  }
  if (tty) io.stdout.write('\n');
  const state = progress.state;
  if (state === 'completed') {
    out(`Upload for ${connectionId} finished.`);
    return EXIT.ok;
  }
  io.stderr.write(`calendar-sync: upload for ${connectionId} ${state}${describeError(progress)}\n`);
  return EXIT.failed;
}

function describeError(p: UploadProgress): string {
  const last = p.failures.at(-1);
  return last ? ` (last failure: activity ${last.activityId}: ${last.reason})` : '';
}
