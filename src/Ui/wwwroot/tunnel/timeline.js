// The handover timeline (docs/ui.md "Timeline"): keeps the last 5 minutes the manager's recorder sends
// (GET /api/tunnel/NAME/timeline?since=MS, column arrays) and draws them with uPlot: one lane per link showing
// which one carried the tunnel, RTT per link, throughput in and out, and a marker for every switch.
'use strict';

window.JvpnTimeline = class {
  constructor(container, name) {
    this.container = container;
    this.name = name;
    this.windowMs = 300000;
    this.intervalMs = 1000;
    this.t = [];
    this.rx = [];
    this.tx = [];
    this.active = [];        // link name per sample, or null
    this.links = new Map();  // name -> { rtt: [], loss: [] }, in first-seen order
    this.switches = new Map(); // key -> switch
    this.charts = [];
    this.chartLinks = '';
    this.palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
    window.addEventListener('resize', () => this.resize());
  }

  async refresh() {
    const since = this.t.length ? this.t[this.t.length - 1] : 0;
    const s = await jvpn.getJson('/api/tunnel/' + encodeURIComponent(this.name) + '/timeline?since=' + since);
    this.merge(s);
    this.draw();
  }

  merge(s) {
    this.windowMs = s.windowMs;
    this.intervalMs = s.intervalMs;
    const before = this.t.length;
    for (const l of s.links) {
      if (!this.links.has(l.name)) {
        this.links.set(l.name, { rtt: new Array(before).fill(null), loss: new Array(before).fill(null) });
      }
    }
    for (let i = 0; i < s.t.length; i++) {
      this.t.push(s.t[i]);
      this.rx.push(s.rxBps[i]);
      this.tx.push(s.txBps[i]);
      this.active.push(s.activeLink[i] >= 0 ? s.links[s.activeLink[i]].name : null);
    }
    for (const [name, cols] of this.links) {
      const l = s.links.find(x => x.name === name);
      for (let i = 0; i < s.t.length; i++) {
        cols.rtt.push(l ? l.rttMs[i] : null);
        cols.loss.push(l ? l.loss[i] : null);
      }
    }
    for (const w of s.switches) {
      this.switches.set(w.atMs + '|' + w.from + '|' + w.to, w);
    }
    // Forget what left the window, and links with nothing left in it.
    const oldest = s.nowMs - this.windowMs;
    let drop = 0;
    while (drop < this.t.length && this.t[drop] <= oldest) { drop++; }
    if (drop > 0) {
      for (const a of [this.t, this.rx, this.tx, this.active]) { a.splice(0, drop); }
      for (const cols of this.links.values()) { cols.rtt.splice(0, drop); cols.loss.splice(0, drop); }
    }
    for (const [name, cols] of [...this.links]) {
      if (!this.active.includes(name) && cols.rtt.every(v => v === null) && cols.loss.every(v => v === null)) {
        this.links.delete(name);
      }
    }
    for (const [key, w] of [...this.switches]) {
      if (w.atMs <= oldest) { this.switches.delete(key); }
    }
  }

  // Switches, oldest first.
  switchList() {
    return [...this.switches.values()].sort((a, b) => a.atMs - b.atMs);
  }

  color(name) {
    const i = [...this.links.keys()].indexOf(name);
    return this.palette[(i < 0 ? 0 : i) % this.palette.length];
  }

  draw() {
    const names = [...this.links.keys()];
    const x = this.t.map(v => v / 1000);
    const lanes = names.map((n, k) => this.active.map(a => (a === n ? k + 1 : null)));
    const rtt = names.map(n => this.links.get(n).rtt);
    const rx = this.rx.map(v => (v === null ? null : v * 8));
    const tx = this.tx.map(v => (v === null ? null : v * 8));
    const layout = names.join('\n');
    if (this.chartLinks !== layout || this.charts.length === 0) {
      this.build(names);
      this.chartLinks = layout;
    }
    this.charts[0].setData([x, ...lanes]);
    this.charts[1].setData([x, ...rtt]);
    this.charts[2].setData([x, rx, tx]);
  }

  build(names) {
    for (const c of this.charts) { c.destroy(); }
    this.charts = [];
    this.container.replaceChildren();
    const width = Math.max(320, this.container.clientWidth || 800);
    const sync = { key: 'jvpn-timeline-' + this.name };
    const markers = { hooks: { draw: [u => this.drawMarkers(u)] } };
    const noPath = () => null;

    const laneSeries = names.map((n, k) => ({
      label: n,
      stroke: this.color(n),
      fill: this.color(n),
      paths: noPath,
      points: { show: false },
      value: (u, v) => (v === null || v === undefined ? '–' : 'carries the tunnel'),
    }));
    this.addChart('Link carrying the tunnel', {
      width, height: 40 + 28 * Math.max(1, names.length),
      cursor: { sync },
      scales: { x: { time: true }, y: { range: [0.5, Math.max(1, names.length) + 0.5] } },
      axes: [{}, { splits: () => names.map((_, k) => k + 1), values: (u, splits) => splits.map(v => names[v - 1] || ''), size: 70 }],
      series: [{}, ...laneSeries],
      plugins: [{ hooks: { draw: [u => this.drawLanes(u, names)] } }, markers],
    });
    this.addChart('Round-trip time per link', {
      width, height: 160,
      cursor: { sync },
      scales: { x: { time: true } },
      axes: [{}, { values: (u, splits) => splits.map(v => v + ' ms'), size: 70 }],
      series: [{}, ...names.map(n => ({ label: n, stroke: this.color(n), width: 2, spanGaps: false, value: (u, v) => jvpnFormat.ms(v) }))],
      plugins: [markers],
    });
    this.addChart('Throughput', {
      width, height: 160,
      cursor: { sync },
      scales: { x: { time: true } },
      axes: [{}, { values: (u, splits) => splits.map(v => jvpnFormat.bitsPerSecond(v / 8)), size: 80 }],
      series: [{},
        { label: 'in', stroke: '#2ca02c', width: 2, value: (u, v) => jvpnFormat.bitsPerSecond(v === null ? null : v / 8) },
        { label: 'out', stroke: '#1f77b4', width: 2, value: (u, v) => jvpnFormat.bitsPerSecond(v === null ? null : v / 8) }],
      plugins: [markers],
    });
  }

  addChart(title, opts) {
    const figure = document.createElement('figure');
    const caption = document.createElement('figcaption');
    caption.className = 'chart-title';
    caption.textContent = title;
    figure.append(caption);
    this.container.append(figure);
    const empty = [[], ...opts.series.slice(1).map(() => [])];
    this.charts.push(new uPlot(opts, empty, figure));
  }

  // One filled lane per link over the samples where it carried the tunnel. A sample's link holds until the next
  // sample, except where a switch between two samples moved the tunnel: there the lanes meet at the switch's time.
  drawLanes(u, names) {
    const ctx = u.ctx;
    const xs = u.data[0];
    const switches = this.switchList();
    const cuts = xs.map((x, i) => {
      if (i + 1 >= xs.length || this.laneOf(u, names, i) === this.laneOf(u, names, i + 1)) { return null; }
      const w = switches.find(s => s.atMs / 1000 > x && s.atMs / 1000 < xs[i + 1]);
      return w ? w.atMs / 1000 : null;
    });
    const gap = 3 * this.intervalMs / 1000; // longer without samples: unknown, not drawn
    const starts = xs.map((x, i) => (i > 0 && cuts[i - 1] !== null ? cuts[i - 1] : x));
    const ends = xs.map((x, i) => (cuts[i] !== null ? cuts[i]
      : i + 1 < xs.length && xs[i + 1] - x <= gap ? xs[i + 1] : x + this.intervalMs / 1000));
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    for (let k = 0; k < names.length; k++) {
      const lane = u.data[k + 1];
      const y0 = u.valToPos(k + 1.3, 'y', true);
      const y1 = u.valToPos(k + 0.7, 'y', true);
      ctx.fillStyle = this.color(names[k]);
      for (let i = 0; i < xs.length; i++) {
        if (lane[i] === null || lane[i] === undefined) { continue; }
        const x0 = u.valToPos(starts[i], 'x', true);
        const x1 = u.valToPos(ends[i], 'x', true);
        ctx.fillRect(x0, y0, Math.max(1, x1 - x0), y1 - y0);
      }
    }
    ctx.restore();
  }

  laneOf(u, names, i) {
    for (let k = 0; k < names.length; k++) {
      if (u.data[k + 1][i] !== null && u.data[k + 1][i] !== undefined) { return k; }
    }
    return -1;
  }

  // A dashed line at every switch, with its gap on the lane chart.
  drawMarkers(u) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.strokeStyle = '#b00020';
    ctx.fillStyle = '#b00020';
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = Math.max(1, devicePixelRatio);
    ctx.font = (11 * devicePixelRatio) + 'px system-ui, sans-serif';
    for (const w of this.switchList()) {
      const x = u.valToPos(w.atMs / 1000, 'x', true);
      if (x < left || x > left + width) { continue; }
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      if (u === this.charts[0]) {
        ctx.fillText(w.gapMs + ' ms', x + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
      }
    }
    ctx.restore();
  }

  resize() {
    const width = Math.max(320, this.container.clientWidth || 800);
    for (const c of this.charts) { c.setSize({ width, height: c.height }); }
  }
};
