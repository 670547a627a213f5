// chart.js - a time-series chart card (d3, SVG): lines with gaps where the API
// says null, min/max bands on rollups, drag-to-zoom (d3.brushX), a tooltip with
// exact values, appending points for the live mode.
//
// For tests and tools, the <svg> carries what it shows as data attributes:
//   data-chart (id), data-unit, data-count (points), data-series (keys, comma
//   separated), data-t0 / data-t1 (x domain, unix seconds), data-first / data-last
//   (first and last point times), data-interval, data-bands (1 when min/max bands
//   are drawn), data-left / data-plot-width (plot geometry in px), data-last-values
//   (JSON {key: value} of the newest point, API units), data-render-ms,
//   and while hovering data-hover-t / data-hover-values (JSON, API units).
// svg.__chart is the chart object itself (valueAt(key, t) reads a point).

import { fmt, fmtTime, fmtInterval, niceMax, yTicks } from './format.js';
import { appendLive, liveSpan } from './series.js';

const d3 = window.d3;
const MARGIN = { top: 20, right: 14, bottom: 24, left: 58 };

export class TimeChart {
  // opts: { id, title, unit, height, note, onZoom(from, to), onReset(), maxPoints, yMax }
  constructor(parent, opts) {
    this.opts = Object.assign({ height: 200, maxPoints: 720 }, defined(opts));
    this.unit = opts.unit;
    this.factor = 1;
    this.hidden = new Set();
    this.data = { t: [], interval: 0, series: [], domain: null };
    this.card = d3.select(parent).append('section').attr('class', `card chart-card${opts.wide ? ' wide' : ''}`);
    const head = this.card.append('header');
    head.append('h3').text(opts.title);
    this.legend = head.append('div').attr('class', 'legend');
    this.note = this.card.append('p').attr('class', 'note');
    this.setNote(opts.note || '');
    this.plot = this.card.append('div').attr('class', 'plot');
    this.svg = this.plot.append('svg').attr('class', 'chart').attr('data-chart', opts.id || '');
    this.svg.node().__chart = this;
    this.tip = this.plot.append('div').attr('class', 'tooltip').style('display', 'none');
    this.empty = this.plot.append('div').attr('class', 'empty').style('display', 'none');
    this._ro = new ResizeObserver(() => {
      const w = this.plot.node().clientWidth;
      if (w && w !== this._w) this.render();
    });
    this._ro.observe(this.plot.node());
  }

  destroy() { this._ro.disconnect(); }

  setNote(html) {
    this.note.html(html).style('display', html ? null : 'none');
  }

  // unit shown and the factor from API values to it (bytes/s -> bits/s: 'b/s', 8)
  setDisplay(unit, factor) {
    this.unit = unit;
    this.factor = factor;
    this.render();
  }

  // data: { t: number[] (unix s), interval, domain: [t0, t1] | null,
  //         series: [{ key, label, color, dash, width, v: [], lo: [] | null, hi: [] | null }] }
  setData(data) {
    this.data = data;
    this.span = liveSpan(data.t, data.interval, data.domain);
    this.render();
  }

  // points: { t: number[], interval, series: { key: number[] }, lo?, hi?: { key: number[] } }
  // appended (series.js appendLive: older or repeated times skipped, gaps broken, the
  // live view kept as wide as its first reply)
  append(points) {
    const get = (key, a, i) => (a === 'v' ? points.series : points[a])?.[key]?.[i];
    const added = appendLive(this.data, this.data.series, points, get, { maxPoints: this.opts.maxPoints, span: this.span });
    if (added) this.render();
    return added;
  }

  valueAt(key, t) {
    const i = this.data.t.indexOf(t);
    const s = this.data.series.find((x) => x.key === key);
    return i < 0 || !s ? undefined : s.v[i];
  }

