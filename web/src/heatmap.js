// heatmap.js - rows × time as colour (canvas for the cells, SVG for axes):
// per-CPU load of a host with 64+ CPUs, or the estate's hosts by CPU. A null
// cell is left empty (a gap), the colour scale is fixed (0..100 % for CPU).
//
// Data attributes on the card's <svg>: data-heatmap (id), data-rows, data-count,
// data-columns (of the cell image), data-t0 / data-t1, data-render-ms; hovering sets
// data-hover-row / -t / -value.

import { esc, fmt, fmtTime, fmtInterval } from './format.js';
import { defined, localTimeFormat } from './chart.js';
import { appendLive, heatColumns, liveSpan } from './series.js';

const d3 = window.d3;
const MARGIN = { top: 6, right: 14, bottom: 24, left: 92 };

export class Heatmap {
  // opts: { id, title, unit, max, note, onZoom(from, to), onReset(), onRowClick(row), maxPoints }
  constructor(parent, opts) {
    this.opts = Object.assign({ max: 100, maxPoints: 720 }, defined(opts));
    this.data = { t: [], interval: 0, rows: [], domain: null };
    this.card = d3.select(parent).append('section').attr('class', 'card chart-card heat-card');
    const head = this.card.append('header');
    head.append('h3').text(opts.title);
    this.scaleBox = head.append('div').attr('class', 'heat-scale');
    if (opts.note) this.card.append('p').attr('class', 'note').html(opts.note);
    this.plot = this.card.append('div').attr('class', 'plot');
    this.canvas = this.plot.append('canvas').attr('class', 'heat');
    this.svg = this.plot.append('svg').attr('class', 'chart heatmap').attr('data-heatmap', opts.id || '');
    this.svg.node().__chart = this;
    this.tip = this.plot.append('div').attr('class', 'tooltip').style('display', 'none');
    this.color = (v) => d3.interpolateViridis(Math.max(0, Math.min(1, v / this.opts.max)));
    this._drawScale();
    this._ro = new ResizeObserver(() => {
      const w = this.plot.node().clientWidth;
      if (w && w !== this._w) this.render();
    });
    this._ro.observe(this.plot.node());
  }

  destroy() { this._ro.disconnect(); }

  _drawScale() {
    const steps = d3.range(0, 1.0001, 0.1);
    this.scaleBox.html('');
    this.scaleBox.append('span').text(fmt(0, this.opts.unit, 2));
    this.scaleBox.append('i').style('background',
      `linear-gradient(to right, ${steps.map((s) => d3.interpolateViridis(s)).join(',')})`);
    this.scaleBox.append('span').text(fmt(this.opts.max, this.opts.unit, 3));
  }

  // data: { t, interval, domain, rows: [{ key, label, v: [] }] }
  setData(data) {
    this.data = data;
    this.span = liveSpan(data.t, data.interval, data.domain);
    this.render();
  }

  // points: { t, interval, rows: { key: number[] } }: as TimeChart.append
  append(points) {
    const get = (key, a, i) => points.rows[key]?.[i];
    const added = appendLive(this.data, this.data.rows, points, get, { maxPoints: this.opts.maxPoints, span: this.span });
    if (added) this.render();
    return added;
  }

