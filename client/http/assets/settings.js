// The settings page: plain DOM code, no framework. Everything goes through the JSON API under /api/me,
// which only ever serves the signed-in user's own connection.
'use strict';

const $ = (id) => document.getElementById(id);
let csrf = '';
let me = null;
let uploadTimer = null;

/** The on/off settings shown as checkboxes named after them (defaults come from the server's settings). */
const FLAGS = [
  'linkContacts',
  'createPersonsForAttendees',
  'createMeetLinks',
  'importOtherEventTypes',
  'importDeclined',
  'importFree',
  'importAllDay',
  'importWithoutExternalAttendees',
];
const flagBox = (name) => document.querySelector(`#settings input[name="${name}"]`);

function flash(message, ok = false) {
  const el = $('flash');
  el.textContent = message;
  el.className = ok ? 'flash ok' : 'flash';
  el.hidden = !message;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error || `The server answered ${res.status}.`);
    err.problems = data.problems || [];
    err.status = res.status;
    throw err;
  }
  return data;
}

function option(select, value, label) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  select.append(o);
}

async function load() {
  const params = new URLSearchParams(location.search);
  if (params.get('error')) flash(params.get('error'));
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    if (err.status !== 401) flash(err.message);
    return; // signed out: only the connect buttons are shown
  }
  csrf = me.csrf;
  $('token-csrf').value = csrf;
  $('google-state').textContent = me.google.connected ? `Connected as ${me.google.email}.` : 'Not connected.';
  $('connect-google').textContent = me.google.connected ? 'Reconnect Google' : 'Connect Google';
  $('pipedrive-state').textContent = me.pipedrive.connected
    ? `Connected (user ${me.pipedrive.userId} at ${me.pipedrive.apiDomain}, ${me.pipedrive.via === 'oauth' ? 'OAuth' : 'API token'}).`
    : 'Not connected.';
  $('connect-pipedrive').textContent = me.pipedrive.connected ? 'Reconnect Pipedrive' : 'Connect Pipedrive';
  $('disconnect-section').hidden = false;
  renderActivity();
  renderHealth();
  if (!(me.google.connected && me.pipedrive.connected)) {
    flash('Connect both accounts to set up the sync.', true);
    return;
  }
  await Promise.all([loadCalendars(), loadTypes()]);
  fillSettings(me.settings);
  $('settings').hidden = false;
  $('upload-section').hidden = false;
  $('activity-section').hidden = false;
  $('health-section').hidden = false;
  refreshUpload();
  setInterval(refreshActivity, 2000);
}

async function loadCalendars(selected) {
  const calendars = await api('GET', '/api/me/calendars');
  const select = $('calendar');
  select.replaceChildren();
  option(select, '', 'Choose a calendar…');
  for (const c of calendars) option(select, c.id, c.primary ? `${c.summary} (primary)` : c.summary);
  if (selected) select.value = selected;
}

async function loadTypes() {
  const types = await api('GET', '/api/me/activity-types');
  const box = $('types-out');
  box.replaceChildren();
  const incoming = $('incoming-type');
  incoming.replaceChildren();
  for (const t of types) {
    const wrap = document.createElement('div');
    wrap.className = 'field';
    const input = Object.assign(document.createElement('input'), {
      type: 'checkbox',
      id: `type-${t.key}`,
      value: t.key,
    });
    input.dataset.typeOut = '1';
    const label = Object.assign(document.createElement('label'), { htmlFor: input.id, textContent: t.name });
    wrap.append(input, label);
    box.append(wrap);
    option(incoming, t.key, t.name);
  }
}

