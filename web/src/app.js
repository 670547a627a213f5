// app.js - the shell of the UI: objects tree, search, routing by location.hash,
// time range (presets, zoom, live), network unit, theme, token prompt.
//
// Routes: #/ dashboard, #/pool/UUID, #/host/UUID, #/vm/UUID, #/sr/UUID.
// The objects (tree, names, hosts' collection health) are read again every
// OBJECTS_REFRESH_MS; until a first read succeeds the page says why and retries.
// After each page's data is drawn, <html data-loads="N"> counts up and a
// performance mark "xs-charts-drawn" is set (the first one: first paint of charts).

import * as api from './api.js';
import { esc, fmtInterval, fmtTime, healthClass, href, natural, powerClass } from './format.js';
import { PAGES } from './pages.js';

const $ = (id) => document.getElementById(id);
const OBJECTS_REFRESH_MS = 30000; // the tree, power states and host health
const OBJECTS_RETRY_MS = 5000;    // after a failed first read of the objects

const PRESETS = {
  '10m': { span: 600, granularity: 'seconds', label: '10 min' },
  '2h': { span: 7200, granularity: 'minutes', label: '2 h' },
  '1d': { span: 86400, label: '1 day' },
  '1w': { span: 7 * 86400, label: '1 week' },
  '1M': { span: 30 * 86400, label: '1 month' },
  '1y': { span: 365 * 86400, label: '1 year' },
};

class App {
  constructor() {
    this.preset = sessionGet('xapistat.preset', '2h');
    if (!PRESETS[this.preset]) this.preset = '2h';
    this.custom = null;   // {from, to} after a zoom
    this.live = false;
    this.bits = sessionGet('xapistat.bits', '0') === '1';
    this.objects = { pools: [], hosts: [], vms: [], srs: [] };
    this.idx = new Map();
    this.page = null;
    this.loads = 0;
    this.es = null;
    this.seq = 0;         // loads started: a reply of an older one is not drawn
    this.byPool = new Map(); this.byHost = new Map(); this.haltedByPool = new Map(); this.srsByPool = new Map();
    this.zoom = this.zoom.bind(this);
    this.reset = this.reset.bind(this);
  }

  async start() {
    api.onTokenNeeded((msg) => this.askToken(msg));
    this.bindUi();
    this.syncControls();
    for (;;) {
      try {
        await Promise.all([this.loadObjects(), api.syncClock().catch(() => null)]);
        break;
      } catch (e) {
        this.fatal(e); // says why and when it tries again; the page stays on it
        await new Promise((res) => setTimeout(res, OBJECTS_RETRY_MS));
      }
    }
    window.addEventListener('hashchange', () => this.route());
    this.route();
    setInterval(() => this.refreshObjects(), OBJECTS_REFRESH_MS);
  }

  // The objects again: tree, power states, host health, the page's head. A failure keeps
  // what is shown (the next refresh tries again).
  async refreshObjects() {
    try {
      await this.loadObjects();
    } catch (e) {
      console.warn('xapistat: objects not refreshed:', e.message);
      return;
    }
    this.page?.header();
  }

  // ---- objects ----

  async loadObjects() {
    const o = await api.get('/api/v1/objects');
    this.objects = o;
    const idx = new Map();
    for (const p of o.pools) idx.set(p.uuid, { kind: 'pool', o: p });
    for (const h of o.hosts) idx.set(h.uuid, { kind: 'host', o: h });
    for (const v of o.vms) idx.set(v.uuid, { kind: 'vm', o: v });
    for (const s of o.srs) idx.set(s.uuid, { kind: 'sr', o: s });
    this.idx = idx;
    // children by parent, built once a read: a tree of 1,000 hosts and 20,000 VMs
    // must not filter every VM for every host
    const group = (list, key) => {
      const m = new Map();
      for (const x of list) {
        const k = key(x);
        if (k === undefined) continue;
        if (!m.has(k)) m.set(k, []);
        m.get(k).push(x);
      }
      return m;
    };
    this.byPool = group(o.hosts, (h) => h.pool);
    this.byHost = group(o.vms, (v) => v.host || undefined);
    this.haltedByPool = group(o.vms, (v) => (v.host ? undefined : v.pool));
    this.srsByPool = group(o.srs, (s) => s.pool);
    this.sr8 = new Map();
    for (const s of o.srs) {
      const k = s.uuid.slice(0, 8);
      this.sr8.set(k, this.sr8.has(k) ? null : s); // null: two SRs share the prefix
    }
    this.renderTree();
  }

