// pages.js - the pages: dashboard, pool, host, VM, SR. Each page fetches its
// stats reply (docs/API.md), builds its widgets from the devices the reply has,
// and appends points in live mode (VM, host: the SSE event is a reply of the new
// rows; pool, SR, dashboard: an event of one of their hosts fetches the new range).

import * as api from './api.js';
import { TimeChart } from './chart.js';
import { Heatmap } from './heatmap.js';
import { clockNote, esc, fmt, fmtAgo, fmtNet, fmtTime, healthClass, href, natural, powerClass } from './format.js';
import {
  ACCENT, alignPool, at, color, hostCpuMean, hostDisk, hostMemUsed, hostNet, keysOf, leaf,
  max, mean, min, opposite, sum, times, zip,
} from './series.js';

const HEAT_CPUS = 8; // more CPUs than this: a heatmap per CPU instead of a line each
const LIVE_FETCH_MS = 700; // an aggregate page's new points: one fetch at most this often
const LIVE_HOST_SILENT_MS = 30000; // a host with no event for this long is down: not waited for
const LIVE_MAX_POINTS = 1000; // 5 s rows of one live fetch, at most (the 5 s tier answers)

// ---- widgets: a chart fed from a reply through series specs ----
// spec: { key, label, color, dash, width, get(R, 'stats'|'statsMin'|'statsMax') -> array|null }

function hasBands(R) { return !!(R.statsMin || R.bands); }

// index of the last point where any of arrays has a value (-1: none)
function lastValued(arrays, n) {
  for (let i = n - 1; i >= 0; i--) if (arrays.some((a) => a && a[i] !== null && a[i] !== undefined)) return i;
  return -1;
}

class LineWidget {
  constructor(page, parent, o) {
    this.o = o;
    this.page = page;
    this.chart = new TimeChart(parent, {
      id: o.id, title: o.title, unit: o.unit, note: o.note, yMax: o.yMax, height: o.height, wide: o.wide,
      onZoom: page.app.zoom, onReset: page.app.reset,
    });
    if (o.net) this.setBits(page.app.bits);
  }

  set(R, domain) {
    const specs = this.o.series(R);
    this.specs = specs;
    const t = times(R).slice();
    const bands = hasBands(R);
    const fill = () => new Array(t.length).fill(null);
    const series = specs.map((s) => ({
      key: s.key, label: s.label, color: s.color, dash: s.dash, width: s.width,
      v: (s.get(R, 'stats') || fill()).slice(),
      lo: bands && !s.noBand ? (s.get(R, 'statsMin') || null)?.slice() ?? null : null,
      hi: bands && !s.noBand ? (s.get(R, 'statsMax') || null)?.slice() ?? null : null,
    }));
    if (this.o.onData) this.o.onData(R, this.chart);
    this.chart.setData({ t, interval: R.interval, domain, series });
  }

  add(R) {
    if (!this.specs) return 0;
    const t = times(R);
    const cols = {};
    for (const s of this.specs) cols[s.key] = s.get(R, 'stats');
    const end = lastValued(Object.values(cols), t.length);
    if (end < 0) return 0;
    const series = {};
    for (const k of Object.keys(cols)) series[k] = cols[k] ? cols[k].slice(0, end + 1) : null;
    // a band drawn so far goes on where the new points have one (host CPU: their spread)
    const lo = {}, hi = {};
    if (hasBands(R)) {
      for (const s of this.specs) {
        if (s.noBand) continue;
        lo[s.key] = s.get(R, 'statsMin')?.slice(0, end + 1) ?? null;
        hi[s.key] = s.get(R, 'statsMax')?.slice(0, end + 1) ?? null;
      }
    }
    return this.chart.append({ t: t.slice(0, end + 1), interval: R.interval, series, lo, hi });
  }

  setBits(on) {
    if (this.o.net) this.chart.setDisplay(on ? 'b/s' : 'B/s', on ? 8 : 1);
  }

  destroy() { this.chart.destroy(); }
}

class HeatWidget {
  constructor(page, parent, o) {
    this.o = o;
    this.map = new Heatmap(parent, {
      id: o.id, title: o.title, unit: o.unit, max: o.max ?? 100, note: o.note,
      onZoom: page.app.zoom, onReset: page.app.reset, onRowClick: o.onRowClick,
    });
  }

  set(R, domain) {
    const rows = this.o.rows(R);
    this.rows = rows;
    const t = times(R).slice();
    this.map.setData({
      t, interval: R.interval, domain,
      rows: rows.map((r) => ({ key: r.key, label: r.label, v: (r.get(R, 'stats') || new Array(t.length).fill(null)).slice() })),
    });
  }

  add(R) {
    if (!this.rows) return 0;
    const t = times(R);
    const cols = {};
    for (const r of this.rows) cols[r.key] = r.get(R, 'stats');
    const end = lastValued(Object.values(cols), t.length);
    if (end < 0) return 0;
    const rows = {};
    for (const k of Object.keys(cols)) rows[k] = cols[k] ? cols[k].slice(0, end + 1) : null;
    return this.map.append({ t: t.slice(0, end + 1), interval: R.interval, rows });
  }

  setBits() {}
  destroy() { this.map.destroy(); }
}

// ---- pages ----

class Page {
  constructor(app, el, uuid) {
    this.app = app;
    this.el = el;
    this.uuid = uuid;
    this.widgets = [];
    this.ctrl = new AbortController();
    this.built = false;
    this.lastT = null;
    this.head = document.createElement('div');
    this.head.className = 'page-head';
    this.msg = document.createElement('div');
    this.body = document.createElement('div');
    el.append(this.head, this.msg, this.body);
    this.header();
  }

