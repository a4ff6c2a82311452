// The kill switch toggle of the tunnel page (docs/ui.md "Kill switch toggle"): reads /api/killswitch/NAME every
// 5 s and after every change; a change is a POST the manager carries out with the same code as
// `jvpn killswitch NAME on|off [--allow-lan|--block-lan]`. "Allow LAN" changes the running switch at once; while the
// switch is off it is the choice the next "on" carries. A refusal (split tunnel, tunnel not running) is shown as
// the manager words it.
'use strict';

(() => {
  const name = new URLSearchParams(location.search).get('name') || '';
  const box = document.getElementById('killswitch');
  const lanBox = document.getElementById('killswitch-lan');
  const text = document.getElementById('killswitch-text');
  const path = '/api/killswitch/' + encodeURIComponent(name);
  let busy = false;
  // Set when the user ticked "Allow LAN" while the switch was off: the refresh must not undo the choice.
  let lanChosen = false;

  function show(state) {
    box.checked = state.enabled;
    box.disabled = !state.running || state.fullTunnel === false;
    box.dataset.lockdown = state.lockdown ? 'true' : 'false';
    if (state.enabled || !lanChosen) {
      lanBox.checked = state.allowLan;
      lanChosen = false;
    }
    lanBox.disabled = box.disabled;
    lanBox.dataset.lan = state.lan || '';
    text.textContent = state.text;
  }

  async function refresh() {
    if (busy || !name) { return; }
    try {
      show(await jvpn.getJson(path));
    } catch (e) {
      box.disabled = true;
      lanBox.disabled = true;
      text.textContent = e.message;
    }
  }

  async function post(body, undo) {
    busy = true;
    box.disabled = true;
    lanBox.disabled = true;
    try {
      show(await jvpn.send('POST', path, body));
    } catch (e) {
      undo();
      text.textContent = e.message;
    } finally {
      busy = false;
      await refresh();
    }
  }

  box.addEventListener('change', () => {
    const body = box.checked ? { on: true, allowLan: lanBox.checked } : { on: false };
    lanChosen = false;
    post(body, () => { box.checked = !box.checked; });
  });

  lanBox.addEventListener('change', () => {
    if (!box.checked) {
      lanChosen = true;
      return;
    }
    post({ on: true, allowLan: lanBox.checked }, () => { lanBox.checked = !lanBox.checked; });
  });

  document.addEventListener('DOMContentLoaded', () => {
    refresh();
    setInterval(refresh, 5000);
  });
})();