  get(uuid) { return this.idx.get(uuid)?.o || null; }
  hostsOf(pool) { return this.byPool.get(pool) || []; }
  vmsOf(host) { return this.byHost.get(host) || []; }
  srsOf(pool) { return this.srsByPool.get(pool) || []; }
  poolName(uuid) {
    const p = this.get(uuid);
    return p ? p.name_label || p.name || uuid : uuid || '';
  }
  srName(sr8) {
    const s = this.sr8.get(sr8);
    return s ? s.name : `SR ${sr8}…`;
  }

  renderTree() {
    const { pools } = this.objects;
    const vmItem = (v) => `<li><a href="${href('vm', v.uuid)}" data-uuid="${esc(v.uuid)}">` +
      `<i class="dot ${powerClass(v.power_state)}" title="${esc(v.power_state)}"></i>${esc(v.name)}` +
      `${v.is_control_domain ? ' <small>dom0</small>' : ''}</a></li>`;
    let h = '<ul><li><a href="#/"><i class="glyph">▦</i>Dashboard</a></li></ul>';
    for (const p of pools) {
      const ph = [...this.hostsOf(p.uuid)].sort((a, b) => natural(a.name, b.name));
      const halted = this.haltedByPool.get(p.uuid) || [];
      const psr = this.srsOf(p.uuid);
      h += `<details open data-key="p:${esc(p.uuid)}"><summary><a href="${href('pool', p.uuid)}" data-uuid="${esc(p.uuid)}">` +
        `<i class="dot ${p.connected ? 'ok' : 'bad'}" title="${p.connected ? 'connected' : 'not connected'}"></i>` +
        `<b>${esc(p.name_label || p.name)}</b></a></summary><div class="kids">`;
      for (const x of ph) {
        const hv = [...this.vmsOf(x.uuid)].sort((a, b) => a.is_control_domain - b.is_control_domain || a.name.localeCompare(b.name));
        const health = x.collection?.health || 'unknown';
        h += `<details data-key="h:${esc(x.uuid)}"><summary>` +
          `<a href="${href('host', x.uuid)}" data-uuid="${esc(x.uuid)}">` +
          `<i class="dot ${healthClass(health)}" title="collection: ${esc(health)}"></i>${esc(x.name)}` +
          ` <small>${hv.filter((v) => !v.is_control_domain).length}</small></a></summary><ul>${hv.map(vmItem).join('')}</ul></details>`;
      }
      if (psr.length) {
        h += `<details data-key="s:${esc(p.uuid)}"><summary><span class="group">Storage <small>${psr.length}</small></span></summary><ul>` +
          psr.map((s) => `<li><a href="${href('sr', s.uuid)}" data-uuid="${esc(s.uuid)}">` +
            `<i class="glyph">⛁</i>${esc(s.name)} <small>${esc(s.type)}</small></a></li>`).join('') + '</ul></details>';
      }
      if (halted.length) {
        h += `<details data-key="n:${esc(p.uuid)}"><summary><span class="group">Not running <small>${halted.length}</small></span></summary>` +
          `<ul>${halted.map(vmItem).join('')}</ul></details>`;
      }
      h += '</div></details>';
    }
    if (!pools.length) h += '<p class="muted pad">No pool configured.</p>';
    const tree = $('tree');
    // the 30 s refresh of an unchanged estate leaves the tree alone (building it is 100+ ms
    // at 20,000 VMs); a changed one keeps the branches the user opened or closed
    if (h === this.treeHtml) return;
    const first = this.treeHtml === undefined;
    const open = new Map([...tree.querySelectorAll('details[data-key]')].map((d) => [d.dataset.key, d.open]));
    tree.innerHTML = h;
    this.treeHtml = h;
    for (const d of tree.querySelectorAll('details[data-key]')) {
      if (open.has(d.dataset.key)) d.open = open.get(d.dataset.key);
    }
    // the current object's branches are opened when the tree is first built and on
    // navigation, not by a refresh (a branch the user closed stays closed)
    this.selectInTree(first);
  }