  get signal() { return this.ctrl.signal; }

  // A new load (another range): what the page still fetches for the previous one is
  // aborted, so an older reply never draws over a newer one.
  newLoad() {
    this.ctrl.abort();
    this.ctrl = new AbortController();
    clearTimeout(this._inc);
    this._inc = null;
  }

  // Hosts whose data one reply of this page holds (a pool's: all of them): shares the
  // point budget (api.pointBudget).
  replyHosts() { return 1; }

  header() {}

  section(title, extra = '') {
    const s = document.createElement('section');
    s.className = 'group';
    s.innerHTML = `<h2>${esc(title)}${extra}</h2><div class="grid"></div>`;
    this.body.append(s);
    return s.querySelector('.grid');
  }

  line(parent, o) { const w = new LineWidget(this, parent, o); this.widgets.push(w); return w; }
  heat(parent, o) { const w = new HeatWidget(this, parent, o); this.widgets.push(w); return w; }

  fetch(req) { return api.stats(this.apiKind, this.uuid, req, { signal: this.signal }); }
  prepare(R) { return R; }
  build() {}
  after() {}

  async load(req) {
    const R = this.prepare(await this.fetch(req));
    this.hostsJoined = false; // set() below draws them
    this.msg.innerHTML = '';
    if (!this.built) { this.build(R); this.built = true; }
    const domain = req.from !== undefined ? [req.from, req.to] : null;
    for (const w of this.widgets) w.set(R, domain);
    const t = times(R);
    this.lastT = t.length ? t[t.length - 1] : null;
    this.after(R);
    return { interval: R.interval, bands: hasBands(R) };
  }

  streamObjects() { return [this.uuid]; }

  // an SSE event: a reply of this object's new 5 s rows
  onEvent(ev) {
    if (ev.uuid !== this.uuid) return;
    for (const w of this.widgets) w.add(ev);
    const t = times(ev);
    if (t.length) this.lastT = t[t.length - 1];
    this.after(ev, true);
  }

  // aggregate pages: an event of one of the hosts fetches the new points, at most one
  // fetch every LIVE_FETCH_MS however often events come (hosts tick at their own
  // moments: with dozens of them some event comes every 0.5 s, and a wait restarted at
  // each would never end)
  scheduleIncrement(ev) {
    if (!this.hostNewest) this.hostNewest = new Map();
    if (ev.uuid && ev.endTimestamp) this.hostNewest.set(ev.uuid, { t: ev.endTimestamp, at: Date.now() });
    if (this._inc) return;
    this._inc = setTimeout(() => {
      this._inc = null;
      this.increment().catch((e) => {
        if (e.name !== 'AbortError') console.warn('xapistat: live update failed:', e.message);
      });
    }, LIVE_FETCH_MS);
  }

  // The newest time every host still sending events has reached: a live fetch waits for
  // the hosts that report later (another phase, a clock behind), or their rows would be
  // null in it for good (a point is fetched once), but not for one silent for
  // LIVE_HOST_SILENT_MS (down). 0: no host yet.
  liveNewest() {
    const now = Date.now();
    let t = Infinity;
    for (const h of (this.hostNewest || new Map()).values()) {
      if (now - h.at < LIVE_HOST_SILENT_MS) t = Math.min(t, h.t);
    }
    return t === Infinity ? 0 : t;
  }

  // A live fetch after lastT up to `to`: at most LIVE_MAX_POINTS rows, so the 5 s tier
  // answers even after a long sleep (a longer range would come at 1 min or 1 h, its newest
  // point the period in progress, stamped ahead of now)
  liveRange(to) {
    return { from: Math.max(this.lastT + 1, to - 5 * (LIVE_MAX_POINTS - 1)), to, points: LIVE_MAX_POINTS };
  }

  async increment() {
    const to = this.liveNewest();
    if (this.lastT === null || !to || to <= this.lastT) return;
    const R = this.prepare(await this.fetch(this.liveRange(to)));
    if (this.hostsJoined) { // a chart's lines are set by a whole read: the live view read again
      this.hostsJoined = false;
      this.app.reload();
      return;
    }
    for (const w of this.widgets) w.add(R);
    const t = this.widgets[0]?.chart?.data?.t || this.widgets[0]?.map?.data?.t;
    if (t && t.length) this.lastT = t[t.length - 1];
    this.after(R, true);
  }

  setBits(on) { for (const w of this.widgets) w.setBits(on); }

  error(e) {
    this.msg.innerHTML = `<div class="card error"><b>${e.status === 404 ? 'Not found' : 'Error'}:</b> ${esc(e.message)}</div>`;
  }

  destroy() {
    this.ctrl.abort();
    clearTimeout(this._inc);
    for (const w of this.widgets) w.destroy();
  }
}

