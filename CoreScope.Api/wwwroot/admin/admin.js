// The admin page: every request carries the key from this tab's session storage; nothing else is stored.
'use strict';

const keyStorageName = 'corescope.apiKey';
const $ = (id) => document.getElementById(id);

function apiKey() {
  return $('api-key').value.trim();
}

function setStatus(element, text, kind) {
  element.textContent = text;
  element.className = 'status' + (kind ? ' ' + kind : '');
}

// The server's ProblemDetails carry "error"; turn the statuses an operator meets into what to do next.
async function explain(response) {
  let detail = '';
  try {
    const body = await response.json();
    detail = body.error || body.detail || body.title || '';
  } catch {
    detail = response.statusText;
  }
  switch (response.status) {
    case 401:
      return 'The API key was not accepted (401): check the key typed above. ' + detail;
    case 403:
      return 'Refused (403): ' + detail;
    case 429: {
      const wait = response.headers.get('Retry-After');
      return 'Too many backups right now (429): wait ' + (wait ? wait + ' seconds' : 'a moment') + ' and try again. ' + detail;
    }
    case 404:
      return 'Not found (404): ' + detail;
    case 409:
      return 'Refused (409): ' + detail;
    case 413:
      return 'Too large (413): ' + detail;
    case 422:
      return 'This file cannot be restored (422): ' + detail;
    case 503:
      return 'The database is busy being restored (503): try again in a moment. ' + detail;
    case 507:
      return 'The server has too little disk space (507): ' + detail;
    default:
      return 'Failed (' + response.status + '): ' + detail;
  }
}

function megabytes(bytes) {
  return (bytes / 1048576).toFixed(1) + ' MB';
}

function api(path, options = {}) {
  return fetch(path, { ...options, headers: { 'X-API-Key': apiKey() }, cache: 'no-store' });
}

// The browser saves the file itself, straight to disk with its own progress: the page never holds the bytes.
// The link downloads without the key, so the key never appears in a URL or the browser's history.
async function saveThroughLink(id, status) {
  const response = await api('/api/backups/' + encodeURIComponent(id) + '/link', { method: 'POST' });
  if (!response.ok) {
    setStatus(status, await explain(response), 'error');
    return false;
  }
  const link = await response.json();
  const anchor = document.createElement('a');
  anchor.href = link.url;
  anchor.download = '';
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  return true;
}

async function downloadBackup() {
  const status = $('backup-status');
  const progress = $('progress');
  const button = $('download');
  if (!apiKey()) {
    setStatus(status, 'Type the API key first.', 'error');
    return;
  }

  button.disabled = true;
  progress.hidden = false;
  setStatus(status, 'Making the backup…');
  try {
    const query = $('compress').checked ? '?compress=gzip' : '';
    const response = await api('/api/backups' + query, { method: 'POST' });
    if (!response.ok) {
      setStatus(status, await explain(response), 'error');
      return;
    }

    const manifest = await response.json();
    if (await saveThroughLink(manifest.id, status)) {
      setStatus(status, 'Your browser is saving ' + manifest.fileName + ' (' + megabytes(manifest.sizeBytes) + ', SHA-256 ' +
        manifest.sha256 + '); it is also kept in the store below.', 'ok');
    }
    await refreshBackups();
  } catch (error) {
    setStatus(status, 'The backup failed: ' + error.message, 'error');
  } finally {
    button.disabled = false;
    progress.hidden = true;
  }
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(text, className, onClick) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = text;
  element.className = className;
  element.addEventListener('click', onClick);
  return element;
}

function describeRows(rows) {
  return (rows.transmissions ?? 0) + ' transmissions, ' + (rows.observations ?? 0) + ' observations';
}

// The manifest's drill: proven restorable (and when), the first problem of a drill that failed, or nothing yet.
function describeDrill(drill) {
  if (!drill) return 'not drilled yet';
  const when = new Date(drill.at).toLocaleString();
  if (drill.outcome === 'passed') return 'verified restorable (' + when + ')';
  return 'drill failed (' + when + '): ' + (drill.problems[0] || 'no reason given');
}

