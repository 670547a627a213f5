// modules.test.mjs - the UI's pure functions, in node (no browser, no server):
// web/src/series.js alignPool over hosts whose windows end at different times, and
// web/src/api.js's stream URL and point budget.
//
//   node --test tests/web/modules.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

// the modules read d3 from window (a script tag in the page): the package installed in web/
globalThis.window = { d3: await import(new URL('../../web/node_modules/d3/dist/d3.mjs', import.meta.url)) };
const { POOL_POINTS, pointBudget, streamUrl } = await import('../../web/src/api.js');
const { alignPool, sum } = await import('../../web/src/series.js');

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