function info(rows) {
  return `<dl class="info">${rows.filter(Boolean).map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}
const link = (kind, o) => (o ? `<a href="${href(kind, o.uuid)}">${esc(o.name_label || o.name)}</a>` : '–');
const badge = (cls, text) => `<span class="badge ${cls}">${esc(text)}</span>`;
const uuidTag = (u) => `<code class="uuid" title="uuid">${esc(u)}</code>`;

// the union of the device keys of several maps, natural order
function devices(st, paths) {
  const set = new Set();
  for (const p of paths) for (const k of keysOf(st, p)) set.add(k);
  return [...set].sort(natural);
}

// per-device read/write (or rx/tx) series: device colour, second direction dashed
function pairSeries(devs, label, paths, names) {
  const out = [];
  devs.forEach((d, i) => {
    paths.forEach((p, j) => {
      out.push({ key: `${p}.${d}`, label: `${label(d)} ${names[j]}`, color: color(i), dash: j === 1, get: leaf([...p.split('.'), d]) });
    });
  });
  return out;
}

// Legend labels of devices, named from /api/v1/objects: "VIF 0 · <network>", "xvda · <VDI>",
// "eth0 · <network>"; a device the objects do not name (new since, or unknown) keeps its bare name.
function deviceLabel(list, field, bare) {
  const names = new Map((list || []).map((x) => [x.device, x[field]]));
  return (d) => (names.get(d) ? `${bare(d)} · ${names.get(d)}` : bare(d));
}

// ---- VM ----

class VmPage extends Page {
  get apiKind() { return 'vms'; }

  header() {
    const v = this.app.get(this.uuid);
    if (!v) {
      this.head.innerHTML = `<h1>VM ${uuidTag(this.uuid)}</h1><p class="muted">Not in any pool's topology (deleted?): its stored history is shown.</p>`;
      return;
    }
    const host = this.app.get(v.host);
    this.head.innerHTML = `<h1><i class="dot ${powerClass(v.power_state)}"></i>${esc(v.name)} ${badge(powerClass(v.power_state), v.power_state)}` +
      `${v.is_control_domain ? badge('off', 'control domain') : ''}</h1>` +
      info([
        ['Host', host ? link('host', host) : '<span class="muted">none (not running)</span>'],
        ['Pool', link('pool', this.app.get(v.pool))],
        ['vCPUs', String(v.vcpus)],
        ['Memory', fmt(v.memory, 'B', 3)],
        ['Guest tools', v.guest_tools ? 'yes' : '<span class="warn-text">no</span>'],
        v.tags?.length ? ['Tags', v.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join(' ')] : null,
        ['UUID', uuidTag(v.uuid)],
      ]);
  }

  build(R) {
    const st = R.stats;
    const cpus = keysOf(st, 'cpus');
    const total = {
      key: 'cpuUsage', label: 'total', color: ACCENT, width: 2.25,
      get: (X, w) => at(X[w], 'cpuUsage') || mean(keysOf(X[w], 'cpus').map((k) => X[w].cpus[k])),
    };
    const perCpu = (X) => keysOf(X.stats, 'cpus').map((k, i) => ({
      key: `cpus.${k}`, label: `vCPU ${k}`, color: color(i), width: 1, noBand: true, get: leaf(['cpus', k]),
    }));
    const g1 = this.section('CPU and memory');
    if (cpus.length > HEAT_CPUS) {
      this.line(g1, { id: 'vm-cpu', title: 'CPU total', unit: '%', yMax: 100, series: () => [total] });
      this.heat(g1, {
        id: 'vm-vcpus', title: `CPU per vCPU (${cpus.length})`, unit: '%', max: 100,
        rows: (X) => keysOf(X.stats, 'cpus').map((k) => ({ key: k, label: `vCPU ${k}`, get: leaf(['cpus', k]) })),
      });
    } else {
      this.line(g1, { id: 'vm-cpu', title: 'CPU: total and per vCPU', unit: '%', yMax: 100, series: (X) => [total, ...perCpu(X)] });
    }
    const memTotal = { key: 'memory', label: 'total', color: color(9), dash: true, get: leaf('memory'), noBand: true };
    this.line(g1, {
      id: 'vm-memory', title: 'Memory', unit: 'B',
      series: (X) => (at(X.stats, 'memoryFree')
        ? [{ key: 'used', label: 'used (guest)', color: ACCENT, width: 2,
          get: (Y, w) => zip(at(Y[w], 'memory'), at(Y[opposite(w)], 'memoryFree'), (m, f) => m - f) }, memTotal]
        : [{ key: 'memory', label: 'allocated', color: ACCENT, width: 2, get: leaf('memory') },
          { key: 'memoryTarget', label: 'target', color: color(9), dash: true, get: leaf('memoryTarget'), noBand: true }]),
      onData: (X, chart) => chart.setNote(at(X.stats, 'memoryFree') ? ''
        : '<b>Needs guest tools:</b> the guest does not report its free memory, so only the memory allocated to the VM is shown, not what the guest uses.'),
    });

    const vmObj = this.app.get(this.uuid);
    const vifLabel = deviceLabel(vmObj?.vifs, 'network', (d) => `VIF ${d}`);
    const vbdLabel = deviceLabel(vmObj?.vbds, 'vdi', (d) => d);

    const g2 = this.section('Network');
    this.line(g2, {
      id: 'vm-net', title: 'Network per VIF: receive / transmit (dashed)', unit: 'B/s', net: true,
      series: (X) => pairSeries(devices(X.stats, ['vifs.rx', 'vifs.tx']), vifLabel, ['vifs.rx', 'vifs.tx'], ['rx', 'tx']),
    });

    const g3 = this.section('Disk');
    const vbdsOf = (X) => devices(X.stats, ['xvds.r', 'xvds.w', 'iops.r', 'iops.w', 'vbdLatency.r', 'vbdLatency.w']);
    this.line(g3, {
      id: 'vm-disk', title: 'Disk throughput per VBD: read / write (dashed)', unit: 'B/s',
      series: (X) => pairSeries(vbdsOf(X), vbdLabel, ['xvds.r', 'xvds.w'], ['read', 'write']),
    });
    this.line(g3, {
      id: 'vm-iops', title: 'Disk IOPS per VBD: read / write (dashed)', unit: 'IOPS',
      series: (X) => pairSeries(vbdsOf(X), vbdLabel, ['iops.r', 'iops.w'], ['read', 'write']),
    });
    this.line(g3, {
      id: 'vm-latency', title: 'Disk latency per VBD: read / write (dashed)', unit: 'ms',
      series: (X) => pairSeries(vbdsOf(X), vbdLabel, ['vbdLatency.r', 'vbdLatency.w'], ['read', 'write']),
    });
    if (keysOf(st, 'vbdIowait').length) {
      this.line(g3, {
        id: 'vm-iowait', title: 'I/O wait per VBD', unit: '%',
        series: (X) => vbdsOf(X).map((d, i) => ({ key: d, label: vbdLabel(d), color: color(i), get: leaf(['vbdIowait', d]) })),
      });
    }
  }
}

