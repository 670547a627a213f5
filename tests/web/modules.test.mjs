// modules.test.mjs - the UI's pure functions, in node (no browser, no server):
// web/src/series.js alignPool over hosts whose windows end at different times and
// appendLive (the live view's width, band and gaps), and web/src/api.js's stream URL
// and point budget; format.js esc and href (what may go into markup) and clockNote.
//
//   node --test tests/web/modules.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

// the modules read d3 from window (a script tag in the page): the package installed in web/
globalThis.window = { d3: await import(new URL('../../web/node_modules/d3/dist/d3.mjs', import.meta.url)) };
const { POOL_POINTS, pointBudget, streamUrl } = await import('../../web/src/api.js');
const { alignPool, appendLive, heatColumns, liveSpan, sum } = await import('../../web/src/series.js');

// a host reply of n 5 s points ending at end, each value v
const reply = (end, n, v) => ({ endTimestamp: end, interval: 5, stats: { memory: new Array(n).fill(v) } });

test('alignPool: the times every host covers; no cliff where one host has no point yet', () => {
  // h2's clock is 60 s behind: its window ends 12 points earlier
  const A = alignPool({ h1: reply(1000, 120, 1), h2: reply(940, 120, 2), bad: { error: 'down' } });
  assert.equal(A.t[0], 1000 - 119 * 5 + 0, 'starts where h1 starts (h2 started earlier)');
  assert.equal(A.t[A.t.length - 1], 940, 'ends where h2 ends');
  assert.equal(A.t.length, 120 - 12);
  const total = sum(Object.values(A.hosts).map((h) => h.stats.memory));
  assert.ok(total.every((x) => x === 3), `every point sums both hosts: ${[...new Set(total)]}`);
  assert.deepEqual(A.errors, { bad: 'down' });
});

test('alignPool: a single host, or no common time, keeps every time', () => {
  assert.equal(alignPool({ h1: reply(1000, 120, 1) }).t.length, 120);
  const far = alignPool({ h1: reply(1000, 10, 1), h2: reply(500, 10, 2) });
  assert.equal(far.t.length, 20, 'disjoint windows: the union');
});

