// Number and time formatting shared by the tunnel and events pages (docs/ui.md "Tunnel page").
'use strict';

window.jvpnFormat = {
  bytes(n) {
    if (n === null || n === undefined) { return '–'; }
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
  },
  bitsPerSecond(bytesPerSecond) {
    if (bytesPerSecond === null || bytesPerSecond === undefined) { return '–'; }
    const units = ['b/s', 'kb/s', 'Mb/s', 'Gb/s'];
    let v = bytesPerSecond * 8;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
  },
  ms(v) { return v === null || v === undefined ? '–' : (Math.round(v * 10) / 10) + ' ms'; },
  percent(fraction) { return fraction === null || fraction === undefined ? '–' : Math.round(fraction * 100) + ' %'; },
  ago(seconds) {
    if (seconds === null || seconds === undefined) { return 'never'; }
    if (seconds < 60) { return seconds + ' s ago'; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + ' min ' + (seconds % 60) + ' s ago'; }
    if (seconds < 172800) { return Math.floor(seconds / 3600) + ' h ' + Math.floor((seconds % 3600) / 60) + ' min ago'; }
    return Math.floor(seconds / 86400) + ' days ago';
  },
  clock(unixMs) {
    const d = new Date(unixMs);
    return d.toLocaleTimeString(undefined, { hour12: false });
  },
  // "ATTACHED" -> "Attached", "PENDING_REATTACH" -> "Pending reattach".
  words(wireName) {
    if (!wireName) { return '–'; }
    const s = wireName.replace(/_/g, ' ').toLowerCase();
    return s.charAt(0).toUpperCase() + s.slice(1);
  },
};