  render() {
    const t0 = performance.now();
    const { t, rows, interval } = this.data;
    const width = this.plot.node().clientWidth || 600;
    this._w = width;
    const n = rows.length;
    const cellH = n ? Math.max(2, Math.min(16, Math.floor(320 / n))) : 16;
    const H = Math.max(cellH * n, 16);
    const height = H + MARGIN.top + MARGIN.bottom;
    const W = Math.max(10, width - MARGIN.left - MARGIN.right);
    // as the charts' (chart.js): a range's domain reaches its newest point, a period in progress
    const domain = this.data.domain
      ? [this.data.domain[0], Math.max(this.data.domain[1], t.length ? t[t.length - 1] : -Infinity)]
      : (t.length ? [t[0] - interval, t[t.length - 1]] : [0, 1]);
    const x = d3.scaleTime().domain(domain.map((s) => new Date(s * 1000))).range([0, W]);
    this.x = x;
    this.W = W;
    this.cellH = cellH;

    // cells: an image of columns × rows, scaled onto the plot without smoothing
    const dpr = window.devicePixelRatio || 1;
    const cv = this.canvas.node();
    cv.width = Math.round(W * dpr);
    cv.height = Math.round(H * dpr);
    this.canvas.style('left', `${MARGIN.left}px`).style('top', `${MARGIN.top}px`)
      .style('width', `${W}px`).style('height', `${H}px`);
    const ctx = cv.getContext('2d');
    ctx.clearRect(0, 0, cv.width, cv.height);
    this._cols = 0;
    if (t.length && n) {
      // a column per interval: a gap keeps its width (series.js heatColumns)
      const { cols, col } = heatColumns(t, interval);
      this._cols = cols;
      const img = new ImageData(cols, n);
      const px = img.data;
      const cache = new Map();
      for (let r = 0; r < n; r++) {
        const v = rows[r].v;
        for (let i = 0; i < t.length; i++) {
          const val = v[i];
          if (val === null || val === undefined) continue;
          const q = Math.max(0, Math.min(100, Math.round(val / this.opts.max * 100)));
          let c = cache.get(q);
          if (!c) { c = d3.rgb(d3.interpolateViridis(q / 100)); cache.set(q, c); }
          const o = (r * cols + col[i]) * 4;
          px[o] = c.r; px[o + 1] = c.g; px[o + 2] = c.b; px[o + 3] = 255;
        }
      }
      const off = document.createElement('canvas');
      off.width = cols;
      off.height = n;
      off.getContext('2d').putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      const xa = x((t[0] - interval) * 1000), xb = x(t[t.length - 1] * 1000);
      ctx.drawImage(off, xa * dpr, 0, (xb - xa) * dpr, n * cellH * dpr);
    }

    const svg = this.svg.attr('width', width).attr('height', height);
    svg.selectAll('*').remove();
    const g = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
    // row labels: as many as fit (every k-th)
    const every = Math.max(1, Math.ceil(12 / cellH));
    g.append('g').attr('class', 'axis rows').selectAll('text')
      .data(rows.filter((_, i) => i % every === 0))
      .join('text').attr('x', -6).attr('text-anchor', 'end')
      .attr('y', (r) => rows.indexOf(r) * cellH + Math.min(cellH, 12) / 2 + 4)
      .text((r) => r.label);
    g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${H})`)
      .call(d3.axisBottom(x).ticks(Math.max(2, Math.floor(W / 90))).tickSizeOuter(0)
        .tickFormat(localTimeFormat(domain)));
    g.append('rect').attr('class', 'frame').attr('width', W).attr('height', H);
    const mark = g.append('rect').attr('class', 'cell-mark').style('display', 'none');
    if (this.opts.onZoom) {
      const brush = d3.brushX().extent([[0, 0], [W, H]]).on('end', (ev) => {
        if (!ev.selection) return;
        const [a, b] = ev.selection.map((p) => x.invert(p).getTime() / 1000);
        g.select('.brush').call(brush.move, null);
        if (b - a >= 10) this.opts.onZoom(Math.floor(a), Math.ceil(b));
      });
      g.append('g').attr('class', 'brush').call(brush)
        .on('dblclick', () => this.opts.onReset && this.opts.onReset());
    }
    svg.on('pointermove', (ev) => this._hover(ev, mark))
      .on('pointerleave', () => { mark.style('display', 'none'); this.tip.style('display', 'none'); })
      .on('click', (ev) => {
        const r = this._rowAt(ev);
        if (r && this.opts.onRowClick && ev.detail === 1) this.opts.onRowClick(r);
      });
    const ds = svg.node().dataset;
    Object.assign(ds, {
      rows: String(n), count: String(t.length),
      columns: String(this._cols || 0),
      t0: String(Math.round(domain[0])), t1: String(Math.round(domain[1])),
      first: t.length ? String(t[0]) : '', last: t.length ? String(t[t.length - 1]) : '',
      interval: String(interval || ''), left: String(MARGIN.left), plotWidth: String(W),
    });
    ds.renderMs = (performance.now() - t0).toFixed(2);
  }

  _rowAt(ev) {
    const [, py] = d3.pointer(ev, this.svg.node());
    const r = Math.floor((py - MARGIN.top) / this.cellH);
    return this.data.rows[r] || null;
  }

  _hover(ev, mark) {
    const { t, rows, interval } = this.data;
    if (!t.length || !rows.length) return;
    const [px, py] = d3.pointer(ev, this.svg.node());
    const mx = px - MARGIN.left;
    const r = Math.floor((py - MARGIN.top) / this.cellH);
    if (mx < 0 || mx > this.W || r < 0 || r >= rows.length) {
      mark.style('display', 'none');
      this.tip.style('display', 'none');
      return;
    }
    const tm = this.x.invert(mx).getTime() / 1000;
    let i = d3.bisectLeft(t, tm);
    if (i >= t.length) i = t.length - 1;
    const v = rows[r].v[i];
    const xa = this.x((t[i] - interval) * 1000), xb = this.x(t[i] * 1000);
    mark.style('display', null).attr('x', xa).attr('y', r * this.cellH)
      .attr('width', Math.max(1, xb - xa)).attr('height', this.cellH);
    this.tip.html(`<div class="tt">${fmtTime(t[i])}${interval ? ` <small>· ${fmtInterval(interval)} point</small>` : ''}</div>` +
      `<table><tr><td>${esc(rows[r].label)}</td><td class="v">${fmt(v, this.opts.unit)}</td></tr></table>`);
    const pw = this.plot.node().clientWidth;
    const left = px;
    this.tip.style('display', null).style('top', `${Math.min(py + 12, this.plot.node().clientHeight - 40)}px`)
      .style('left', left > pw / 2 ? null : `${left + 12}px`)
      .style('right', left > pw / 2 ? `${pw - left + 12}px` : null);
    const ds = this.svg.node().dataset;
    ds.hoverRow = rows[r].key;
    ds.hoverT = String(t[i]);
    ds.hoverValue = JSON.stringify(v);
  }
}