// ---- host ----

class HostPage extends Page {
  get apiKind() { return 'hosts'; }

  header() {
    const h = this.app.get(this.uuid);
    if (!h) {
      this.head.innerHTML = `<h1>Host ${uuidTag(this.uuid)}</h1><p class="muted">Not in any pool's topology: its stored history is shown.</p>`;
      return;
    }
    const c = h.collection;
    const vms = this.app.vmsOf(h.uuid).filter((v) => !v.is_control_domain);
    this.head.innerHTML = `<h1><i class="dot ${healthClass(c?.health)}"></i>${esc(h.name)} ` +
      `${badge(h.live ? 'ok' : 'bad', h.live ? 'live' : 'not live')}${h.enabled ? '' : badge('warn', 'disabled')}</h1>` +
      info([
        ['Pool', link('pool', this.app.get(h.pool))],
        ['Address', esc(h.address || '–')],
        ['CPUs', String(h.cpus)],
        ['Memory', fmt(h.memory, 'B', 3)],
        ['Collection', c ? `${badge(healthClass(c.health), c.health)} ${esc(c.state)}, last ${fmtAgo(c.last_success === null ? null : api.now() - c.last_success)}` +
          `${c.lag !== null && c.lag !== undefined ? `, lag ${c.lag.toFixed(1)} s` : ''}${c.last_error ? ` <span class="warn-text">${esc(c.last_error)}</span>` : ''}` +
          `${clockNote(c) ? ` <span class="warn-text">${esc(clockNote(c))}</span>` : ''}` : 'not collected'],
        ['Running VMs', String(vms.length)],
        ['UUID', uuidTag(h.uuid)],
      ]);
  }