test('streamUrl: commas stay commas; 256 uuids fit the API target cap (16,384 bytes)', () => {
  const uuids = Array.from({ length: 256 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const u = streamUrl(uuids);
  assert.ok(u.startsWith('/api/v1/stream?objects=00000000-0000-4000-8000-000000000000,'), u.slice(0, 80));
  assert.ok(!u.includes('%2C'));
  assert.ok(u.length < 16384, `${u.length} bytes`);
});

test('pointBudget: two points a px within [1500, 10000], shared by a reply\'s hosts', () => {
  assert.equal(pointBudget(800), 1600);
  assert.equal(pointBudget(100), 1500);
  assert.equal(pointBudget(9000), 10000);
  assert.equal(pointBudget(800, 20), 1600, '20 hosts: each its own budget still');
  assert.equal(pointBudget(800, 120), Math.floor(POOL_POINTS / 120), '120 hosts: shared');
  assert.ok(pointBudget(800, 120) < 1440, '120 hosts, a day: coarser than 1 min points');
  assert.equal(pointBudget(800, 100000), 100, 'at least 100');
});

// a live chart's data: n 5 s points ending at end, one series with a band
const liveData = (end, n) => {
  const t = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * 5);
  return { t, interval: 5, domain: null, series: [{ key: 'a', v: t.map(() => 1), lo: t.map(() => 0), hi: t.map(() => 2) }] };
};
const pts = (t, v, lo, hi) => ({ t, interval: 5, series: { a: t.map(() => v) }, lo: { a: t.map(() => lo) }, hi: { a: t.map(() => hi) } });
const getter = (p) => (key, a, i) => (a === 'v' ? p.series : p[a])?.[key]?.[i];

test('appendLive: the live view slides at its first width (10 min stays 10 min)', () => {
  const d = liveData(1000, 120);
  const span = liveSpan(d.t, d.interval, d.domain);
  assert.equal(span, 600);
  for (let k = 1; k <= 700; k++) {
    const p = pts([1000 + 5 * k], 3, 2, 4);
    assert.equal(appendLive(d, d.series, p, getter(p), { maxPoints: 720, span }), 1);
  }
  assert.equal(d.t.length, 120, 'still 10 minutes of points after an hour');
  assert.equal(d.t[d.t.length - 1], 1000 + 5 * 700);
  assert.deepEqual(d.domain, [1000 + 5 * 700 - 600, 1000 + 5 * 700]);
  assert.ok(d.series[0].v.every((x) => x === 3) && d.series[0].lo.length === 120);
  // a range view (domain given) has no span: only maxPoints bounds it
  assert.equal(liveSpan(d.t, 5, [0, 1]), null);
});

test('appendLive: the band goes on with the new points; none given: null', () => {
  const d = liveData(1000, 12);
  const p = pts([1005, 1010], 5, 4, 6);
  appendLive(d, d.series, p, getter(p), { span: 60 });
  assert.deepEqual(d.series[0].lo.slice(-2), [4, 4]);
  assert.deepEqual(d.series[0].hi.slice(-2), [6, 6]);
  const q = { t: [1015], interval: 5, series: { a: [7] } };
  appendLive(d, d.series, q, getter(q), { span: 60 });
  assert.equal(d.series[0].lo[d.t.length - 1], null);
});

test('appendLive: a gap breaks the line; old and repeated times are skipped', () => {
  const d = liveData(1000, 12);
  const p = pts([990, 1000, 1005, 1060], 9, 8, 10);
  assert.equal(appendLive(d, d.series, p, getter(p), { span: 600 }), 2, '1005 and 1060 taken');
  const n = d.t.length;
  assert.deepEqual(d.t.slice(-3), [1005, 1010, 1060], 'a null point after the last before the gap');
  assert.deepEqual(d.series[0].v.slice(-3), [9, null, 9]);
  assert.equal(d.series[0].lo[n - 2], null);
  assert.equal(appendLive(d, d.series, pts([1060], 1, 1, 1), getter(pts([1060], 1, 1, 1))), 0, 'nothing new');
});

test('liveSpan: never narrower than 10 minutes of 5 s points (a pool whose hosts lag)', () => {
  // a pool's first reply after alignPool: one host 9 min behind leaves 12 common points
  const A = alignPool({ h1: reply(1000, 120, 1), h2: reply(460, 120, 2) });
  assert.equal(A.t.length, 12);
  assert.equal(liveSpan(A.t, 5, null), 600);
  assert.equal(liveSpan([], 5, null), 600, 'no point yet');
  assert.equal(liveSpan([1000], undefined, null), null, 'no interval');
});

test('heatColumns: a gap keeps its width; off-grid times fall back to a column a point', () => {
  const d = liveData(1000, 120);
  const p = { t: [1300], interval: 5, series: { a: [1] } };
  appendLive(d, d.series, p, getter(p), { span: 600 });
  const { cols, col } = heatColumns(d.t, 5);
  assert.equal(cols, 120, '10 minutes of 5 s columns');
  assert.equal(col[col.length - 1], 119, 'the newest in the last column');
  assert.equal(col[col.length - 2], (1005 - d.t[0]) / 5, 'the gap point at its own time');
  assert.deepEqual(heatColumns([0, 5, 10], 5), { cols: 3, col: [0, 1, 2] });
  assert.equal(heatColumns([0, 2, 4, 6], 5).cols, 4, 'denser than the interval: by index');
  assert.equal(heatColumns([0, 5000], 5).cols, 2, 'a grid far over the points: by index');
});

test('fmtNet: bytes/s as B/s, or as b/s (x 8, decimal prefixes) when bits are chosen', async () => {
  const { fmtNet } = await import('../../web/src/format.js');
  assert.equal(fmtNet(1024, false), '1 KiB/s');
  assert.equal(fmtNet(125000, true), '1 Mb/s');
  assert.equal(fmtNet(null, true), '–');
});

test('esc and href: names and uuids safe in element text and double-quoted attributes', async () => {
  const { esc, href } = await import('../../web/src/format.js');
  assert.equal(esc(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(esc(null), '');
  const u = 'c4995d9c-5fea-47ac-b56f-59229daebcfb';
  assert.equal(href('vm', u), `#/vm/${u}`, 'a real uuid as is');
  const odd = `u"x><img src=x onerror=1>&%/`;
  assert.doesNotMatch(href('host', odd), /["<>&]/, 'nothing that ends the attribute or starts markup');
  assert.equal(decodeURIComponent(href('host', odd).slice('#/host/'.length)), odd, 'app.js route() decodes it back');
});

test('clockNote: a clock set back, or over 60 s off; nothing otherwise', async () => {
  const { clockNote } = await import('../../web/src/format.js');
  assert.equal(clockNote(null), '');
  assert.equal(clockNote({ clock_offset: -0.4, ahead: 0 }), '');
  assert.equal(clockNote({ clock_offset: null, ahead: 0 }), '', 'not measured yet');
  assert.equal(clockNote({ clock_offset: 60, ahead: 0 }), '', '60 s is not over 60 s');
  assert.equal(clockNote({ clock_offset: 90.2, ahead: 0 }), "its clock is 1.5 min ahead of xapistat's");
  assert.equal(clockNote({ clock_offset: -7200, ahead: 0 }), "its clock is 2 h behind xapistat's");
  assert.equal(clockNote({ clock_offset: 0.1, ahead: 55 }), 'its clock was set back: rows not collected for 55 s');
});
