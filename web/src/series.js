// series.js - reading the stats replies: times, device keys, sums over devices and
// hosts, and the colours of series (a device keeps its colour on every chart).

import { natural } from './format.js';

// Tableau 10: distinct, legible on light and dark backgrounds.
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const ACCENT = 'var(--total)'; // totals and the main series: the text colour of the theme
export const color = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

// The leaf at path ('a.b' or ['a','b']) of a stats object, or null.
export function at(obj, path) {
  let o = obj;
  for (const k of Array.isArray(path) ? path : path.split('.')) {
    if (o === null || o === undefined) return null;
    o = o[k];
  }
  return o === undefined ? null : o;
}

// Device keys of a map (cpus, vifs.rx, ...) in natural order.
export function keysOf(stats, path) {
  const o = at(stats, path);
  return o && typeof o === 'object' && !Array.isArray(o) ? Object.keys(o).sort(natural) : [];
}

function firstLeafLength(o) {
  if (!o || typeof o !== 'object') return 0;
  if (Array.isArray(o)) return o.length;
  for (const k of Object.keys(o)) {
    const n = firstLeafLength(o[k]);
    if (n) return n;
  }
  return 0;
}

// Point times of a reply: point i of n is at endTimestamp - (n-1-i) * interval.
export function times(R) {
  if (R.t) return R.t;
  const n = firstLeafLength(R.stats);
  const t = new Array(n);
  for (let i = 0; i < n; i++) t[i] = R.endTimestamp - (n - 1 - i) * R.interval;
  return t;
}

// Element-wise reductions over arrays of equal length; nulls skipped, null when all are.
export function reduce(arrs, op) {
  arrs = arrs.filter(Boolean);
  if (!arrs.length) return null;
  const n = arrs[0].length;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    let acc = null, cnt = 0;
    for (const a of arrs) {
      const v = a[i];
      if (v === null || v === undefined) continue;
      cnt++;
      if (acc === null) acc = v;
      else if (op === 'min') acc = Math.min(acc, v);
      else if (op === 'max') acc = Math.max(acc, v);
      else acc += v;
    }
    out[i] = acc !== null && op === 'mean' ? acc / cnt : acc;
  }
  return out;
}
export const sum = (arrs) => reduce(arrs, 'sum');
export const mean = (arrs) => reduce(arrs, 'mean');
export const min = (arrs) => reduce(arrs, 'min');
export const max = (arrs) => reduce(arrs, 'max');

export function zip(a, b, f) {
  if (!a || !b) return null;
  return a.map((x, i) => (x === null || b[i] === null || b[i] === undefined ? null : f(x, b[i])));
}

// The other bound: the min of (a - b) comes with the max of b.
export const opposite = (w) => (w === 'statsMin' ? 'statsMax' : w === 'statsMax' ? 'statsMin' : w);

// A series spec reading one leaf path of the reply (stats / statsMin / statsMax).
export const leaf = (path) => (R, w) => at(R[w], path);

// Pool reply {host uuid: reply | {error}} as one reply over the hosts' times:
// { t, interval, hosts: { uuid: { stats, statsMin, statsMax } }, errors: { uuid: message } }.
// The times are those every host's window covers (the API gives each host its own
// window, on its own clock): past the newest time of the host whose window ends first,
// or before the oldest of the one that starts last, a sum would hold only some hosts and
// drop off a cliff. A host that stopped answering still has a window to its clock's now
// (with nulls), so it cuts nothing. With no common time, the union.
export function alignPool(P) {
  const hosts = {}, errors = {};
  let interval = 0;
  const all = new Set();
  const per = [];
  let lo = -Infinity, hi = Infinity;
  for (const [uuid, r] of Object.entries(P)) {
    if (!r || r.error || !r.stats) { errors[uuid] = r?.error || 'no reply'; continue; }
    const t = times(r);
    interval = interval || r.interval;
    t.forEach((x) => all.add(x));
    per.push([uuid, r, t]);
    if (t.length) { lo = Math.max(lo, t[0]); hi = Math.min(hi, t[t.length - 1]); }
  }
  let t = [...all].sort((a, b) => a - b);
  if (per.length > 1 && lo <= hi) t = t.filter((x) => x >= lo && x <= hi);
  const index = new Map(t.map((x, i) => [x, i]));
  const remap = (o, map) => {
    if (o === null || o === undefined) return o;
    if (Array.isArray(o)) {
      const out = new Array(t.length).fill(null);
      o.forEach((v, i) => { if (map[i] !== undefined) out[map[i]] = v; });
      return out;
    }
    const r = {};
    for (const k of Object.keys(o)) r[k] = remap(o[k], map);
    return r;
  };
  for (const [uuid, r, ht] of per) {
    const map = ht.map((x) => index.get(x));
    hosts[uuid] = { stats: remap(r.stats, map), statsMin: remap(r.statsMin, map), statsMax: remap(r.statsMax, map) };
  }
  return { t, interval, hosts, errors };
}

