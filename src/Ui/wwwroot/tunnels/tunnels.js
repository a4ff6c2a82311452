// The tunnels page (docs/ui.md "Tunnels page"): the list polled every second, import, create/edit with the real
// parsers' errors at their line, public key shown live, delete with confirmation, export, activate, start at boot.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  let editing = null; // { name, create }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }

  function button(label, action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', action);
    return b;
  }

  function renderRow(row, t) {
    row.dataset.tunnel = t.name;
    row.dataset.state = t.state;
    row.replaceChildren();
    const name = document.createElement('td');
    const link = document.createElement('a');
    link.href = '/tunnel.html?name=' + encodeURIComponent(t.name);
    link.textContent = t.name;
    name.append(link);
    const state = document.createElement('td');
    state.className = 'state';
    state.textContent = t.state + (t.problem ? ' (' + t.problem + ')' : '');
    const role = document.createElement('td');
    role.textContent = t.isServer ? 'server' : 'client';
    const boot = document.createElement('td');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = t.startAtBoot;
    box.setAttribute('aria-label', 'Start ' + t.name + ' at boot');
    box.addEventListener('change', () => act('startatboot', { name: t.name, on: box.checked }, (box.checked ? 'starts' : 'does not start') + ' at boot'));
    boot.append(box);
    const actions = document.createElement('td');
    actions.className = 'actions';
    const running = t.state === 'active' || t.state === 'starting' || t.state === 'stopping';
    actions.append(running
      ? button('Deactivate', () => act('deactivate', { name: t.name }, 'deactivated'))
      : button('Activate', () => act('activate', { name: t.name }, 'activating')));
    actions.append(button('Edit', () => openEditor(t.name)));
    const exp = document.createElement('a');
    exp.href = '/api/tunnels/export?name=' + encodeURIComponent(t.name);
    exp.setAttribute('download', t.name + '.conf');
    exp.textContent = 'Export';
    exp.setAttribute('aria-label', 'Export ' + t.name);
    actions.append(exp);
    actions.append(button('Delete', () => confirmDelete(t.name)));
    row.append(name, state, role, boot, actions);
  }

  let lastList = '';
  async function refresh() {
    try {
      const list = await jvpn.getJson('/api/tunnels/list');
      const text = JSON.stringify(list.tunnels);
      if (text !== lastList) {
        lastList = text;
        const body = document.querySelector('#tunnels tbody');
        const focused = document.activeElement;
        const keep = focused && focused.closest('tr') ? [focused.closest('tr').dataset.tunnel, focused.textContent] : null;
        body.replaceChildren(...list.tunnels.map((t) => { const tr = document.createElement('tr'); renderRow(tr, t); return tr; }));
        if (keep) {
          const row = body.querySelector('tr[data-tunnel="' + CSS.escape(keep[0]) + '"]');
          const again = row && [...row.querySelectorAll('button, a, input')].find((e) => e.textContent === keep[1]);
          if (again) { again.focus(); }
        }
      }
      if (status.textContent === 'Loading…') {
        say(list.tunnels.length === 0 ? 'No tunnels yet: import a config or create one.' : list.tunnels.length + ' tunnel(s).');
      }
    } catch (e) {
      say('Cannot read the tunnel list: ' + e.message, true);
    }
  }

  async function act(op, body, done) {
    try {
      await jvpn.send('POST', '/api/tunnels/' + op, body);
      say(body.name + ': ' + done + '.');
    } catch (e) {
      say(e.message, true);
    }
    lastList = '';
    await refresh();
  }

  function confirmDelete(name) {
    const dialog = $('confirm-delete');
    $('confirm-delete-text').textContent = 'Delete tunnel ' + name + ' and its config file? This cannot be undone.';
    dialog.dataset.tunnel = name;
    dialog.showModal();
    $('confirm-delete-no').focus();
  }

  $('confirm-delete-yes').addEventListener('click', async () => {
    const dialog = $('confirm-delete');
    dialog.close();
    await act('delete', { name: dialog.dataset.tunnel }, 'deleted');
  });
  $('confirm-delete-no').addEventListener('click', () => $('confirm-delete').close());

  // Editor: line numbers with the parser's bad line marked, the public key of the PrivateKey line.
  function gutter(problemLine) {
    const lines = $('editor-text').value.split('\n').length;
    const g = $('editor-gutter');
    g.replaceChildren();
    for (let i = 1; i <= lines; i++) {
      const span = document.createElement('span');
      span.textContent = i + '\n';
      if (i === problemLine) { span.className = 'bad'; }
      g.append(span);
    }
  }

  let checkTimer = 0;
  let lastKey = null;
  async function check() {
    const name = $('editor-name').value;
    const text = $('editor-text').value;
    const m = /^\s*PrivateKey\s*=\s*(\S+)\s*$/im.exec(text);
    const key = m ? m[1] : '';
    if (key !== lastKey) {
      lastKey = key;
      try {
        $('editor-publickey').value = key ? (await jvpn.send('POST', '/api/tunnels/publickey', { privateKey: key })).publicKey : '–';
      } catch (e) {
        $('editor-publickey').value = '(' + e.message + ')';
      }
    }
    try {
      const r = await jvpn.send('POST', '/api/tunnels/check', { name, text });
      showProblem(r.ok ? null : r.problem);
    } catch (e) {
      showProblem({ message: e.message });
    }
  }

  function showProblem(p) {
    $('editor-problem').textContent = p ? (p.line ? 'Line ' + p.line + (p.key ? ' (' + p.key + ')' : '') + ': ' : '') + p.message : '';
    $('editor-text').setAttribute('aria-invalid', p ? 'true' : 'false');
    gutter(p && p.line);
  }

  function scheduleCheck() {
    clearTimeout(checkTimer);
    gutter(null);
    checkTimer = setTimeout(check, 250);
  }

  async function openEditor(name) {
    try {
      let text;
      if (name === null) {
        const fresh = await jvpn.send('POST', '/api/tunnels/new');
        text = fresh.text;
        editing = { name: '', create: true };
      } else {
        text = (await jvpn.getJson('/api/tunnels/config?name=' + encodeURIComponent(name))).text;
        editing = { name, create: false };
      }
      $('editor-title').textContent = editing.create ? 'Create tunnel' : 'Edit ' + name;
      $('editor-name').value = editing.name;
      $('editor-name').readOnly = !editing.create;
      $('editor-text').value = text;
      lastKey = null;
      $('editor').hidden = false;
      (editing.create ? $('editor-name') : $('editor-text')).focus();
      await check();
    } catch (e) {
      say(e.message, true);
    }
  }

  $('create').addEventListener('click', () => openEditor(null));
  $('editor-text').addEventListener('input', scheduleCheck);
  $('editor-name').addEventListener('input', scheduleCheck);
  $('editor-text').addEventListener('scroll', () => { $('editor-gutter').scrollTop = $('editor-text').scrollTop; });
  $('editor-cancel').addEventListener('click', () => { $('editor').hidden = true; editing = null; });
  $('editor-save').addEventListener('click', async () => {
    const name = $('editor-name').value;
    try {
      await jvpn.send('POST', '/api/tunnels/save', { name, text: $('editor-text').value, create: editing.create });
      $('editor').hidden = true;
      say(name + ': saved' + (editing.create ? '' : ' (an active tunnel uses it from its next activation)') + '.');
      editing = null;
      lastList = '';
      await refresh();
    } catch (e) {
      await check();
      if (!$('editor-problem').textContent) { $('editor-problem').textContent = e.message; }
    }
  });

  // Import: several files at once, or pasted text under a name.
  $('import').addEventListener('click', async () => {
    const files = [];
    for (const f of $('import-files').files) {
      files.push({ fileName: f.name, text: await f.text() });
    }
    const pasted = $('import-text').value;
    if (pasted.trim()) {
      const name = $('import-name').value.trim();
      if (!name) { say('Give the pasted config a name (it becomes the interface name).', true); $('import-name').focus(); return; }
      files.push({ fileName: name + '.conf', text: pasted });
    }
    if (files.length === 0) { say('Choose .conf files or paste a config first.', true); return; }
    try {
      const r = await jvpn.send('POST', '/api/tunnels/import', { files });
      const list = $('import-results');
      list.replaceChildren(...r.results.map((x) => {
        const li = document.createElement('li');
        li.dataset.import = x.name;
        li.dataset.ok = String(x.ok);
        li.textContent = x.ok ? x.name + ': imported'
          : x.name + ': ' + (x.line ? 'line ' + x.line + (x.key ? ' (' + x.key + ')' : '') + ': ' : '') + x.error;
        if (!x.ok) { li.className = 'error'; }
        return li;
      }));
      const good = r.results.filter((x) => x.ok).length;
      say('Imported ' + good + ' of ' + r.results.length + '.', good < r.results.length);
      if (good > 0) { $('import-files').value = ''; if (pasted.trim() && r.results[r.results.length - 1].ok) { $('import-text').value = ''; } }
    } catch (e) {
      say(e.message, true);
    }
    lastList = '';
    await refresh();
  });

  document.addEventListener('DOMContentLoaded', () => {
    refresh();
    setInterval(refresh, 1000);
  });
})();