  _legend() {
    const items = this.legend.selectAll('button').data(this.data.series, (s) => s.key);
    items.exit().remove();
    const enter = items.enter().append('button').attr('type', 'button').attr('class', 'lg');
    enter.append('i');
    enter.append('span');
    enter.merge(items)
      .classed('off', (s) => this.hidden.has(s.key))
      .attr('title', (s) => `${s.label}: click to hide or show`)
      .on('click', (ev, s) => {
        if (this.hidden.has(s.key)) this.hidden.delete(s.key); else this.hidden.add(s.key);
        this.render();
      })
      .call((b) => b.select('i').attr('class', (s) => (s.dash ? 'dash' : ''))
        .style('--c', (s) => s.color))
      .call((b) => b.select('span').text((s) => s.label));
    this.legend.style('display', this.data.series.length > 1 ? null : 'none');
  }

  render() {
    const t0 = performance.now();
    const { t, series, interval } = this.data;
    const width = this.plot.node().clientWidth || 600;
    this._w = width;
    const height = this.opts.height;
    const W = Math.max(10, width - MARGIN.left - MARGIN.right);
    const H = height - MARGIN.top - MARGIN.bottom;
    const svg = this.svg.attr('width', width).attr('height', height)
      .attr('viewBox', `0 0 ${width} ${height}`);
    this._legend();

    const shown = series.filter((s) => !this.hidden.has(s.key));
    const f = this.factor;
    let max = 0;
    for (const s of shown) {
      for (const v of s.v) if (v !== null && v > max) max = v;
      if (s.hi) for (const v of s.hi) if (v !== null && v > max) max = v;
    }
    max *= f;
    if (this.opts.yMax) max = Math.max(max, this.opts.yMax);
    const top = niceMax(max, this.unit);
    // no points and no range asked: the last 10 minutes (not 1970)
    const now = Date.now() / 1000;
    // a range's domain reaches its newest point too: a rollup in progress is stamped at its
    // period's end, after `to`, and would be clipped at the right edge
    const domain = this.data.domain
      ? [this.data.domain[0], Math.max(this.data.domain[1], t.length ? t[t.length - 1] : -Infinity)]
      : (t.length ? [t[0] - (interval || 0), t[t.length - 1]] : [now - 600, now]);
    const x = d3.scaleTime().domain(domain.map((s) => new Date(s * 1000))).range([0, W]);
    const y = d3.scaleLinear().domain([0, top]).range([H, 0]);
    this.x = x;
    this.W = W;

    svg.selectAll('*').remove();
    const g = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
    const yt = yTicks(top, this.unit, H < 140 ? 3 : 5);
    g.append('g').attr('class', 'grid')
      .selectAll('line').data(yt.ticks).join('line')
      .attr('x1', 0).attr('x2', W).attr('y1', (v) => y(v)).attr('y2', (v) => y(v));
    g.append('g').attr('class', 'axis y')
      .call(d3.axisLeft(y).tickValues(yt.ticks).tickFormat(yt.format).tickSize(0).tickPadding(6))
      .call((a) => a.select('.domain').remove());
    g.append('text').attr('class', 'unit').attr('x', -MARGIN.left + 4).attr('y', -10)
      .text(yt.label);
    g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${H})`)
      .call(d3.axisBottom(x).ticks(Math.max(2, Math.floor(W / 90))).tickSizeOuter(0)
        .tickFormat(localTimeFormat(domain)));

    // x positions once for every series
    const xs = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) xs[i] = x(t[i] * 1000);
    const clip = `clip-${this.opts.id || Math.random().toString(36).slice(2)}`.replace(/[^\w-]/g, '_');
    g.append('clipPath').attr('id', clip).append('rect').attr('width', W).attr('height', H + 1);
    const body = g.append('g').attr('clip-path', `url(#${clip})`);
    let bands = false;
    // more points than pixels: draw each pixel column's first, min, max and last (same picture)
    const dense = t.length > 2 * W;
    for (const s of shown) {
      if (!s.lo || !s.hi || shown.length > 6) continue;
      const b = dense ? decimateBand(xs, s.lo, s.hi) : { x: xs, lo: s.lo, hi: s.hi };
      const area = d3.area().digits(1)
        .defined((i) => b.lo[i] !== null && b.hi[i] !== null && b.lo[i] !== undefined)
        .x((i) => b.x[i]).y0((i) => y(b.lo[i] * f)).y1((i) => y(b.hi[i] * f));
      body.append('path').attr('class', 'band').attr('fill', s.color).attr('d', area(d3.range(b.x.length)));
      bands = true;
    }
    for (const s of shown) {
      const l = dense ? decimate(xs, s.v) : { x: xs, v: s.v };
      const line = d3.line().digits(1).defined((i) => l.v[i] !== null && l.v[i] !== undefined)
        .x((i) => l.x[i]).y((i) => y(l.v[i] * f));
      body.append('path').attr('class', 'line').attr('stroke', s.color)
        .attr('stroke-width', s.width || 1.5)
        .attr('stroke-dasharray', s.dash ? '5 3' : null).attr('d', line(d3.range(l.x.length)));
    }
    const cursor = g.append('g').attr('class', 'cursor').style('display', 'none');
    cursor.append('line').attr('y1', 0).attr('y2', H);

    // drag to zoom; the tooltip follows the pointer over the brush's overlay
    if (this.opts.onZoom) {
      const brush = d3.brushX().extent([[0, 0], [W, H]]).on('end', (ev) => {
        if (!ev.selection) return;
        const [a, b] = ev.selection.map((px) => x.invert(px).getTime() / 1000);
        g.select('.brush').call(brush.move, null);
        if (b - a >= 10) this.opts.onZoom(Math.floor(a), Math.ceil(b));
      });
      g.append('g').attr('class', 'brush').call(brush)
        .on('dblclick', () => this.opts.onReset && this.opts.onReset());
    } else {
      g.append('rect').attr('class', 'overlay').attr('width', W).attr('height', H)
        .attr('fill', 'transparent');
    }
    svg.on('pointermove', (ev) => this._hover(ev, xs, y, cursor, shown))
      .on('pointerleave', () => {
        cursor.style('display', 'none');
        this.tip.style('display', 'none');
        delete svg.node().dataset.hoverT;
        delete svg.node().dataset.hoverValues;
      });

    const n = t.length;
    let anyValue = false;
    for (const s of series) if (s.v.some((v) => v !== null)) { anyValue = true; break; }
    this.empty.style('display', anyValue ? 'none' : null)
      .text(series.length ? 'no data in this range' : 'no such data for this object');
    const last = {};
    for (const s of series) last[s.key] = n ? s.v[n - 1] : null;
    const ds = svg.node().dataset;
    Object.assign(ds, {
      unit: this.unit, count: String(n), series: series.map((s) => s.key).join(','),
      t0: String(Math.round(domain[0])), t1: String(Math.round(domain[1])),
      first: n ? String(t[0]) : '', last: n ? String(t[n - 1]) : '',
      interval: String(interval || ''), bands: bands ? '1' : '0',
      left: String(MARGIN.left), plotWidth: String(W),
      lastValues: JSON.stringify(last),
    });
    ds.renderMs = (performance.now() - t0).toFixed(2);
  }

