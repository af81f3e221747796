// The settings page: plain DOM code, no framework. Everything goes through the JSON API under /api/me,
// which only ever serves the signed-in user's own connection.
'use strict';

const $ = (id) => document.getElementById(id);
let csrf = '';
let me = null;
let uploadTimer = null;

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
  if (!(me.google.connected && me.pipedrive.connected)) {
    flash('Connect both accounts to set up the sync.', true);
    return;
  }
  await Promise.all([loadCalendars(), loadTypes()]);
  fillSettings(me.settings);
  $('settings').hidden = false;
  $('upload-section').hidden = false;
  $('activity-section').hidden = false;
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
  preview();
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
  const s = me.status;
  $('sync-state').textContent = s
    ? `Sync is ${s.state}${s.queued ? ` (${s.queued} waiting)` : ''}${s.lastError ? `. Last problem: ${s.lastError.message}` : '.'}${attention(s)}`
    : 'The sync has not started yet.';
  renderUnresolved(s ? (s.unresolved ?? []) : []);
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

/** What holds the whole sync up (the status says until when), as sentences after the state. */
function attention(s) {
  let text = '';
  if (s.needsReconnect)
    text += ` ${s.needsReconnect === 'google' ? 'Google' : 'Pipedrive'} needs reconnecting: its authorization was revoked or expired.`;
  if (s.pipedriveBudgetPausedUntil)
    text += ` Pipedrive’s daily API budget is spent: the sync waits until ${new Date(s.pipedriveBudgetPausedUntil).toLocaleString()}.`;
  return text;
}

/** Items that failed for good and have not synced since: shown until they do. */
function renderUnresolved(unresolved) {
  const box = $('unresolved');
  box.hidden = unresolved.length === 0;
  const list = $('unresolved-list');
  list.replaceChildren();
  for (const f of unresolved) {
    const li = document.createElement('li');
    const times = f.times > 1 ? `, ${f.times} times` : '';
    li.textContent = `${f.subject}: ${f.message} (since ${new Date(f.firstAt).toLocaleString()}${times})`;
    list.append(li);
  }
}

async function refreshActivity() {
  try {
    me = await api('GET', '/api/me');
    renderActivity();
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
$('disconnect').addEventListener('click', disconnect);
load();