function fillSettings(s) {
  $('enabled').checked = s.enabled;
  $('calendar').value = s.calendarId || '';
  document.querySelector(`input[name=mode][value="${s.mode}"]`).checked = true;
  $('title-template').value = s.titleTemplate;
  for (const box of document.querySelectorAll('input[data-type-out]'))
    box.checked = s.activityTypesOut.includes(box.value);
  $('incoming-type').value = s.incomingActivityType;
  document.querySelector(`input[name=privateEvents][value="${s.privateEvents}"]`).checked = true;
  $('contact-details').checked = s.contactDetails;
  document.querySelector(`input[name=deletion][value="${s.deletion}"]`).checked = true;
  for (const name of FLAGS) flagBox(name).checked = s[name];
  whatApplies();
  preview();
}

/** Contact linking and the import filters act on events imported from Google: two-way mode only. */
function whatApplies() {
  const twoWay = document.querySelector('input[name=mode]:checked')?.value === 'two-way';
  $('contacts-group').disabled = !twoWay;
  $('import-group').disabled = !twoWay;
  flagBox('createPersonsForAttendees').disabled = !flagBox('linkContacts').checked;
}

function readSettings() {
  return {
    enabled: $('enabled').checked,
    calendarId: $('calendar').value || null,
    mode: document.querySelector('input[name=mode]:checked').value,
    titleTemplate: $('title-template').value,
    activityTypesOut: [...document.querySelectorAll('input[data-type-out]:checked')].map((b) => b.value),
    incomingActivityType: $('incoming-type').value,
    privateEvents: document.querySelector('input[name=privateEvents]:checked').value,
    contactDetails: $('contact-details').checked,
    deletion: document.querySelector('input[name=deletion]:checked').value,
    ...Object.fromEntries(FLAGS.map((name) => [name, flagBox(name).checked])),
  };
}

let previewTimer = null;
function preview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    try {
      const r = await api('POST', '/api/me/title-preview', { template: $('title-template').value });
      $('title-preview').textContent = r.ok ? `Preview: ${r.preview}` : r.problems.join(' ');
    } catch (err) {
      $('title-preview').textContent = err.message;
    }
  }, 200);
}

async function save(event) {
  event.preventDefault();
  $('save-result').textContent = 'Saving…';
  try {
    const r = await api('PUT', '/api/me/settings', readSettings());
    fillSettings(r.settings);
    $('save-result').textContent = 'Saved.';
  } catch (err) {
    $('save-result').textContent = [err.message, ...err.problems].join(' ');
  }
}

async function createCalendar() {
  try {
    const c = await api('POST', '/api/me/calendars', { summary: 'Pipedrive' });
    await loadCalendars(c.id);
    $('save-result').textContent = `Created the calendar “${c.summary}”. Save to use it.`;
  } catch (err) {
    $('save-result').textContent = err.message;
  }
}

const FINISHED = ['completed', 'cancelled', 'failed'];

function describeProgress(p) {
  const handled = p.done + p.skipped + p.excluded + p.failed;
  const percent = p.state === 'completed' ? 100 : p.total ? Math.min(99, Math.floor((handled / p.total) * 100)) : 0;
  const parts = [`${p.done} uploaded`, `${p.skipped} already in the calendar`];
  if (p.excluded) parts.push(`${p.excluded} not synced by your settings`);
  if (p.failed) parts.push(`${p.failed} failed (${p.failures.map((f) => f.reason).slice(-1)[0] ?? 'see the log'})`);
  parts.push(`of ${p.total}${p.scanComplete ? '' : '+'} found`);
  if (p.eventsPerMinute) parts.push(`${Math.round(p.eventsPerMinute)} per minute`);
  if (p.estimatedSecondsLeft && !FINISHED.includes(p.state))
    parts.push(`about ${Math.ceil(p.estimatedSecondsLeft / 60)} min left`);
  const label =
    {
      scanning: 'Looking for activities',
      uploading: 'Uploading',
      'backing-off': 'Waiting for Google',
      completed: 'Done',
      cancelled: 'Cancelled',
      failed: 'Failed',
    }[p.state] || p.state;
  return { percent, text: `${label}: ${parts.join(', ')}.` };
}