function renderBackups(list) {
  const body = $('backups').querySelector('tbody');
  body.replaceChildren();
  for (const backup of list.backups) {
    const row = document.createElement('tr');
    row.dataset.id = backup.id;
    const good = backup.status === 'ok';
    if (!good) row.className = 'damaged';
    cell(row, new Date(backup.createdAt).toLocaleString());
    cell(row, megabytes(backup.sizeBytes));
    cell(row, backup.trigger);
    cell(row, describeRows(backup.rows));
    cell(row, good ? (backup.integrity ?? 'not checked') : 'damaged: ' + backup.status, 'integrity');
    const drill = backup.drill;
    cell(row, describeDrill(drill), 'drill' + (drill && drill.outcome !== 'passed' ? ' failed' : ''));
    const actions = cell(row, '', 'actions');
    if (good) {
      actions.appendChild(button('Download', 'download-stored', () => downloadStored(backup)));
      actions.appendChild(button('Drill', 'secondary drill-stored', () => drillStored(backup)));
    }
    actions.appendChild(button('Delete', 'danger delete-stored', () => deleteStored(backup)));
    body.appendChild(row);
  }
  $('backups').hidden = list.backups.length === 0;
  $('backups-empty').hidden = list.backups.length > 0;
  if (list.lastFailure) {
    setStatus($('stored-status'), 'The last backup that failed (' + new Date(list.lastFailure.at).toLocaleString() + ', ' +
      list.lastFailure.trigger + '): ' + list.lastFailure.error, 'error');
  }
}

async function refreshBackups() {
  if (!apiKey()) return;
  const response = await api('/api/backups');
  if (!response.ok) {
    setStatus($('stored-status'), await explain(response), 'error');
    return;
  }
  renderBackups(await response.json());
}

async function storeNow() {
  const status = $('stored-status');
  const storeButton = $('store-now');
  if (!apiKey()) {
    setStatus(status, 'Type the API key first.', 'error');
    return;
  }
  storeButton.disabled = true;
  setStatus(status, 'Making the backup…');
  try {
    const response = await api('/api/backups', { method: 'POST' });
    if (!response.ok) {
      setStatus(status, await explain(response), 'error');
      return;
    }
    const manifest = await response.json();
    setStatus(status, 'Stored ' + manifest.fileName + ' (' + megabytes(manifest.sizeBytes) + ', integrity ' + (manifest.integrity ?? 'not checked') + ').', 'ok');
    await refreshBackups();
  } finally {
    storeButton.disabled = false;
  }
}

async function downloadStored(backup) {
  const status = $('stored-status');
  if (await saveThroughLink(backup.id, status)) {
    setStatus(status, 'Your browser is saving ' + backup.fileName + ' (' + megabytes(backup.sizeBytes) + ').', 'ok');
  }
}

async function drillStored(backup) {
  const status = $('stored-status');
  const buttons = document.querySelectorAll('button.drill-stored');
  buttons.forEach((element) => { element.disabled = true; });
  setStatus(status, 'Drilling ' + backup.fileName + ': restoring it into a scratch file and checking it…');
  try {
    const response = await api('/api/backups/' + encodeURIComponent(backup.id) + '/drill', { method: 'POST' });
    if (!response.ok) {
      setStatus(status, await explain(response), 'error');
      return;
    }
    const manifest = await response.json();
    const drill = manifest.drill;
    if (drill.outcome === 'passed') {
      setStatus(status, backup.fileName + ' is verified restorable (drill passed in ' + (drill.durationMs / 1000).toFixed(1) + ' s).', 'ok');
    } else {
      setStatus(status, 'The drill of ' + backup.fileName + ' failed: ' + drill.problems.join(' '), 'error');
    }
    await refreshBackups();
  } catch (error) {
    setStatus(status, 'The drill failed: ' + error.message, 'error');
  } finally {
    buttons.forEach((element) => { element.disabled = false; });
  }
}

async function deleteStored(backup) {
  const status = $('stored-status');
  if (!window.confirm('Delete the stored backup of ' + new Date(backup.createdAt).toLocaleString() + ' (' + backup.fileName + ')? This cannot be undone.')) {
    setStatus(status, 'Nothing was deleted.');
    return;
  }
  const response = await api('/api/backups/' + encodeURIComponent(backup.id), { method: 'DELETE' });
  if (!response.ok) {
    setStatus(status, await explain(response), 'error');
    return;
  }
  setStatus(status, 'Deleted ' + backup.fileName + '.', 'ok');
  await refreshBackups();
}

async function prune() {
  const status = $('prune-status');
  const days = Number($('prune-days').value);
  if (!apiKey()) {
    setStatus(status, 'Type the API key first.', 'error');
    return;
  }
  if (!Number.isInteger(days) || days < 1) {
    setStatus(status, 'Days must be a whole number of at least 1.', 'error');
    return;
  }
  if (!window.confirm('Delete every packet older than ' + days + ' days? This cannot be undone; download a backup first.')) {
    setStatus(status, 'Nothing was deleted.');
    return;
  }

  const response = await fetch('/api/admin/prune?days=' + days, { method: 'POST', headers: { 'X-API-Key': apiKey() } });
  if (!response.ok) {
    setStatus(status, await explain(response), 'error');
    return;
  }
  const result = await response.json();
  setStatus(status,
    'Deleted ' + result.packets_deleted + ' packets and ' + result.observations_deleted + ' observations; ' +
    result.observers_inactive + ' observers marked inactive.', 'ok');
}