  build(R) {
    const st = R.stats;
    const ncpu = keysOf(st, 'cpus').length;
    const app = this.app;
    const g1 = this.section('CPU');
    const cpuArrs = (X, w) => keysOf(X[w], 'cpus').map((k) => X[w].cpus[k]);
    this.line(g1, {
      id: 'host-cpu', title: `CPU: mean of ${ncpu} pCPUs, busiest pCPU (dashed), band from least to most busy`, unit: '%', yMax: 100, wide: true,
      series: () => [
        { key: 'mean', label: 'mean', color: ACCENT, width: 2.25,
          // the band: least and most busy CPU at each point (on rollups, their min and max)
          get: (X, w) => (w === 'stats' ? mean(cpuArrs(X, w)) : w === 'statsMin' ? min(cpuArrs(X, w)) : max(cpuArrs(X, w))) },
        { key: 'max', label: 'busiest pCPU', color: color(3), dash: true, width: 1, noBand: true, get: (X, w) => max(cpuArrs(X, w)) },
      ],
    });
    // 5 s data has no statsMin: draw the spread across CPUs as the band all the same
    const w0 = this.widgets[this.widgets.length - 1];
    const set0 = w0.set.bind(w0), add0 = w0.add.bind(w0);
    const spread = (X) => (X.statsMin ? X : { ...X, bands: true, statsMin: X.stats, statsMax: X.stats });
    w0.set = (X, domain) => set0(spread(X), domain);
    w0.add = (X) => add0(spread(X)); // live points too: the band goes on
    this.heat(g1, {
      id: 'host-cpus', title: `CPU per pCPU (${ncpu}): one row each`, unit: '%', max: 100,
      rows: (X) => keysOf(X.stats, 'cpus').map((k) => ({ key: k, label: `CPU ${k}`, get: leaf(['cpus', k]) })),
    });

    const g2 = this.section('Load and memory');
    this.line(g2, {
      id: 'host-load', title: 'Load', unit: '',
      series: (X) => [
        { key: 'load', label: 'load average', color: ACCENT, width: 2, get: leaf('load') },
        ...(at(X.stats, 'hostload') ? [{ key: 'hostload', label: 'hostload', color: color(1), get: leaf('hostload') }] : []),
      ],
    });
    if (at(st, 'runningVcpus')) {
      this.line(g2, {
        id: 'host-vcpus', title: 'Running vCPUs', unit: '',
        series: () => [{ key: 'runningVcpus', label: 'running vCPUs', color: color(4), width: 2, get: leaf('runningVcpus') }],
      });
    }
    this.line(g2, {
      id: 'host-memory', title: 'Memory: used of total', unit: 'B',
      series: () => [
        { key: 'used', label: 'used', color: ACCENT, width: 2, get: hostMemUsed },
        { key: 'memory', label: 'total', color: color(9), dash: true, noBand: true, get: leaf('memory') },
      ],
    });

    const g3 = this.section('Network');
    // a PIF ethN is keyed "N" in the stats (as in XO), by its device in /api/v1/objects
    const pifDevice = (k) => (/^\d+$/.test(k) ? `eth${k}` : k);
    const pifName = deviceLabel(this.app.get(this.uuid)?.pifs, 'network', (d) => d);
    const pifLabel = (k) => pifName(pifDevice(k));
    this.line(g3, {
      id: 'host-pifs', title: 'Network per PIF: receive / transmit (dashed)', unit: 'B/s', net: true,
      series: (X) => pairSeries(devices(X.stats, ['pifs.rx', 'pifs.tx']), pifLabel, ['pifs.rx', 'pifs.tx'], ['rx', 'tx']),
    });
    if (at(st, 'pifsAggr')) {
      this.line(g3, {
        id: 'host-pifs-aggr', title: 'Network, all PIFs', unit: 'B/s', net: true,
        series: () => [
          { key: 'rx', label: 'receive', color: ACCENT, width: 2, get: leaf('pifsAggr.rx') },
          { key: 'tx', label: 'transmit', color: color(1), width: 2, dash: true, get: leaf('pifsAggr.tx') },
        ],
      });
    }

    const g4 = this.section('Storage I/O per SR');
    const srs = (X) => devices(X.stats, ['ioThroughput.r', 'iops.r', 'latency.r', 'iowait']);
    const srLabel = (k) => app.srName(k);
    this.line(g4, {
      id: 'host-sr-tput', title: 'Throughput per SR: read / write (dashed)', unit: 'B/s',
      series: (X) => pairSeries(srs(X), srLabel, ['ioThroughput.r', 'ioThroughput.w'], ['read', 'write']),
    });
    this.line(g4, {
      id: 'host-sr-iops', title: 'IOPS per SR: read / write (dashed)', unit: 'IOPS',
      series: (X) => pairSeries(srs(X), srLabel, ['iops.r', 'iops.w'], ['read', 'write']),
    });
    this.line(g4, {
      id: 'host-sr-latency', title: 'Latency per SR: read / write (dashed)', unit: 'ms',
      series: (X) => pairSeries(srs(X), srLabel, ['latency.r', 'latency.w'], ['read', 'write']),
    });
    this.line(g4, {
      id: 'host-sr-iowait', title: 'I/O wait per SR', unit: '',
      series: (X) => srs(X).map((k, i) => ({ key: k, label: srLabel(k), color: color(i), get: leaf(['iowait', k]) })),
    });

    const vms = this.app.vmsOf(this.uuid).filter((v) => !v.is_control_domain);
    if (vms.length) {
      const s = document.createElement('section');
      s.className = 'group';
      s.innerHTML = `<h2>VMs on this host</h2><div class="card scroll"><table class="list"><thead><tr><th>VM</th><th>state</th><th>vCPUs</th><th>memory</th><th>tags</th></tr></thead><tbody>${
        vms.map((v) => `<tr><td><a href="${href('vm', v.uuid)}">${esc(v.name)}</a></td><td>${badge(powerClass(v.power_state), v.power_state)}</td>` +
          `<td>${v.vcpus}</td><td>${fmt(v.memory, 'B', 3)}</td><td>${(v.tags || []).map((t) => `<span class="tag">${esc(t)}</span>`).join(' ')}</td></tr>`).join('')
      }</tbody></table></div>`;
      this.body.append(s);
    }
  }
}

// ---- SR ----

class SrPage extends Page {
  get apiKind() { return 'srs'; }

  header() {
    const s = this.app.get(this.uuid);
    if (!s) { this.head.innerHTML = `<h1>SR ${uuidTag(this.uuid)}</h1>`; return; }
    this.head.innerHTML = `<h1><i class="glyph">⛁</i>${esc(s.name)} ${badge('off', s.type)}${s.shared ? badge('ok', 'shared') : ''}</h1>` +
      info([
        ['Pool', link('pool', this.app.get(s.pool))],
        ['Hosts', s.hosts.map((u) => (this.app.get(u) ? link('host', this.app.get(u)) : uuidTag(u))).join(', ') || '–'],
        ['UUID', uuidTag(s.uuid)],
      ]);
  }

  streamObjects() { return this.app.get(this.uuid)?.hosts || []; }
  replyHosts() { return this.app.get(this.uuid)?.hosts?.length || 1; }
  onEvent(ev) { this.scheduleIncrement(ev); }

  build() {
    const g = this.section('I/O, summed over the hosts (latency: their mean)');
    // an SR reply has r and w only, as XO's (docs/API.md): the total of IOPS and throughput is their sum
    const rw = (path) => [
      { key: 'r', label: 'read', color: color(2), width: 1.75, get: leaf(`${path}.r`) },
      { key: 'w', label: 'write', color: color(6), width: 1.75, dash: true, get: leaf(`${path}.w`) },
    ];
    const rwt = (path) => [
      ...rw(path),
      { key: 'total', label: 'read + write', color: ACCENT, width: 2.25,
        get: (R, w) => sum([at(R[w], `${path}.r`), at(R[w], `${path}.w`)]) },
    ];
    this.line(g, { id: 'sr-iops', title: 'IOPS', unit: 'IOPS', series: () => rwt('iops') });
    this.line(g, { id: 'sr-tput', title: 'Throughput', unit: 'B/s', series: () => rwt('ioThroughput') });
    this.line(g, { id: 'sr-latency', title: 'Latency (mean over the hosts)', unit: 'ms', series: () => rw('latency') });
    this.line(g, {
      id: 'sr-iowait', title: 'I/O wait per host, and summed', unit: '',
      series: (X) => [
        { key: 'sum', label: 'sum over the hosts', color: ACCENT, width: 2.25,
          get: (Y, w) => sum(keysOf(Y[w], 'iowait').map((k) => Y[w].iowait[k])) },
        ...keysOf(X.stats, 'iowait').map((u, i) => ({
          key: u, label: this.app.get(u)?.name || u.slice(0, 8), color: color(i), width: 1, noBand: true, get: leaf(['iowait', u]),
        })),
      ],
    });
  }
}

