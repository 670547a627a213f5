// api.js - the HTTP API of `xapistat serve` (docs/API.md), with the bearer token.
//
// The UI's files are served without the token; the API may need one. On a 401 the
// UI asks for it (askToken, set by app.js), keeps it in localStorage and retries.
// fetch sends it as "Authorization: Bearer"; EventSource cannot send headers, so
// the stream URL carries it as access_token=.

const TOKEN_KEY = 'xapistat.token';

let askToken = null; // async (message) => token | null
let asking = null;   // the prompt in progress: requests failing meanwhile wait for it
export function onTokenNeeded(fn) { askToken = fn; }
function promptToken(msg) {
  if (!asking) asking = askToken(msg).finally(() => { asking = null; });
  return asking;
}

export function token() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}
export function setToken(t) {
  try {
    if (t) localStorage.setItem(TOKEN_KEY, t); else localStorage.removeItem(TOKEN_KEY);
  } catch { /* private mode: the token lives as long as the page */ }
  memToken = t || '';
}
let memToken = token();

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// GET path (with query) as JSON; retries once per token entered after a 401.
export async function get(path, { signal } = {}) {
  for (;;) {
    const sent = memToken;
    const headers = {};
    if (sent) headers.Authorization = `Bearer ${sent}`;
    const res = await fetch(path, { headers, signal });
    if (res.status === 401 && askToken) {
      if (memToken !== sent) continue; // a token was entered meanwhile: try it
      const t = await promptToken(sent ? 'The token was refused.' : 'This xapistat needs a token.');
      if (t) { setToken(t); continue; }
    }
    if (!res.ok) {
      let msg = `${res.status} ${res.statusText}`;
      try { const j = await res.json(); if (j.error) msg = j.error; } catch { /* not JSON */ }
      throw new ApiError(res.status, msg);
    }
    return res.json();
  }
}

// The commas stay commas: URLSearchParams would send each as %2C, 3 bytes more per uuid,
// and 256 uuids would pass the API's request-target cap (docs/API.md, Limits).
export function streamUrl(uuids) {
  let u = `/api/v1/stream?objects=${uuids.map(encodeURIComponent).join(',')}`;
  if (memToken) u += `&access_token=${encodeURIComponent(memToken)}`;
  return u;
}

// The point budget of a range request (points=): `width` px of plot, two points a px,
// shared by the `hosts` hosts of one reply (a pool's reply holds each of its hosts': at
// a day of 1 min points with bands, about 2.5 MB a host, and the API refuses a reply
// over 64 MiB). At least 100, so a coarser tier is chosen rather than none.
export const POOL_POINTS = 36000;
export function pointBudget(width, hosts = 1) {
  const mine = Math.min(10000, Math.max(1500, Math.round(width * 2)));
  return Math.max(100, Math.min(mine, Math.floor(POOL_POINTS / Math.max(1, hosts))));
}

// Stats of one object. range: {granularity} or {from, to, points}.
export function stats(kind, uuid, range, opts) {
  const q = new URLSearchParams();
  if (range.granularity) q.set('granularity', range.granularity);
  else {
    q.set('from', String(Math.max(0, Math.floor(range.from))));
    q.set('to', String(Math.max(0, Math.ceil(range.to))));
    if (range.points) q.set('points', String(range.points));
  }
  return get(`/api/v1/${kind}/${encodeURIComponent(uuid)}/stats?${q}`, opts);
}

export function top(kind, metric, n = 10, pool = null) {
  const q = new URLSearchParams({ kind, metric, n: String(n) });
  if (pool) q.set('pool', pool);
  return get(`/api/v1/top?${q}`);
}

// Daemon clock minus browser clock, in seconds (ranges are in the daemon's time).
let skew = 0;
export function now() { return Date.now() / 1000 + skew; }
export async function syncClock() {
  const t0 = Date.now() / 1000;
  const s = await get('/api/v1/status');
  const t1 = Date.now() / 1000;
  if (typeof s.now === 'number') skew = s.now - (t0 + t1) / 2;
  return s;
}
