// The kill switch toggle of the tunnel page (docs/ui.md "Kill switch toggle"): reads /api/killswitch/NAME every
// 5 s and after every change; a change is a POST the manager carries out with the same code as
// `jvpn killswitch NAME on|off`. A refusal (split tunnel, tunnel not running) is shown as the manager words it.
'use strict';

(() => {
  const name = new URLSearchParams(location.search).get('name') || '';
  const box = document.getElementById('killswitch');
  const text = document.getElementById('killswitch-text');
  const path = '/api/killswitch/' + encodeURIComponent(name);
  let busy = false;

  function show(state) {
    box.checked = state.enabled;
    box.disabled = !state.running || state.fullTunnel === false;
    box.dataset.lockdown = state.lockdown ? 'true' : 'false';
    text.textContent = state.text;
  }

  async function refresh() {
    if (busy || !name) { return; }
    try {
      show(await jvpn.getJson(path));
    } catch (e) {
      box.disabled = true;
      text.textContent = e.message;
    }
  }

  box.addEventListener('change', async () => {
    busy = true;
    box.disabled = true;
    try {
      show(await jvpn.send('POST', path, { on: box.checked }));
    } catch (e) {
      box.checked = !box.checked;
      text.textContent = e.message;
    } finally {
      busy = false;
      await refresh();
    }
  });

  document.addEventListener('DOMContentLoaded', () => {
    refresh();
    setInterval(refresh, 5000);
  });
})();
