/**
 * Terminal output for the CLI: plain tables, the status report, and the upload progress line (a bar redrawn
 * in place on a TTY, plain lines otherwise).
 */
import type { AuditEntryView, ConnectionDetail, ConnectionSummary, UploadProgress } from '../admin/types.js';
import type { SyncSettings } from '../../sync-rules/settings.js';
import type { SyncStatus, UnresolvedFailure } from '../../workflows/contract.js';
import { manualRetryItemFor } from '../../workflows/work-item-subjects.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function connectionsTable(connections: ConnectionSummary[]): string {
  if (connections.length === 0) return 'No connections.';
  return table(
    ['ID', 'NAME', 'SYNC', 'STATE', 'MODE', 'CALENDAR', 'GOOGLE', 'PIPEDRIVE'],
    connections.map((c) => [
      c.id,
      c.displayName,
      c.settings.enabled ? 'on' : 'off',
      workflowState(c.workflow),
      c.settings.mode,
      c.settings.calendarId ?? '-',
      c.credentials.google ? (c.googleEmail ?? 'connected') : 'not connected',
      c.credentials.pipedrive ? `user ${c.pipedriveUserId ?? '?'}` : 'not connected',
    ]),
  );
}

function workflowState(w: ConnectionSummary['workflow']): string {
  if (w.execution === 'RUNNING') return w.state ?? 'running';
  if (w.execution === 'NOT_STARTED') return 'not started';
  if (w.state === 'disconnected') return 'disconnected';
  return `stopped (${w.execution.toLowerCase()})`;
}

export function statusReport(d: ConnectionDetail, now = Date.now()): string {
  const c = d.connection;
  const lines = [
    `Connection   ${c.id} (${c.displayName || 'no name'})`,
    `Google       ${c.credentials.google ? (c.googleEmail ?? 'connected') : 'not connected'}`,
    `Pipedrive    ${c.credentials.pipedrive ? `user ${c.pipedriveUserId ?? '?'}, company ${c.pipedriveCompanyId ?? '?'}` : 'not connected'}`,
    `Sync         ${c.settings.enabled ? 'on' : 'off'}, ${c.settings.mode}, calendar ${c.settings.calendarId ?? '(none)'}`,
    `Workflow     ${workflowState(d.workflow)}`,
  ];
  const s = d.status;
  if (s) {
    lines.push(
      `State        ${s.state}`,
      `Queued       ${s.queued}`,
      `Processed    ${s.processed} (echoes skipped: ${s.echoes}, failures: ${s.failures})`,
    );
    if (s.lastError) lines.push(`Last error   ${s.lastError.at} ${s.lastError.subject}: ${s.lastError.message}`);
    lines.push(...attentionLines(s));
    lines.push(...healthLines(s, now));
    lines.push(...unresolvedLines(s.unresolved ?? [], c.id));
    if (s.channel) lines.push(`Google push  channel until ${s.channel.expiration}, renewed at ${s.channel.renewAt}`);
  }
  lines.push('', 'Recent activity (newest first):', auditTable(d.audit));
  return lines.join('\n');
}

/** What holds the whole sync up: a lost authorization, a spent Pipedrive daily budget. */
export function attentionLines(s: Pick<SyncStatus, 'needsReconnect' | 'pipedriveBudgetPausedUntil'>): string[] {
  const lines: string[] = [];
  if (s.needsReconnect) {
    const account = s.needsReconnect === 'google' ? 'Google' : 'Pipedrive';
    lines.push(`Reconnect    ${account}: its authorization was revoked or expired; connect it again`);
  }
  if (s.pipedriveBudgetPausedUntil) {
    lines.push(`Paused       Pipedrive daily API budget spent; the sync waits until ${s.pipedriveBudgetPausedUntil}`);
  }
  return lines;
}

/**
 * What failed for good and has not synced since: the user has to know (and may have to act). With the connection
 * id, each line that a retry of its own exists for says the command.
 */
export function unresolvedLines(unresolved: UnresolvedFailure[], connectionId?: string): string[] {
  if (unresolved.length === 0) return [];
  const retryHint = (subject: string) =>
    connectionId && manualRetryItemFor(subject) ? `; retry: calendar-sync retry ${connectionId} ${subject}` : '';
  return [
    `Not synced   ${unresolved.length} item${unresolved.length === 1 ? '' : 's'} failed for good (shown until synced):`,
    ...unresolved.map(
      (f) =>
        `  ${f.subject}: ${f.message} (${f.times > 1 ? `${f.times} times, ` : ''}last ${f.at}${retryHint(f.subject)})`,
    ),
  ];
}