// A host's CPU mean over its pCPUs, from one host reply part (stats / statsMin / statsMax).
export function hostCpuMean(st) {
  return mean(keysOf(st, 'cpus').map((k) => st.cpus[k]));
}
export function hostMemUsed(H, w) {
  return zip(at(H[w], 'memory'), at(H[opposite(w)], 'memoryFree'), (m, f) => m - f);
}
export function hostNet(st) {
  const rx = at(st, 'pifsAggr.rx'), tx = at(st, 'pifsAggr.tx');
  if (rx || tx) return sum([rx, tx]);
  return sum([...keysOf(st, 'pifs.rx').map((k) => st.pifs.rx[k]), ...keysOf(st, 'pifs.tx').map((k) => st.pifs.tx[k])]);
}
export function hostDisk(st) {
  return sum(keysOf(st, 'ioThroughput.total').map((k) => st.ioThroughput.total[k]));
}

// Appends live points to a chart's or heatmap's data in place (d: { t, interval, domain,
// and tracks: [{ key, v, lo?, hi? }], a chart's series or a heatmap's rows). Only times
// after its last are taken; where more than two intervals pass between two points a
// null point goes between them, so the line breaks instead of bridging the gap (a
// stream reconnected, a host that stopped answering). Then the oldest points go, so
// that at most maxPoints remain and, with span (seconds: the live view's width), only
// those within span of the newest: "last 10 min" stays 10 minutes wide. value(key,
// array, i) is point i's value of a track's array ('v', 'lo' or 'hi'), or null.
// Returns the number of points taken.
export function appendLive(d, tracks, points, value, { maxPoints = Infinity, span = null } = {}) {
  const step = points.interval || d.interval;
  let last = d.t.length ? d.t[d.t.length - 1] : -Infinity;
  let added = 0;
  const push = (t, i) => {
    d.t.push(t);
    for (const tr of tracks) {
      for (const a of ['v', 'lo', 'hi']) if (tr[a]) tr[a].push(i < 0 ? null : value(tr.key, a, i) ?? null);
    }
  };
  points.t.forEach((t, i) => {
    if (t <= last) return;
    if (last !== -Infinity && step && t - last > 2 * step) push(last + step, -1);
    push(t, i);
    last = t;
    added++;
  });
  if (!added) return 0;
  let drop = Math.max(0, d.t.length - maxPoints);
  if (span) while (drop < d.t.length - 1 && d.t[drop] <= last - span) drop++;
  if (drop) {
    d.t.splice(0, drop);
    for (const tr of tracks) for (const a of ['v', 'lo', 'hi']) if (tr[a]) tr[a].splice(0, drop);
  }
  if (points.interval) d.interval = points.interval;
  d.domain = span ? [last - span, last] : [d.t[0] - d.interval, last];
  return added;
}

// Points of a granularity reply (XO's 120; live is granularity=seconds: 10 minutes).
export const LIVE_POINTS = 120;

// The width in seconds a live view keeps: its first reply's (the first point's period
// included), and never less than LIVE_POINTS intervals, since a pool's first reply has
// only the times all its hosts cover (alignPool) and one lagging host would narrow the
// view for good. Null for a range view (a domain is given) or without an interval.
export function liveSpan(t, interval, domain) {
  if (domain || !(interval > 0)) return null;
  return Math.max(t.length ? t[t.length - 1] - t[0] + interval : 0, LIVE_POINTS * interval);
}

// The columns of a heatmap's cell image for times t: one per interval from t[0], point i
// in column col[i] (its time's), so a gap (appendLive marks one with a single null
// point) keeps its width on the time axis. Times off that grid (more than one point a
// column, or a grid over 4 times the points) or no interval: a column per point.
export function heatColumns(t, interval) {
  const n = t.length;
  const byIndex = () => ({ cols: n, col: Array.from({ length: n }, (_, i) => i) });
  if (!(interval > 0) || !n) return byIndex();
  const cols = Math.round((t[n - 1] - t[0]) / interval) + 1;
  if (cols < n || cols > 4 * n + 16) return byIndex();
  const col = t.map((x) => Math.round((x - t[0]) / interval));
  for (let i = 1; i < n; i++) if (col[i] <= col[i - 1]) return byIndex();
  return { cols, col };
}