async function refreshUpload() {
  let p;
  try {
    p = (await api('GET', '/api/me/upload')).progress;
  } catch (err) {
    $('upload-text').textContent = err.message;
    return;
  }
  if (!p) return;
  const { percent, text } = describeProgress(p);
  const bar = $('upload-progress');
  bar.hidden = false;
  bar.value = percent;
  bar.textContent = `${percent}%`;
  $('upload-text').textContent = text;
  const running = !FINISHED.includes(p.state);
  $('upload').disabled = running;
  clearTimeout(uploadTimer);
  if (running) uploadTimer = setTimeout(refreshUpload, 1000);
}

async function upload() {
  $('upload').disabled = true;
  try {
    await api('POST', '/api/me/upload', {});
    $('upload-text').textContent = 'Upload started…';
    setTimeout(refreshUpload, 300);
  } catch (err) {
    $('upload-text').textContent = err.message;
    $('upload').disabled = false;
  }
}

function renderActivity() {
  const list = $('audit');
  list.replaceChildren();
  for (const a of me.audit) {
    const li = document.createElement('li');
    li.className = a.outcome;
    const when = new Date(a.at).toLocaleString();
    const direction =
      a.direction === 'pipedrive-to-google'
        ? 'Pipedrive → Google'
        : a.direction === 'google-to-pipedrive'
          ? 'Google → Pipedrive'
          : 'Sync';
    li.textContent = `${when} · ${direction} · ${a.action} ${a.subject ?? ''}${a.outcome === 'failed' ? ' (failed)' : ''}`;
    list.append(li);
  }
  if (!me.audit.length)
    list.append(Object.assign(document.createElement('li'), { textContent: 'Nothing synced yet.' }));
}

/** What holds the whole sync up (the status says until when), as sentences after the state; a needed reconnect
 * has its own box with the button. */
function attention(s) {
  let text = '';
  if (s.pipedriveBudgetPausedUntil)
    text += ` Pipedrive’s daily API budget is spent: the sync waits until ${new Date(s.pipedriveBudgetPausedUntil).toLocaleString()}.`;
  return text;
}

