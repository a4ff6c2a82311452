// The tunnel page (docs/ui.md "Tunnel page"): /tunnel.html?name=NAME, refreshed every second without reloading.
// The DOM ids and data attributes (#session-state, #paths tr[data-path], #switches li[data-switch], #timeline) are
// what the browser tests read: keep them.
'use strict';

(() => {
  const name = new URLSearchParams(location.search).get('name');
  const $ = id => document.getElementById(id);
  const text = (id, value) => { $(id).textContent = value === null || value === undefined || value === '' ? '–' : String(value); };
  let timeline = null;

  function cell(row, value, className) {
    const td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '–' : String(value);
    if (className) { td.className = className; }
    row.append(td);
    return td;
  }

  function renderInterface(s) {
    const i = s.interface || {};
    text('if-name', i.name);
    text('if-public-key', i.publicKey);
    text('if-listen-port', i.listenPort);
    text('if-addresses', (i.addresses || []).join(', '));
  }

  function renderSession(s) {
    const x = s.session;
    if (!s.running) {
      text('session-state', 'Not running');
    } else if (!x) {
      text('session-state', s.isServer ? 'Server (sessions on the Server page)' : 'No session (plain WireGuard)');
    } else {
      text('session-state', jvpnFormat.words(x.state));
    }
    text('session-id', x && x.id);
    text('session-version', x && x.version);
    text('session-endpoint', x && x.boundEndpoint);
    text('session-reason', x && jvpnFormat.words(x.lastReason));
    text('session-switches', x && x.switches);
  }

  function renderPaths(s) {
    const body = $('paths').tBodies[0];
    const rows = [];
    for (const p of s.paths) {
      const tr = document.createElement('tr');
      tr.dataset.path = p.interface;
      tr.dataset.role = p.role;
      tr.dataset.state = p.state;
      cell(tr, p.interface);
      cell(tr, p.localAddress);
      cell(tr, p.detail === 'pending' ? 'standby (switching to it)' : p.role);
      cell(tr, p.state);
      cell(tr, jvpnFormat.ms(p.rttMs));
      cell(tr, jvpnFormat.percent(p.loss));
      cell(tr, p.lastReplyAgeMs === null ? 'never' : jvpnFormat.ms(p.lastReplyAgeMs) + ' ago');
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    $('paths-empty').hidden = s.paths.length > 0;
  }

  function renderSwitches(switches) {
    const items = [];
    for (const w of [...switches].sort((a, b) => b.atMs - a.atMs)) {
      const li = document.createElement('li');
      li.dataset.switch = String(w.atMs);
      li.dataset.from = w.from;
      li.dataset.to = w.to;
      li.dataset.reason = w.reason;
      li.dataset.gapMs = String(w.gapMs);
      const time = document.createElement('time');
      time.dateTime = new Date(w.atMs).toISOString();
      time.textContent = jvpnFormat.clock(w.atMs);
      li.append(time, document.createTextNode(w.text));
      items.push(li);
    }
    $('switches').replaceChildren(...items);
    $('switches-empty').hidden = items.length > 0;
  }

  function renderPeers(s) {
    const rows = [];
    for (const p of s.peers) {
      const tr = document.createElement('tr');
      cell(tr, p.publicKey, 'key');
      cell(tr, p.endpoint);
      cell(tr, jvpnFormat.ago(p.latestHandshakeAgeSeconds));
      cell(tr, jvpnFormat.bytes(p.rxBytes));
      cell(tr, jvpnFormat.bytes(p.txBytes));
      cell(tr, p.allowedIps.join(', '));
      rows.push(tr);
    }
    $('peers').tBodies[0].replaceChildren(...rows);
    const more = $('peers-more');
    more.hidden = s.peerCount <= s.peers.length;
    more.textContent = `${s.peers.length} of ${s.peerCount} peers shown; the Server page lists and searches all of them.`;
  }

  function mergeSwitches(fromStatus) {
    // The status reply carries the recorder's switches as of this second; the timeline's may be a second older.
    const all = new Map();
    for (const w of timeline.switchList().concat(fromStatus)) { all.set(w.atMs + '|' + w.from + '|' + w.to, w); }
    return [...all.values()];
  }

  async function tick() {
    try {
      const s = await jvpn.getJson('/api/tunnel/' + encodeURIComponent(name) + '/status');
      renderInterface(s);
      renderSession(s);
      renderPaths(s);
      renderPeers(s);
      const state = s.running ? 'active' : s.state;
      $('status').textContent = s.problem ? s.problem : `${s.name}: ${state}${s.isServer ? ' (server)' : ''}`;
      $('status').classList.toggle('error', Boolean(s.problem));
      try {
        await timeline.refresh();
      } catch (e) {
        $('status').textContent = 'Timeline: ' + e.message;
      }
      renderSwitches(mergeSwitches(s.switches));
    } catch (e) {
      $('status').textContent = e.message;
      $('status').classList.add('error');
    } finally {
      setTimeout(tick, 1000);
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (!name) {
      $('status').textContent = 'No tunnel named in the address: open a tunnel from the Tunnels page.';
      $('status').classList.add('error');
      return;
    }
    document.title = name + ' · jvpn';
    $('tunnel-title').textContent = name;
    $('events-link').href = '/events.html?name=' + encodeURIComponent(name);
    timeline = new JvpnTimeline($('timeline'), name);
    tick();
  });
})();