// ---- pool ----

function weightedCpu(A, w, weights) {
  const hs = Object.entries(A.hosts).map(([u, H]) => [hostCpuMean(H[w] || {}), weights(u, H)]);
  return A.t.map((_, i) => {
    let num = 0, den = 0;
    for (const [arr, wt] of hs) {
      const v = arr?.[i];
      if (v === null || v === undefined) continue;
      num += v * wt;
      den += wt;
    }
    return den ? num / den : null;
  });
}
function hostNetDir(st, dir) {
  const a = at(st, `pifsAggr.${dir}`);
  return a || sum(keysOf(st, `pifs.${dir}`).map((k) => st.pifs[dir][k]));
}
function hostDiskDir(st, dir) {
  return sum(keysOf(st, `ioThroughput.${dir}`).map((k) => st.ioThroughput[dir][k]));
}
const lastOf = (a) => { for (let i = (a?.length || 0) - 1; i >= 0; i--) if (a[i] !== null) return a[i]; return null; };

class PoolPage extends Page {
  get apiKind() { return 'pools'; }
  prepare(P) {
    const A = alignPool(P);
    A.bands = Object.values(A.hosts).some((H) => H.statsMin);
    // a host with statistics only since the page opened (added to the pool, first
    // collected) joins the per-host charts and the heatmap
    if (this.hostIds) {
      const add = Object.keys(A.hosts).filter((u) => !this.hostIds.includes(u));
      if (add.length) {
        this.hostIds = [...this.hostIds, ...add].sort((a, b) => natural(this.hostName(a), this.hostName(b)));
        this.hostsJoined = true;
      }
    }
    return A;
  }

  header() {
    const p = this.app.get(this.uuid);
    if (!p) { this.head.innerHTML = `<h1>Pool ${uuidTag(this.uuid)}</h1>`; return; }
    const hosts = this.app.hostsOf(p.uuid);
    const vms = this.app.objects.vms.filter((v) => v.pool === p.uuid && !v.is_control_domain);
    const running = vms.filter((v) => v.power_state === 'Running').length;
    const cpus = hosts.reduce((a, h) => a + (h.cpus || 0), 0);
    const mem = hosts.reduce((a, h) => a + (h.memory || 0), 0);
    this.head.innerHTML = `<h1><i class="dot ${p.connected ? 'ok' : 'bad'}"></i>${esc(p.name_label || p.name)} ` +
      `${badge(p.connected ? 'ok' : 'bad', p.connected ? 'connected' : 'not connected')}</h1>` +
      info([
        ['Configured as', esc(p.name)],
        ['Master', link('host', this.app.get(p.master))],
        ['Hosts', String(hosts.length)],
        ['VMs', `${running} running of ${vms.length}`],
        ['CPUs', String(cpus)],
        ['Memory', fmt(mem, 'B', 3)],
        ['UUID', uuidTag(p.uuid)],
      ]);
  }

  streamObjects() { return this.app.hostsOf(this.uuid).map((h) => h.uuid); }
  replyHosts() { return this.app.hostsOf(this.uuid).length || 1; }
  onEvent(ev) { this.scheduleIncrement(ev); }

  hostName(u) { return this.app.get(u)?.name || u.slice(0, 8); }