/** When each direction last synced, when the safety net passes next, and the latest resync. */
export function healthLines(s: Pick<SyncStatus, 'lastSyncedAt' | 'nextSafetyNetAt' | 'resync'>, now: number): string[] {
  const when = (iso: string | null | undefined) => (iso ? `${iso} (${relativeTime(iso, now)})` : 'never');
  const last = s.lastSyncedAt ?? { pipedriveToGoogle: null, googleToPipedrive: null };
  const lines = [
    `Last sync    Pipedrive → Google ${when(last.pipedriveToGoogle)}`,
    `             Google → Pipedrive ${when(last.googleToPipedrive)}`,
  ];
  if (s.nextSafetyNetAt) lines.push(`Safety net   next at ${when(s.nextSafetyNetAt)}`);
  const r = s.resync;
  if (r) {
    const failed = r.failed > 0 ? `, ${r.failed} step${r.failed === 1 ? '' : 's'} failed (see Not synced)` : '';
    lines.push(
      r.finishedAt
        ? `Resync       asked ${when(r.requestedAt)}, finished ${r.finishedAt}${failed}`
        : `Resync       asked ${when(r.requestedAt)}, running (${r.pending.length} step${r.pending.length === 1 ? '' : 's'} left${failed})`,
    );
  }
  return lines;
}

/** `3 min ago`, `in 2 min`, `just now`: how far `iso` is from `now`, rounded for a person. */
export function relativeTime(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const [n, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [Math.round(abs / 60), 'min']
        : abs < 86_400
          ? [Math.round(abs / 3600), 'h']
          : [Math.round(abs / 86_400), 'd'];
  return seconds < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function auditTable(entries: AuditEntryView[]): string {
  if (entries.length === 0) return '  (none)';
  return table(
    ['AT', 'DIRECTION', 'ACTION', 'SUBJECT', 'OUTCOME'],
    entries.map((e) => [
      e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      e.direction,
      e.action,
      e.subject ?? '-',
      e.outcome,
    ]),
  );
}

export function settingsReport(settings: SyncSettings): string {
  const width = Math.max(...Object.keys(settings).map((k) => k.length));
  return Object.entries(settings)
    .map(([k, v]) => `${k.padEnd(width)}  ${Array.isArray(v) ? v.join(',') || '(all)' : String(v)}`)
    .join('\n');
}

// ── Upload progress ──────────────────────────────────────────────────────────────────────────────────────

/** States after which an upload changes no more. */
export const FINISHED_UPLOAD_STATES = new Set<string>(['completed', 'cancelled', 'failed']);

/** Activities the upload has dealt with (written, already synced, excluded by the settings, or failed). */
export function processed(p: UploadProgress): number {
  return Math.max(0, p.total - p.pending);
}

/** Percent of the activities dealt with; `null` while the scan is still counting them. */
export function percent(p: UploadProgress): number | null {
  if (!p.scanComplete && p.state !== 'completed') return null;
  if (p.total === 0) return p.state === 'completed' ? 100 : 0;
  return Math.min(100, Math.floor((processed(p) / p.total) * 100));
}

/** `[###############---------------]  50%  5/10 (5 written, 0 already synced) uploading, ~3 s left` */
export function progressBar(p: UploadProgress, width = 30): string {
  const pct = percent(p);
  const filled = pct === null ? 0 : Math.round((pct / 100) * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  return `${bar} ${pct === null ? '   …' : `${String(pct).padStart(3)}%`}  ${summary(p)}`;
}

/** `upload: 50% 5/10 (5 written, 0 already synced) uploading` — for output that is not a terminal. */
export function progressLine(p: UploadProgress): string {
  const pct = percent(p);
  return `upload: ${pct === null ? '' : `${pct}% `}${summary(p)}`;
}

function summary(p: UploadProgress): string {
  const counts = [`${p.done} written`, `${p.skipped} already synced`];
  if (p.excluded > 0) counts.push(`${p.excluded} excluded by settings`);
  if (p.failed > 0) counts.push(`${p.failed} failed`);
  const total = p.scanComplete ? String(p.total) : `${p.total}+`;
  const left =
    p.estimatedSecondsLeft !== null && !FINISHED_UPLOAD_STATES.has(p.state)
      ? `, ~${p.estimatedSecondsLeft} s left`
      : '';
  return `${processed(p)}/${total} (${counts.join(', ')}) ${p.state}${left}`;
}

/** The upload's full report (`upload-status`). */
export function uploadReport(p: UploadProgress): string {
  const lines = [
    progressLine(p),
    `started ${p.startedAt}, ${p.eventsPerMinute} events/min (target ${p.targetPerMinute}/min, quota ${p.quotaPerMinute}/min)`,
  ];
  if (p.rateLimited > 0) lines.push(`Google rate-limited the upload ${p.rateLimited} time(s)`);
  for (const f of p.failures) lines.push(`failed: activity ${f.activityId}: ${f.reason}`);
  return lines.join('\n');
}
