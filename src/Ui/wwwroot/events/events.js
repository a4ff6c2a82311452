// The Events page (docs/ui.md "Events"): a tunnel's audit events as sentences, newest first, filtered by kind
// and text, the raw line on demand; and its daemon log with copy and save. Polls every second with a cursor,
// like `jvpn events --follow`.
'use strict';

(() => {
  const MaxEvents = 2000;
  const $ = id => document.getElementById(id);
  let tunnel = null;
  let cursor = 0;
  let events = [];   // oldest first
  let logText = '';
  let timer = null;
  let generation = 0;

  function matches(e) {
    const kind = $('events-kind').value;
    const needle = $('events-filter').value.trim().toLowerCase();
    if (kind && e.kind !== kind) { return false; }
    return !needle || e.text.toLowerCase().includes(needle) || e.type.toLowerCase().includes(needle)
      || (e.sessionId || '').toLowerCase().includes(needle);
  }

  function item(e) {
    const li = document.createElement('li');
    li.dataset.kind = e.kind;
    li.dataset.type = e.type;
    const time = document.createElement('time');
    if (e.tsMs !== null) {
      time.dateTime = new Date(e.tsMs).toISOString();
      time.textContent = new Date(e.tsMs).toLocaleString(undefined, { hour12: false });
    } else {
      time.textContent = '–';
    }
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = e.text;
    const type = document.createElement('span');
    type.className = 'type';
    type.textContent = e.type;
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Raw';
    const pre = document.createElement('pre');
    pre.textContent = e.raw;
    details.append(summary, pre);
    li.append(time, text, type, details);
    return li;
  }

  function render() {
    const shown = [];
    for (let i = events.length - 1; i >= 0; i--) {
      if (matches(events[i])) { shown.push(item(events[i])); }
    }
    $('events').replaceChildren(...shown);
    return shown.length;
  }

  async function pollEvents(gen) {
    const page = await jvpn.getJson('/api/events/' + encodeURIComponent(tunnel) + '?cursor=' + cursor);
    if (gen !== generation) { return; }
    cursor = page.cursor;
    if (page.events.length) {
      events = events.concat(page.events).slice(-MaxEvents);
    }
    const shown = render();
    $('events-status').textContent = page.problem
      ? page.problem
      : `${shown} of ${events.length} event(s)` + (events.length >= MaxEvents ? ` (the newest ${MaxEvents} are kept)` : '');
    $('events-status').classList.toggle('error', Boolean(page.problem));
  }

  async function pollLog(gen) {
    const lines = await jvpn.getJson('/api/events/' + encodeURIComponent(tunnel) + '/log');
    if (gen !== generation) { return; }
    const text = lines.map(l => `${new Date(l.time).toLocaleString(undefined, { hour12: false })}  ${l.text}`).join('\n');
    if (text !== logText) {
      const log = $('log');
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      logText = text;
      log.textContent = text || '(no log lines yet)';
      if (atBottom) { log.scrollTop = log.scrollHeight; }
    }
  }

  async function tick(gen) {
    if (gen !== generation) { return; }
    try {
      await pollEvents(gen);
      await pollLog(gen);
    } catch (e) {
      $('events-status').textContent = e.message;
      $('events-status').classList.add('error');
    } finally {
      if (gen === generation) { timer = setTimeout(() => tick(gen), 1000); }
    }
  }

  function select(name) {
    generation++;
    clearTimeout(timer);
    tunnel = name;
    cursor = 0;
    events = [];
    logText = '';
    $('events').replaceChildren();
    $('log').textContent = '';
    $('log-save').href = '/api/events/' + encodeURIComponent(name) + '/log.txt';
    $('log-save').setAttribute('download', name + '.log');
    history.replaceState(null, '', '/events.html?name=' + encodeURIComponent(name));
    tick(generation);
  }

  async function copyLog() {
    try {
      await navigator.clipboard.writeText(logText);
      $('log-status').textContent = `Copied ${logText ? logText.split('\n').length : 0} line(s).`;
    } catch {
      // Clipboard refused (permissions): select the text so Ctrl+C copies it.
      const range = document.createRange();
      range.selectNodeContents($('log'));
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      $('log-status').textContent = 'The browser did not allow copying: the log is selected, press Ctrl+C.';
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    $('events-controls').addEventListener('submit', e => e.preventDefault());
    $('events-kind').addEventListener('change', render);
    $('events-filter').addEventListener('input', render);
    $('events-tunnel').addEventListener('change', e => select(e.target.value));
    $('log-copy').addEventListener('click', copyLog);
    let tunnels;
    try {
      tunnels = await jvpn.getJson('/api/events');
    } catch (e) {
      $('events-status').textContent = e.message;
      $('events-status').classList.add('error');
      return;
    }
    if (tunnels.length === 0) {
      $('events-status').textContent = 'No tunnels yet: import one on the Tunnels page.';
      return;
    }
    const options = tunnels.map(t => {
      const o = document.createElement('option');
      o.value = t.name;
      o.textContent = `${t.name} (${t.state})`;
      return o;
    });
    $('events-tunnel').replaceChildren(...options);
    const wanted = new URLSearchParams(location.search).get('name');
    const first = tunnels.find(t => t.name === wanted) || tunnels.find(t => t.state === 'active') || tunnels[0];
    $('events-tunnel').value = first.name;
    select(first.name);
  });
})();
