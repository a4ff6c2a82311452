// Server mode page (docs/ui.md "Server mode"): the selected server's sessions one page at a time (the server
// searches and pages, so 100 000 sessions cost the browser one page), add-peer with its QR code and download,
// and the cluster view. Everything user- or store-supplied goes in with textContent, never as HTML.
'use strict';

(() => {
  const PAGE_SIZE = 50;
  const REFRESH_MS = 2000;
  const CLUSTER_REFRESH_MS = 5000;
  const SEARCH_DEBOUNCE_MS = 250;

  const $ = (id) => document.getElementById(id);
  const state = { tunnel: '', page: 1, pages: 1, search: '', seq: 0, timer: 0, clusterTimer: 0, download: '' };

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) { td.className = cls; }
    row.appendChild(td);
    return td;
  }

  function ago(ms) {
    if (ms < 0) { return 'never'; }
    if (ms < 1000) { return 'just now'; }
    const s = Math.round(ms / 1000);
    if (s < 120) { return s + ' s ago'; }
    const m = Math.round(s / 60);
    return m < 120 ? m + ' min ago' : Math.round(m / 60) + ' h ago';
  }

  function status(text, isError) {
    const p = $('server-status');
    p.textContent = text;
    p.classList.toggle('error', !!isError);
  }

  async function loadTunnels() {
    const list = await jvpn.getJson('/api/server/tunnels');
    const select = $('server-tunnel');
    select.replaceChildren();
    for (const t of list) {
      const o = document.createElement('option');
      o.value = t.name;
      o.textContent = t.name + ' (' + t.state + ')';
      select.appendChild(o);
    }
    const wanted = new URLSearchParams(location.search).get('tunnel');
    if (wanted && list.some((t) => t.name === wanted)) { select.value = wanted; }
    state.tunnel = select.value;
    if (list.length === 0) {
      status('No server tunnel: create one with `jvpn server init`, then import it on the Tunnels page.', false);
    }
    return list.length > 0;
  }

  async function loadSessions() {
    if (!state.tunnel) { return; }
    const seq = ++state.seq;
    const q = new URLSearchParams({ tunnel: state.tunnel, page: String(state.page), size: String(PAGE_SIZE) });
    if (state.search) { q.set('search', state.search); }
    let page;
    try {
      page = await jvpn.getJson('/api/server/sessions?' + q.toString());
    } catch (e) {
      if (seq === state.seq) { renderSessions(null, e.message); }
      return;
    }
    if (seq !== state.seq) { return; } // an answer to an older search or page: a newer request is on its way
    if (page.page > page.pages && page.pages >= 1 && state.page !== page.pages) {
      state.page = page.pages; // the list shrank under us: show its last page
      loadSessions();
      return;
    }
    renderSessions(page, '');
  }

  function renderSessions(page, error) {
    const body = $('sessions').tBodies[0];
    body.replaceChildren();
    if (!page) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = cell(tr, error);
      td.colSpan = 8;
      td.classList.add('error');
      body.appendChild(tr);
      $('session-count').textContent = '';
      $('page-info').textContent = '';
      $('page-prev').disabled = true;
      $('page-next').disabled = true;
      return;
    }
    for (const r of page.rows) {
      const tr = document.createElement('tr');
      tr.dataset.session = r.sessionId;
      tr.dataset.state = r.state.toLowerCase();
      cell(tr, r.publicKey, 'key');
      cell(tr, r.sessionId, 'mono');
      cell(tr, r.state);
      cell(tr, String(r.version));
      cell(tr, r.inner || '–', 'mono');
      cell(tr, r.endpoint || 'unbound', 'mono');
      cell(tr, ago(r.lastSeenMs));
      cell(tr, r.owner || '–');
      body.appendChild(tr);
    }
    if (page.rows.length === 0) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = cell(tr, state.search ? 'No session matches “' + state.search + '”.' : 'No sessions yet.');
      td.colSpan = 8;
      body.appendChild(tr);
    }
    state.pages = page.pages;
    $('session-count').textContent = state.search
      ? page.matched + ' of ' + page.total + ' sessions match'
      : page.total + ' sessions';
    $('page-info').textContent = 'Page ' + page.page + ' of ' + page.pages;
    $('page-prev').disabled = page.page <= 1;
    $('page-next').disabled = page.page >= page.pages;
  }

  async function loadCluster() {
    if (!state.tunnel) { return; }
    const tunnel = state.tunnel;
    let view;
    try {
      view = await jvpn.getJson('/api/server/cluster?tunnel=' + encodeURIComponent(tunnel));
    } catch (e) {
      $('cluster-store').textContent = e.message;
      return;
    }
    if (tunnel !== state.tunnel) { return; }
    const table = $('cluster-nodes');
    const p = $('cluster-store');
    if (!view.configured) {
      p.textContent = view.problem || 'No store configured: this server runs alone ([Jumping] Store names a cluster store).';
      table.hidden = true;
      return;
    }
    // The manager reads the store in the background (two heartbeat readings NodeTtl apart); the answer is its
    // latest reading, with its age.
    const age = view.ageMs == null ? '' : ' (read ' + (view.ageMs / 1000).toFixed(1) + ' s ago)';
    p.dataset.ageMs = view.ageMs == null ? '' : String(view.ageMs);
    p.textContent = view.pending
      ? 'Reading store ' + view.store + ' (the first reading takes about NodeTtl, ' + view.nodeTtlMs + ' ms)…'
      : view.problem
        ? 'Store ' + view.store + ': ' + view.problem + age
        : 'Store ' + view.store + ' is ' + (view.storeUp ? 'up (' + view.latencyMs + ' ms)' : 'down') + ', NodeTtl ' + view.nodeTtlMs
          + ' ms, ' + view.sessions + ' sessions' + (view.malformed > 0 ? ', ' + view.malformed + ' malformed entries skipped' : '') + age + '.';
    p.classList.toggle('error', !view.pending && (!!view.problem || !view.storeUp));
    if (view.pending) {
      setTimeout(loadCluster, 1000);
      return;
    }
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const n of view.nodes) {
      const tr = document.createElement('tr');
      tr.dataset.node = n.nodeId;
      cell(tr, n.nodeId);
      cell(tr, String(n.epoch));
      cell(tr, n.alive ? 'alive' : 'dead', n.alive ? 'alive' : 'dead');
      cell(tr, n.endpoint || '–', 'mono');
      cell(tr, n.draining ? 'draining' : 'no');
      cell(tr, String(n.sessions));
      body.appendChild(tr);
    }
    table.hidden = view.nodes.length === 0;
  }

  async function addPeer(event) {
    event.preventDefault();
    const message = $('peer-message');
    message.classList.remove('error');
    message.textContent = 'Adding…';
    const address = $('peer-address').value.trim();
    let answer;
    try {
      answer = await jvpn.send('POST', '/api/server/peers', { tunnel: state.tunnel, name: $('peer-name').value, address: address || null });
    } catch (e) {
      message.textContent = e.message;
      message.classList.add('error');
      return;
    }
    message.textContent = answer.message;
    message.classList.toggle('error', answer.live === 'failed');
    $('peer-config').textContent = answer.config;
    $('peer-qr').src = answer.qr;
    if (state.download) { URL.revokeObjectURL(state.download); }
    state.download = URL.createObjectURL(new Blob([answer.config], { type: 'text/plain' }));
    const link = $('peer-download');
    link.href = state.download;
    link.download = answer.fileName;
    link.textContent = 'Download ' + answer.fileName;
    $('peer-result').hidden = false;
    $('peer-name').value = '';
    $('peer-address').value = '';
    loadSessions();
  }

  function restartTimers() {
    clearInterval(state.timer);
    clearInterval(state.clusterTimer);
    state.timer = setInterval(loadSessions, REFRESH_MS);
    state.clusterTimer = setInterval(loadCluster, CLUSTER_REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', async () => {
    let debounce = 0;
    $('session-search').addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        state.search = $('session-search').value.trim();
        state.page = 1;
        loadSessions();
      }, SEARCH_DEBOUNCE_MS);
    });
    $('page-prev').addEventListener('click', () => { if (state.page > 1) { state.page--; loadSessions(); } });
    $('page-next').addEventListener('click', () => { if (state.page < state.pages) { state.page++; loadSessions(); } });
    $('server-tunnel').addEventListener('change', () => {
      state.tunnel = $('server-tunnel').value;
      state.page = 1;
      loadSessions();
      loadCluster();
    });
    $('add-peer').addEventListener('submit', addPeer);
    try {
      if (await loadTunnels()) {
        await loadSessions();
        loadCluster();
        restartTimers();
      }
    } catch (e) {
      status(e.message, true);
    }
  });
})();