  // Marks the current object in the tree (and, with openBranches, opens its branches)
  // without building it again.
  selectInTree(openBranches = true) {
    const tree = $('tree');
    const cur = this.current?.uuid;
    for (const a of tree.querySelectorAll('a.sel')) a.classList.remove('sel');
    const a = cur ? tree.querySelector(`a[data-uuid="${CSS.escape(cur)}"]`) : tree.querySelector('a[href="#/"]');
    if (!a) return;
    a.classList.add('sel');
    if (!openBranches) return;
    for (let d = a.closest('details'); d; d = d.parentElement?.closest('details')) d.open = true;
  }

  // ---- search ----

  search(q) {
    q = q.trim().toLowerCase();
    if (!q) return [];
    const out = [];
    for (const [uuid, { kind, o }] of this.idx) {
      const name = (o.name_label || o.name || '').toLowerCase();
      const score = name === q || uuid === q ? 0 : name.startsWith(q) || uuid.startsWith(q) ? 1
        : name.includes(q) || uuid.includes(q) ? 2 : -1;
      if (score >= 0) out.push({ kind, o, uuid, score });
    }
    const order = { pool: 0, host: 1, vm: 2, sr: 3 };
    out.sort((a, b) => a.score - b.score || order[a.kind] - order[b.kind] || (a.o.name || '').localeCompare(b.o.name || ''));
    return out.slice(0, 30);
  }

  showResults() {
    const q = $('search').value;
    const list = $('results');
    const res = this.search(q);
    this.results = res;
    this.sel = 0;
    if (!q.trim()) { list.hidden = true; return; }
    list.innerHTML = res.length ? res.map((r, i) => {
      const o = r.o;
      const state = r.kind === 'vm' ? `<i class="dot ${powerClass(o.power_state)}"></i>` :
        r.kind === 'host' ? `<i class="dot ${healthClass(o.collection?.health)}"></i>` : '';
      return `<li role="option" class="${i === 0 ? 'sel' : ''}" data-i="${i}"><a href="${href(r.kind, r.uuid)}">` +
        `<span class="kind">${r.kind}</span>${state}${esc(o.name_label || o.name)}<small>${esc(r.uuid)}</small></a></li>`;
    }).join('') : '<li class="muted">no match</li>';
    list.hidden = false;
  }

  // ---- routing ----