// What the confirmation says is about to be replaced: the live database as /api/stats counts it.
async function liveDescription() {
  try {
    const response = await fetch('/api/stats', { cache: 'no-store' });
    const stats = await response.json();
    return 'the live database (' + stats.totalTransmissions + ' transmissions, ' + stats.totalObservations +
      ' observations, ' + stats.totalNodes + ' nodes)';
  } catch {
    return 'the live database';
  }
}

// XMLHttpRequest rather than fetch: it reports upload progress, which a large file needs.
function postRestore(query, body, progress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/api/admin/restore' + query);
    request.setRequestHeader('X-API-Key', apiKey());
    request.responseType = 'json';
    if (body) {
      request.setRequestHeader('Content-Type', /\.gz$/i.test(body.name) ? 'application/gzip' : 'application/octet-stream');
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) {
          progress.max = event.total;
          progress.value = event.loaded;
        }
      };
    }
    request.onload = () => resolve(request);
    request.onerror = () => reject(new Error('the connection failed'));
    request.send(body || null);
  });
}

function explainRestore(request) {
  const body = request.response || {};
  return explain({
    status: request.status,
    statusText: request.statusText,
    headers: { get: (name) => request.getResponseHeader(name) },
    json: async () => body,
  });
}

async function restore(fromStored) {
  const status = $('restore-status');
  const progress = $('restore-progress');
  const dryRun = $('restore-dry-run').checked;
  if (!apiKey()) {
    setStatus(status, 'Type the API key first.', 'error');
    return;
  }

  const file = fromStored ? null : $('restore-file').files[0];
  const id = fromStored ? $('restore-id').value.trim() : '';
  if (!fromStored && !file) {
    setStatus(status, 'Choose a backup file (.db or .db.gz) first.', 'error');
    return;
  }
  if (fromStored && !id) {
    setStatus(status, 'Type the id of a stored backup first.', 'error');
    return;
  }

  const source = file ? file.name + ' (' + (file.size / 1048576).toFixed(1) + ' MB)' : 'the stored backup ' + id;
  if (!dryRun) {
    const replaced = await liveDescription();
    const question = 'Replace ' + replaced + ' with ' + source + '?\n\nEverything in it now is replaced. A safety copy of it ' +
      'is stored first, as a backup named <date>-pre-restore-<n> in data/backups; its id is shown afterwards, and restoring it undoes this.';
    if (!window.confirm(question)) {
      setStatus(status, 'Nothing was restored.');
      return;
    }
  }

  const buttons = [$('restore-upload'), $('restore-stored')];
  buttons.forEach((button) => { button.disabled = true; });
  progress.hidden = false;
  progress.removeAttribute('value');
  setStatus(status, dryRun ? 'Checking ' + source + '…' : 'Restoring ' + source + '…');
  try {
    const query = (fromStored ? '?from=' + encodeURIComponent(id) : '') + (dryRun ? (fromStored ? '&' : '?') + 'dryRun=true' : '');
    const request = await postRestore(query, file, progress);
    if (request.status !== 200) {
      setStatus(status, await explainRestore(request), 'error');
      return;
    }

    const result = request.response;
    const rows = result.rows || {};
    const counts = (rows.transmissions || 0) + ' transmissions, ' + (rows.observations || 0) + ' observations, ' + (rows.nodes || 0) + ' nodes';
    if (result.dryRun) {
      setStatus(status, 'Checked ' + source + ': it can be restored (' + counts + '). Nothing was changed.', 'ok');
      return;
    }
    $('restore-id').value = result.preRestoreBackupId || '';
    setStatus(status, 'Restored ' + source + ' (' + counts + ') in ' + (result.durationMs / 1000).toFixed(1) + ' s. Safety copy: ' +
      result.preRestoreBackupId + ' (restore it to undo).', 'ok');
  } catch (error) {
    setStatus(status, 'The restore failed: ' + error.message, 'error');
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
    progress.hidden = true;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const input = $('api-key');
  input.value = sessionStorage.getItem(keyStorageName) || '';
  input.addEventListener('input', () => sessionStorage.setItem(keyStorageName, input.value.trim()));
  input.addEventListener('change', refreshBackups);
  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(keyStorageName);
    input.value = '';
  });
  $('download').addEventListener('click', downloadBackup);
  $('prune').addEventListener('click', prune);
  $('store-now').addEventListener('click', storeNow);
  $('refresh-backups').addEventListener('click', refreshBackups);
  refreshBackups();
  $('restore-upload').addEventListener('click', () => restore(false));
  $('restore-stored').addEventListener('click', () => restore(true));
});