  build(A) {
    const app = this.app;
    const hostIds = Object.keys(A.hosts).sort((a, b) => natural(this.hostName(a), this.hostName(b)));
    this.hostIds = hostIds;
    const ncpu = (u, H) => app.get(u)?.cpus || keysOf(H.stats, 'cpus').length || 1;
    const g1 = this.section('Pool totals');
    this.line(g1, {
      id: 'pool-cpu', title: 'CPU: all pCPUs of the pool', unit: '%', yMax: 100,
      series: () => [{ key: 'cpu', label: 'pool CPU', color: ACCENT, width: 2.25, get: (X, w) => weightedCpu(X, w, ncpu) }],
    });
    const hs = (X, w, f) => Object.values(X.hosts).map((H) => f(H, w));
    this.line(g1, {
      id: 'pool-memory', title: 'Memory: used of total', unit: 'B',
      series: () => [
        { key: 'used', label: 'used', color: ACCENT, width: 2, get: (X, w) => sum(hs(X, w, hostMemUsed)) },
        { key: 'total', label: 'total', color: color(9), dash: true, noBand: true, get: (X, w) => sum(hs(X, w, (H, ww) => at(H[ww], 'memory'))) },
      ],
    });
    this.line(g1, {
      id: 'pool-net', title: 'Network: receive / transmit (dashed)', unit: 'B/s', net: true,
      series: () => [
        { key: 'rx', label: 'receive', color: color(0), width: 2, get: (X, w) => sum(hs(X, w, (H, ww) => hostNetDir(H[ww], 'rx'))) },
        { key: 'tx', label: 'transmit', color: color(1), width: 2, dash: true, get: (X, w) => sum(hs(X, w, (H, ww) => hostNetDir(H[ww], 'tx'))) },
      ],
    });
    this.line(g1, {
      id: 'pool-disk', title: 'Storage throughput: read / write (dashed)', unit: 'B/s',
      series: () => [
        { key: 'r', label: 'read', color: color(2), width: 2, get: (X, w) => sum(hs(X, w, (H, ww) => hostDiskDir(H[ww], 'r'))) },
        { key: 'w', label: 'write', color: color(6), width: 2, dash: true, get: (X, w) => sum(hs(X, w, (H, ww) => hostDiskDir(H[ww], 'w'))) },
      ],
    });

    const g2 = this.section('Hosts compared');
    const perHost = (f) => (X) => this.hostIds.filter((u) => X.hosts[u]).map((u) => ({
      key: u, label: this.hostName(u), color: color(this.hostIds.indexOf(u)), width: 1.5, noBand: true,
      get: (Y, w) => (Y.hosts[u] ? f(Y.hosts[u], w) : null),
    }));
    this.line(g2, { id: 'pool-hosts-cpu', title: 'CPU per host (mean of its pCPUs)', unit: '%', yMax: 100, series: perHost((H, w) => hostCpuMean(H[w] || {})) });
    this.line(g2, { id: 'pool-hosts-memory', title: 'Memory used per host', unit: 'B', series: perHost((H, w) => hostMemUsed(H, w)) });
    this.line(g2, { id: 'pool-hosts-net', title: 'Network per host (rx + tx)', unit: 'B/s', net: true, series: perHost((H, w) => hostNet(H[w] || {})) });
    this.line(g2, { id: 'pool-hosts-disk', title: 'Storage throughput per host', unit: 'B/s', series: perHost((H, w) => hostDisk(H[w] || {})) });
    this.heat(g2, {
      id: 'pool-heat', title: 'CPU per host over time', unit: '%', max: 100,
      rows: (X) => this.hostIds.map((u) => ({ key: u, label: this.hostName(u), get: (Y) => (Y.hosts[u] ? hostCpuMean(Y.hosts[u].stats) : null) })),
      onRowClick: (r) => { location.hash = href('host', r.key); },
    });

    this.table = document.createElement('section');
    this.table.className = 'group';
    this.body.append(this.table);
  }

  // the network column in the unit chosen (B/s or b/s): drawn again when it changes
  setBits(on) {
    super.setBits(on);
    if (this.lastA) this.after(this.lastA);
  }

  after(A) {
    if (!this.table || !A.hosts) return;
    this.lastA = A;
    const rows = this.app.hostsOf(this.uuid).map((h) => {
      const H = A.hosts[h.uuid];
      const st = H?.stats || {};
      const used = H ? lastOf(hostMemUsed(H, 'stats')) : null;
      const c = h.collection;
      return `<tr><td><a href="${href('host', h.uuid)}">${esc(h.name)}</a></td><td>${badge(healthClass(c?.health), c?.health || 'unknown')}</td>` +
        `<td class="num">${h.cpus}</td><td class="num">${fmt(lastOf(hostCpuMean(st)), '%', 3)}</td>` +
        `<td class="num">${fmt(used, 'B', 3)} / ${fmt(h.memory, 'B', 3)}</td>` +
        `<td class="num" data-col="network">${fmtNet(lastOf(hostNet(st)), this.app.bits)}</td><td class="num">${fmt(lastOf(hostDisk(st)), 'B/s', 3)}</td>` +
        `<td class="num">${this.app.vmsOf(h.uuid).filter((v) => !v.is_control_domain).length}</td>` +
        `<td>${A.errors[h.uuid] ? `<span class="warn-text">${esc(A.errors[h.uuid])}</span>` : ''}</td></tr>`;
    });
    this.table.innerHTML = `<h2>Hosts: newest values</h2><div class="card scroll"><table class="list"><thead><tr><th>host</th><th>collection</th>` +
      `<th class="num">CPUs</th><th class="num">CPU</th><th class="num">memory used</th><th class="num">network</th><th class="num">storage</th><th class="num">VMs</th><th></th></tr></thead>` +
      `<tbody>${rows.join('')}</tbody></table></div>`;
  }
}

// ---- dashboard ----

const METRICS = [
  ['cpu', 'CPU', '%'], ['memory', 'Memory', 'B'], ['network', 'Network', 'net'], ['disk', 'Disk', 'B/s'],
];

class DashboardPage extends Page {
  header() {
    const { pools, hosts, vms, srs } = this.app.objects;
    const real = vms.filter((v) => !v.is_control_domain);
    const running = real.filter((v) => v.power_state === 'Running').length;
    const health = { collecting: 0, late: 0, down: 0 };
    for (const h of hosts) health[h.collection?.health || 'down'] = (health[h.collection?.health || 'down'] || 0) + 1;
    const tile = (n, label, extra = '') => `<div class="tile"><b>${n}</b><span>${label}</span>${extra}</div>`;
    this.head.innerHTML = '<h1>Dashboard</h1><div class="tiles">' +
      tile(pools.length, 'pools', `<small>${pools.filter((p) => p.connected).length} connected</small>`) +
      tile(hosts.length, 'hosts', `<small><i class="dot ok"></i>${health.collecting} <i class="dot warn"></i>${health.late} <i class="dot bad"></i>${health.down}</small>`) +
      tile(running, 'VMs running', `<small>of ${real.length}</small>`) +
      tile(srs.length, 'SRs') + '</div>';
  }

