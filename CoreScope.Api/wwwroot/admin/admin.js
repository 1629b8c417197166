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
    case 507:
      return 'The server has too little disk space for a snapshot (507): ' + detail;
    default:
      return 'Failed (' + response.status + '): ' + detail;
  }
}

function fileNameFrom(response, fallback) {
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename="?([^";]+)"?/.exec(disposition);
  return match ? match[1] : fallback;
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
  progress.removeAttribute('value');
  setStatus(status, 'Making the snapshot…');
  try {
    const query = $('compress').checked ? '?compress=gzip' : '';
    const response = await fetch('/api/backup' + query, { headers: { 'X-API-Key': apiKey() }, cache: 'no-store' });
    if (!response.ok) {
      setStatus(status, await explain(response), 'error');
      return;
    }

    const total = Number(response.headers.get('Content-Length')) || 0;
    const reader = response.body.getReader();
    const chunks = [];
    let received = 0;
    if (total > 0) {
      progress.max = total;
      progress.value = 0;
    }
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      if (total > 0) progress.value = received;
      setStatus(status, 'Downloading… ' + (received / 1048576).toFixed(1) + ' MB' + (total > 0 ? ' of ' + (total / 1048576).toFixed(1) + ' MB' : ''));
    }

    const name = fileNameFrom(response, 'corescope-backup.db');
    const url = URL.createObjectURL(new Blob(chunks, { type: response.headers.get('Content-Type') || 'application/octet-stream' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setStatus(status, 'Saved ' + name + ' (' + (received / 1048576).toFixed(1) + ' MB).', 'ok');
  } catch (error) {
    setStatus(status, 'The download failed: ' + error.message, 'error');
  } finally {
    button.disabled = false;
    progress.hidden = true;
  }
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

document.addEventListener('DOMContentLoaded', () => {
  const input = $('api-key');
  input.value = sessionStorage.getItem(keyStorageName) || '';
  input.addEventListener('input', () => sessionStorage.setItem(keyStorageName, input.value.trim()));
  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(keyStorageName);
    input.value = '';
  });
  $('download').addEventListener('click', downloadBackup);
  $('prune').addEventListener('click', prune);
});