/** `3 min ago`, `in 2 min`, `just now`. */
function relative(iso) {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const [n, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [Math.round(abs / 60), 'min']
        : abs < 86400
          ? [Math.round(abs / 3600), 'h']
          : [Math.round(abs / 86400), 'd'];
  return seconds < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** A relative time, the exact one on hover (and for machines in `datetime`). */
function showTime(el, iso, never) {
  el.textContent = iso ? relative(iso) : never;
  if (iso) {
    el.dateTime = iso;
    el.title = new Date(iso).toLocaleString();
  } else {
    el.removeAttribute('datetime');
    el.removeAttribute('title');
  }
}

const PROVIDERS = { google: 'Google', pipedrive: 'Pipedrive' };

/** The sync health panel: what state the sync is in, when it last synced, what waits, what fails, what to do. */
function renderHealth() {
  const s = me.status;
  $('sync-state').textContent = s
    ? `Sync is ${s.state}${s.lastError ? `. Last problem: ${s.lastError.message}` : '.'}${attention(s)}`
    : 'The sync has not started yet.';
  const reconnect = s ? s.needsReconnect : null;
  $('reconnect').hidden = !reconnect;
  if (reconnect) {
    const name = PROVIDERS[reconnect];
    $('reconnect-text').textContent =
      `${name} needs reconnecting: its authorization was revoked or expired, so nothing reaches ${name} until you connect it again.`;
    $('reconnect-button').textContent = `Reconnect ${name}`;
    $('reconnect-button').href = `/connect/${reconnect}`;
  }
  const last = (s && s.lastSyncedAt) || {};
  showTime($('last-p2g'), last.pipedriveToGoogle, 'not yet');
  showTime($('last-g2p'), last.googleToPipedrive, 'not yet');
  showTime($('next-pass'), s ? s.nextSafetyNetAt : null, 'none scheduled (the sync is off)');
  $('waiting').textContent = s ? (s.queued ? `${s.queued} item${s.queued === 1 ? '' : 's'}` : 'nothing') : '–';
  renderUnresolved(s ? (s.unresolved ?? []) : []);
  renderResync(s);
}

/** Items that failed for good and have not synced since: shown with their reason until they do. */
function renderUnresolved(unresolved) {
  const box = $('unresolved');
  box.hidden = unresolved.length === 0;
  const list = $('unresolved-list');
  list.replaceChildren();
  for (const f of unresolved) {
    const li = document.createElement('li');
    li.dataset.subject = f.subject;
    const times = f.times > 1 ? `, ${f.times} times` : '';
    const text = document.createElement('span');
    text.textContent = `${f.subject}: ${f.message} (since ${new Date(f.firstAt).toLocaleString()}${times})`;
    li.append(text);
    if (f.retryable) {
      const retry = Object.assign(document.createElement('button'), {
        type: 'button',
        className: 'secondary retry',
        textContent: 'Retry',
      });
      retry.setAttribute('aria-label', `Retry ${f.subject}`);
      retry.addEventListener('click', () => retryFailure(f.subject, retry));
      li.append(' ', retry);
    } else {
      li.append(
        Object.assign(document.createElement('span'), {
          className: 'hint',
          textContent: ' Syncs again when it changes in Google, or with Resync now.',
        }),
      );
    }
    list.append(li);
  }
}

/** Resync now: disabled while its pass runs, then its outcome. */
function renderResync(s) {
  const r = s ? s.resync : null;
  const running = Boolean(r && !r.finishedAt);
  $('resync').disabled = !s || running || !(s.settings && s.settings.enabled);
  if (!r) return;
  if (running) {
    $('resync-result').textContent =
      s.state === 'paused'
        ? 'Resync queued: the sync is paused.'
        : `Resyncing… ${r.pending.length} step${r.pending.length === 1 ? '' : 's'} left.`;
    return;
  }
  const at = new Date(r.finishedAt).toLocaleTimeString();
  $('resync-result').textContent = r.failed
    ? `Resync finished at ${at}; ${r.failed} step${r.failed === 1 ? '' : 's'} failed (listed above).`
    : `Resync finished at ${at}: both sides checked.`;
}

async function resync() {
  $('resync').disabled = true;
  $('resync-result').textContent = 'Resync requested…';
  try {
    const r = await api('POST', '/api/me/resync', {});
    me.status = r.status;
    renderHealth();
  } catch (err) {
    $('resync-result').textContent = err.message;
    $('resync').disabled = false;
  }
}

async function retryFailure(subject, button) {
  button.disabled = true;
  try {
    const r = await api('POST', '/api/me/retry', { subject });
    me.status = r.status;
    button.textContent = 'Retrying…';
  } catch (err) {
    flash(err.message);
    button.disabled = false;
  }
}

async function refreshActivity() {
  try {
    me = await api('GET', '/api/me');
    renderActivity();
    renderHealth();
  } catch {
    /* transient; the next round tries again */
  }
}

async function disconnect() {
  if (!confirm('Disconnect and stop syncing?')) return;
  try {
    await api('POST', '/api/me/disconnect');
    location.href =
      '/settings?error=' + encodeURIComponent('Disconnected. Your events and activities stay where they are.');
  } catch (err) {
    flash(err.message);
  }
}

$('settings').addEventListener('submit', save);
$('settings').addEventListener('input', () => ($('save-result').textContent = ''));
$('title-template').addEventListener('input', preview);
$('create-calendar').addEventListener('click', createCalendar);
$('upload').addEventListener('click', upload);
$('resync').addEventListener('click', resync);
for (const el of document.querySelectorAll('input[name=mode], #link-contacts'))
  el.addEventListener('change', whatApplies);
$('disconnect').addEventListener('click', disconnect);
load();