  streamObjects() { return this.app.objects.hosts.map((h) => h.uuid); }
  // one reply per pool: the largest pool's hosts share its budget
  replyHosts() { return Math.max(1, ...this.app.objects.pools.map((p) => this.app.hostsOf(p.uuid).length)); }

  fetch() { throw new Error('unused'); }

  async load(req) {
    const app = this.app;
    if (!this.built) {
      this.topBox = this.section('Top now');
      this.topBox.classList.add('tops');
      const g = this.section('Estate');
      this.rowsMeta = [];
      this.heat(g, {
        id: 'estate-heat', title: 'CPU of every host over time (mean of its pCPUs)', unit: '%', max: 100,
        rows: () => this.rowsMeta,
        onRowClick: (r) => { location.hash = href('host', r.key); },
      });
      this.built = true;
    }
    const pools = app.objects.pools.filter((p) => p.connected);
    const failed = [];
    const [tops, replies] = await Promise.all([
      this.loadTops(),
      Promise.all(pools.map((p) => api.stats('pools', p.uuid, req, { signal: this.signal }).catch((e) => {
        if (e.name === 'AbortError') throw e;
        failed.push(`${p.name_label || p.name}: ${e.message}`);
        return {};
      }))),
    ]);
    void tops;
    // a pool whose reply failed is said, not shown as an empty heatmap
    this.msg.innerHTML = failed.length
      ? `<div class="card error" data-failed="${failed.length}"><b>Not shown:</b> ${failed.map(esc).join('; ')}</div>` : '';
    const R = this.merge(pools, replies);
    const domain = req.from !== undefined ? [req.from, req.to] : null;
    for (const w of this.widgets) w.set(R, domain);
    this.lastT = R.t.length ? R.t[R.t.length - 1] : null;
    return { interval: R.interval, bands: false };
  }

  // the pools' replies as one: a heatmap row per host
  merge(pools, replies) {
    const all = {};
    replies.forEach((P) => Object.assign(all, P));
    const A = alignPool(all);
    const multi = pools.length > 1;
    this.rowsMeta = [];
    for (const p of pools) {
      for (const h of this.app.hostsOf(p.uuid).sort((a, b) => natural(a.name, b.name))) {
        this.rowsMeta.push({
          key: h.uuid, label: multi ? `${p.name_label || p.name}/${h.name}` : h.name,
          get: (Y) => (Y.hosts[h.uuid] ? hostCpuMean(Y.hosts[h.uuid].stats) : null),
        });
      }
    }
    return A;
  }

  async loadTops() {
    const res = await Promise.all(['vm', 'host'].flatMap((kind) => METRICS.map(([m]) => api.top(kind, m, 10).catch((e) => ({ error: e.message, kind, metric: m })))));
    if (this.signal.aborted) return;
    this.renderTops(res);
    return res;
  }

  // network in the unit chosen (B/s or b/s): the cards drawn again when it changes
  setBits(on) {
    super.setBits(on);
    if (this.lastTops) this.renderTops(this.lastTops);
  }

  renderTops(res) {
    this.lastTops = res;
    const value = (v, unit) => (unit === 'net' ? fmtNet(v, this.app.bits) : fmt(v, unit, 3));
    this.topBox.innerHTML = res.map((r, i) => {
      const kind = i < METRICS.length ? 'vm' : 'host';
      const [, title, unit] = METRICS[i % METRICS.length];
      const items = r.items || [];
      const top = Math.max(...items.map((x) => x.value || 0), unit === '%' ? 100 : 0) || 1;
      const list = items.map((x) => `<li><a href="${href(kind, x.uuid)}" title="${esc(x.uuid)}"><span class="name">${esc(x.name)}</span>` +
        `<span class="bar"><i style="width:${Math.max(0.5, (x.value / top) * 100).toFixed(1)}%"></i></span>` +
        `<span class="val">${value(x.value, unit)}</span></a></li>`).join('');
      return `<section class="card top" data-top="${kind}-${r.metric || METRICS[i % METRICS.length][0]}"><header><h3>${kind === 'vm' ? 'VMs' : 'Hosts'} by ${title}</h3>` +
        `<small class="muted">${r.time ? fmtTime(r.time) : ''}</small></header>` +
        (r.error ? `<p class="warn-text">${esc(r.error)}</p>` : list ? `<ol>${list}</ol>` : '<p class="muted">nothing running</p>') + '</section>';
    }).join('');
  }

  onEvent(ev) { this.scheduleIncrement(ev); }

  // the top cards every 4 s at most, and every pool's new points (scheduleIncrement)
  async increment() {
    const now = Date.now();
    if (!this._topsAt || now - this._topsAt > 4000) { this._topsAt = now; this.loadTops(); }
    const to = this.liveNewest();
    if (this.lastT === null || !to || to <= this.lastT) return;
    const pools = this.app.objects.pools.filter((p) => p.connected);
    // a pool whose reply fails adds nothing this time, as in load(); the others go on
    const replies = await Promise.all(pools.map((p) => api.stats('pools', p.uuid, this.liveRange(to), { signal: this.signal }).catch((e) => {
      if (e.name === 'AbortError') throw e;
      return {};
    })));
    const A = alignPool(Object.assign({}, ...replies));
    for (const w of this.widgets) w.add(A);
    const t = this.widgets[0]?.map?.data?.t;
    if (t?.length) this.lastT = t[t.length - 1];
  }
}

export const PAGES = { dashboard: DashboardPage, pool: PoolPage, host: HostPage, vm: VmPage, sr: SrPage };