  _hover(ev, xs, y, cursor, shown) {
    const { t } = this.data;
    if (!t.length) return;
    const [px] = d3.pointer(ev, this.svg.node());
    const mx = px - MARGIN.left;
    if (mx < 0 || mx > this.W) return;
    // nearest point by x
    let i = d3.bisectLeft(xs, mx);
    if (i >= xs.length) i = xs.length - 1;
    if (i > 0 && mx - xs[i - 1] < xs[i] - mx) i--;
    cursor.style('display', null).attr('transform', `translate(${xs[i]},0)`);
    const vals = {};
    const rows = shown.map((s) => {
      vals[s.key] = s.v[i];
      const band = s.lo && s.hi && s.lo[i] !== null && s.hi[i] !== null
        ? ` <small>(${fmt(s.lo[i] * this.factor, this.unit, 3)} … ${fmt(s.hi[i] * this.factor, this.unit, 3)})</small>`
        : '';
      return `<tr><td><i style="--c:${s.color}" class="${s.dash ? 'dash' : ''}"></i>${escapeHtml(s.label)}</td>` +
        `<td class="v">${fmt(s.v[i] === null ? null : s.v[i] * this.factor, this.unit)}${band}</td></tr>`;
    });
    const interval = this.data.interval;
    this.tip.html(`<div class="tt">${fmtTime(t[i])}${interval ? ` <small>· ${fmtInterval(interval)} point</small>` : ''}</div>` +
      `<table>${rows.join('')}</table>`);
    const pw = this.plot.node().clientWidth;
    const left = xs[i] + MARGIN.left;
    this.tip.style('display', null)
      .style('left', left > pw / 2 ? null : `${left + 12}px`)
      .style('right', left > pw / 2 ? `${pw - left + 12}px` : null);
    const ds = this.svg.node().dataset;
    ds.hoverT = String(t[i]);
    ds.hoverValues = JSON.stringify(vals);
  }
}