  route() {
    const m = location.hash.match(/^#\/(vm|host|sr|pool)\/([^/?#]+)/);
    let uuid = null;
    try { uuid = m ? decodeURIComponent(m[2]) : null; } catch { uuid = m[2]; } // a bad escape: as typed
    // uuids are lower case in the topology and in stream events; the API folds a capital
    // one, so a pasted upper-case link must too (live mode matched events by the uuid)
    if (uuid) uuid = uuid.toLowerCase();
    const r = m ? { kind: m[1], uuid } : { kind: 'dashboard', uuid: null };
    if (this.page) this.page.destroy();
    this.closeStream();
    this.current = r;
    this.custom = null;
    document.body.classList.remove('nav-open');
    const el = $('page');
    el.innerHTML = '';
    window.scrollTo(0, 0);
    this.selectInTree();
    const known = r.uuid ? this.idx.get(r.uuid) : null;
    if (r.uuid && (!known || known.kind !== r.kind)) {
      // not in the topology (a deleted VM keeps its history): still ask the API; the uuid
      // of another kind of object (#/sr/<a host's uuid>) is not shown as this kind's page
      if (known || (r.kind !== 'vm' && r.kind !== 'host')) {
        el.innerHTML = `<div class="card"><h2>Not found</h2><p>No ${esc(r.kind)} ${esc(r.uuid)} is known.` +
          `${known ? ` It is a ${esc(known.kind)}: <a href="${href(known.kind, r.uuid)}">its page</a>.` : ''}</p></div>`;
        this.page = null;
        this.markLoaded();
        return;
      }
    }
    const Page = PAGES[r.kind];
    this.page = new Page(this, el, r.uuid);
    this.reload();
  }

  // ---- time range ----

  // The request for the current range; width: the plot width in px (point budget).
  request() {
    if (this.live) return { granularity: 'seconds' };
    const budget = api.pointBudget(this.plotWidth(), this.page?.replyHosts() || 1);
    if (this.custom) return { from: this.custom.from, to: this.custom.to, points: budget };
    const p = PRESETS[this.preset];
    if (p.granularity) return { granularity: p.granularity };
    const to = Math.ceil(api.now());
    return { from: to - p.span, to, points: budget };
  }

  plotWidth() {
    const el = document.querySelector('.plot');
    return el ? el.clientWidth : 800;
  }

  async reload() {
    const page = this.page;
    if (!page) return;
    const seq = ++this.seq;
    const req = this.request();
    this.renderRangebar(req, null);
    page.newLoad(); // a load of an older range still running is aborted: it never draws
    try {
      const info = await page.load(req);
      if (page !== this.page || seq !== this.seq) return;
      this.renderRangebar(req, info);
      if (this.live) this.openStream();
      this.markLoaded();
    } catch (e) {
      if (e.name === 'AbortError' || page !== this.page || seq !== this.seq) return;
      page.error(e);
      this.markLoaded();
    }
  }

  markLoaded() {
    this.loads++;
    if (this.loads === 1) performance.mark('xs-charts-drawn');
    document.documentElement.dataset.loads = String(this.loads);
  }

  zoom(from, to) {
    this.setLive(false, false);
    this.custom = { from, to };
    this.syncControls();
    this.reload();
  }

  reset() {
    if (!this.custom) return;
    this.custom = null;
    this.syncControls();
    this.reload();
  }

  setPreset(p) {
    this.preset = p;
    sessionSet('xapistat.preset', p);
    this.custom = null;
    this.setLive(false, false);
    this.syncControls();
    this.reload();
  }

  setLive(on, reload = true) {
    if (this.live === on) return;
    this.live = on;
    if (on) this.custom = null;
    else this.closeStream();
    this.syncControls();
    if (reload) this.reload();
  }

  renderRangebar(req, info) {
    const bar = $('rangebar');
    let what;
    if (this.live) what = '<b class="live-badge">LIVE</b> last 10 min, new points pushed by the server';
    else if (this.custom) what = `Zoomed: ${fmtTime(this.custom.from)} → ${fmtTime(this.custom.to)}`;
    else what = `Last ${PRESETS[this.preset].label}`;
    let res = '';
    if (info && info.interval) {
      res = ` · ${fmtInterval(info.interval)} points`;
      if (info.bands) res += ' · band: min…max of each point';
    }
    if (!info) res = ' · loading…';
    bar.innerHTML = `<span>${what}${res}</span>` +
      (this.custom ? ' <button type="button" id="unzoom" class="link">Reset zoom</button>' : '') +
      (!this.live ? ' <span class="muted hint">drag on a chart to zoom · double-click to reset</span>' : '');
    const b = $('unzoom');
    if (b) b.onclick = this.reset;
  }

  // ---- live stream (SSE, no polling) ----

  openStream() {
    this.closeStream();
    const uuids = this.page?.streamObjects() || [];
    if (!uuids.length) return;
    const es = new EventSource(api.streamUrl(uuids.slice(0, 256)));
    const page = this.page;
    es.addEventListener('stats', (ev) => {
      if (page !== this.page) return;
      let d;
      try { d = JSON.parse(ev.data); } catch { return; }
      page.onEvent(d);
      document.documentElement.dataset.events = String(+(document.documentElement.dataset.events || 0) + 1);
    });
    es.onopen = () => $('live').classList.remove('broken');
    es.onerror = () => $('live').classList.add('broken');
    this.es = es;
  }

  closeStream() {
    if (this.es) { this.es.close(); this.es = null; }
    $('live')?.classList.remove('broken');
  }

  // ---- controls ----

  syncControls() {
    for (const b of document.querySelectorAll('#presets button')) {
      b.setAttribute('aria-pressed', String(!this.live && !this.custom && b.dataset.preset === this.preset));
    }
    $('live').setAttribute('aria-pressed', String(this.live));
    $('unit-bytes').setAttribute('aria-pressed', String(!this.bits));
    $('unit-bits').setAttribute('aria-pressed', String(this.bits));
  }

  setBits(on) {
    this.bits = on;
    sessionSet('xapistat.bits', on ? '1' : '0');
    this.syncControls();
    this.page?.setBits(on);
  }

  bindUi() {
    $('presets').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-preset]');
      if (b) this.setPreset(b.dataset.preset);
    });
    $('live').onclick = () => this.setLive(!this.live);
    $('unit-bytes').onclick = () => this.setBits(false);
    $('unit-bits').onclick = () => this.setBits(true);
    $('theme').onclick = () => {
      const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
      document.documentElement.dataset.theme = t;
      try { localStorage.setItem('xapistat.theme', t); } catch { /* ignore */ }
    };
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', (e) => {
      let saved = null;
      try { saved = localStorage.getItem('xapistat.theme'); } catch { /* ignore */ }
      if (!saved) document.documentElement.dataset.theme = e.matches ? 'dark' : 'light';
    });
    $('menu').onclick = () => document.body.classList.toggle('nav-open');
    $('tree').addEventListener('click', (e) => {
      if (e.target.closest('a')) document.body.classList.remove('nav-open');
    });
    const input = $('search');
    input.addEventListener('input', () => this.showResults());
    input.addEventListener('keydown', (e) => {
      const list = $('results');
      const n = this.results?.length || 0;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        if (!n) return;
        this.sel = (this.sel + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        list.querySelectorAll('li').forEach((li, i) => li.classList.toggle('sel', i === this.sel));
      } else if (e.key === 'Enter') {
        const r = this.results?.[this.sel];
        if (r) { location.hash = href(r.kind, r.uuid); this.closeSearch(); }
      } else if (e.key === 'Escape') {
        this.closeSearch();
      }
    });
    input.addEventListener('blur', () => setTimeout(() => this.closeSearch(false), 200));
    $('results').addEventListener('click', () => this.closeSearch());
    document.addEventListener('keydown', (e) => {
      if (e.key === '/' && document.activeElement !== input && !e.target.closest('input,textarea')) {
        e.preventDefault();
        input.focus();
        input.select();
      }
    });
  }

  closeSearch(clear = true) {
    $('results').hidden = true;
    if (clear) { $('search').value = ''; $('search').blur(); }
  }

  askToken(msg) {
    const dlg = $('token-dialog');
    $('token-msg').textContent = `${msg} Enter the bearer token of this xapistat (its token_file).`;
    $('token-input').value = '';
    return new Promise((resolve) => {
      const done = (v) => { dlg.close(); resolve(v); };
      dlg.querySelector('form').onsubmit = (e) => { e.preventDefault(); done($('token-input').value.trim() || null); };
      $('token-cancel').onclick = () => done(null);
      dlg.showModal();
    });
  }

  fatal(e) {
    $('page').innerHTML = `<div class="card error" data-fatal="1"><h2>Cannot read the estate</h2><p>${esc(e.message)}</p>` +
      `<p class="muted">Trying again in ${OBJECTS_RETRY_MS / 1000} s.</p></div>`;
  }
}


function sessionGet(k, d) {
  try { return localStorage.getItem(k) ?? d; } catch { return d; }
}
function sessionSet(k, v) {
  try { localStorage.setItem(k, v); } catch { /* ignore */ }
}

const app = new App();
window.xapistat = app; // for the console and the browser tests
app.start();
