// Shared helpers of every page (docs/ui.md): JSON fetches that send the same-origin Origin header the server's
// CSRF check wants, and marking the current page in the navigation.
'use strict';

window.jvpn = {
  async getJson(path) {
    const response = await fetch(path, { credentials: 'same-origin' });
    if (!response.ok) { throw new Error(await jvpn.errorText(response)); }
    return response.json();
  },
  async send(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (!response.ok) { throw new Error(await jvpn.errorText(response)); }
    return response.status === 204 ? null : response.json();
  },
  async errorText(response) {
    try { const e = await response.json(); return e.error || response.statusText; } catch { return response.statusText; }
  },
};

document.addEventListener('DOMContentLoaded', () => {
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === location.pathname) { a.setAttribute('aria-current', 'page'); }
  }
});