// Per pixel column: the first, lowest, highest and last value, in time order; a null
// stays a null (a gap). Returns { x: [], v: [] }.
export function decimate(xs, v) {
  const X = [], V = [];
  const n = v.length;
  let col = NaN, first = -1, last = -1, lo = -1, hi = -1;
  const flush = () => {
    if (first < 0) return;
    const idx = [first, lo, hi, last].sort((a, b) => a - b);
    let prev = -1;
    for (const i of idx) if (i !== prev) { X.push(xs[i]); V.push(v[i]); prev = i; }
    first = -1;
  };
  for (let i = 0; i < n; i++) {
    const val = v[i];
    if (val === null || val === undefined) {
      flush();
      if (V.length && V[V.length - 1] !== null) { X.push(xs[i]); V.push(null); }
      col = NaN;
      continue;
    }
    const c = Math.floor(xs[i]);
    if (c !== col) { flush(); col = c; first = lo = hi = i; }
    if (val < v[lo]) lo = i;
    if (val > v[hi]) hi = i;
    last = i;
  }
  flush();
  return { x: X, v: V };
}

// Per pixel column: the lowest lo and highest hi, at the column's first and last x.
export function decimateBand(xs, lo, hi) {
  const X = [], L = [], H = [];
  let col = NaN, a = -1, b = -1, l = 0, h = 0;
  const flush = () => {
    if (a < 0) return;
    X.push(xs[a]); L.push(l); H.push(h);
    if (b !== a) { X.push(xs[b]); L.push(l); H.push(h); }
    a = -1;
  };
  for (let i = 0; i < xs.length; i++) {
    if (lo[i] === null || hi[i] === null || lo[i] === undefined) {
      flush();
      if (L.length && L[L.length - 1] !== null) { X.push(xs[i]); L.push(null); H.push(null); }
      col = NaN;
      continue;
    }
    const c = Math.floor(xs[i]);
    if (c !== col) { flush(); col = c; a = i; l = lo[i]; h = hi[i]; }
    if (lo[i] < l) l = lo[i];
    if (hi[i] > h) h = hi[i];
    b = i;
  }
  flush();
  return { x: X, lo: L, hi: H };
}

// opts without its undefined members (so defaults stay)
export function defined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

// Local-time tick labels suited to the span shown.
export function localTimeFormat(domain) {
  const span = domain[1] - domain[0];
  const fTime = d3.timeFormat('%H:%M');
  const fSec = d3.timeFormat('%H:%M:%S');
  const fDay = d3.timeFormat('%b %d');
  const fMonth = d3.timeFormat('%b %Y');
  return (d) => {
    if (span <= 900) return fSec(d);
    if (span <= 2 * 86400) return d.getHours() === 0 && d.getMinutes() === 0 ? fDay(d) : fTime(d);
    if (span <= 120 * 86400) return fDay(d);
    return fMonth(d);
  };
}
