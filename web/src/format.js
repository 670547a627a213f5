// format.js - units: values, axis ticks and times as an admin reads them.
//
// Units used by the charts (the API's units, docs/API.md):
//   '%'      percent (0..100)
//   'B'      bytes            -> binary prefixes (KiB, MiB, GiB, TiB)
//   'B/s'    bytes per second -> binary prefixes (KiB/s ...)
//   'b/s'    bits per second  -> decimal prefixes (kb/s, Mb/s, Gb/s), the network convention
//   'ms'     milliseconds     -> µs / ms / s
//   'IOPS'   requests per second
//   ''       a plain number (load, counts)

const d3 = window.d3;

const BIN = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
const DEC = ['', 'k', 'M', 'G', 'T', 'P'];

// The prefix step (power of base) for magnitude m.
function step(m, base) {
  if (!(m > 0) || !Number.isFinite(m)) return 0;
  return Math.max(0, Math.min(5, Math.floor(Math.log(m) / Math.log(base) + 1e-9)));
}

function trim(x, digits) {
  // at most `digits` significant digits, no trailing zeros
  const a = Math.abs(x);
  const d = a >= 100 ? 0 : a >= 10 ? Math.max(0, digits - 2) : Math.max(0, digits - 1);
  return (+x.toFixed(d)).toString();
}

// A network rate (API unit: bytes/s) as the user chose to see it: B/s, or b/s when bits.
export function fmtNet(v, bits, digits = 3) {
  return bits ? fmt(v === null || v === undefined ? v : v * 8, 'b/s', digits) : fmt(v, 'B/s', digits);
}

// A value with its unit, for tooltips and tables (about 3-4 significant digits).
export function fmt(v, unit, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  switch (unit) {
    case '%':
      return `${trim(v, digits)} %`;
    case 'B':
    case 'B/s': {
      const k = step(Math.abs(v), 1024);
      return `${trim(v / 1024 ** k, digits)} ${BIN[k]}${unit}`;
    }
    case 'b/s': {
      const k = step(Math.abs(v), 1000);
      return `${trim(v / 1000 ** k, digits)} ${DEC[k]}b/s`;
    }
    case 'ms':
      if (Math.abs(v) >= 1000) return `${trim(v / 1000, digits)} s`;
      if (Math.abs(v) < 1 && v !== 0) return `${trim(v * 1000, digits)} µs`;
      return `${trim(v, digits)} ms`;
    case 'IOPS': {
      const k = step(Math.abs(v), 1000);
      return `${trim(v / 1000 ** k, digits)}${DEC[k] ? ' ' + DEC[k] : ''} IOPS`;
    }
    default: {
      if (Math.abs(v) >= 10000) {
        const k = step(Math.abs(v), 1000);
        return `${trim(v / 1000 ** k, digits)}${DEC[k]}${unit ? ' ' + unit : ''}`;
      }
      return `${trim(v, digits)}${unit ? ' ' + unit : ''}`;
    }
  }
}

// Y axis: ticks and a tick formatter sharing one prefix, chosen from the domain's max.
// Returns { ticks: number[], format: (v) => string, label: string }.
export function yTicks(max, unit, count = 5) {
  let base = 1, suffix = unit;
  if (unit === 'B' || unit === 'B/s') {
    const k = step(max, 1024);
    base = 1024 ** k;
    suffix = `${BIN[k]}${unit}`;
  } else if (unit === 'b/s' || unit === 'IOPS' || (unit === '' && max >= 10000)) {
    const k = step(max, 1000);
    base = 1000 ** k;
    suffix = unit === 'b/s' ? `${DEC[k]}b/s` : `${DEC[k]}${unit === 'IOPS' ? (DEC[k] ? ' IOPS' : 'IOPS') : ''}`;
  } else if (unit === 'ms' && max >= 2000) {
    base = 1000;
    suffix = 's';
  }
  const ticks = d3.ticks(0, (max || 1) / base, count).map((t) => t * base);
  const f = (v) => (+(v / base).toPrecision(6)).toString();
  return { ticks, format: f, label: suffix };
}

// The largest nice value >= max for a unit (so ticks end at the top of the plot).
export function niceMax(max, unit) {
  if (unit === '%') return Math.max(100, niceMaxPlain(max));
  if (!Number.isFinite(max)) return 1;
  if (!(max > 0)) return 1;
  let base = 1;
  if (unit === 'B' || unit === 'B/s') base = 1024 ** step(max, 1024);
  else if (unit === 'b/s' || unit === 'IOPS') base = 1000 ** step(max, 1000);
  const t = d3.ticks(0, max / base, 5);
  const s = t.length > 1 ? t[1] - t[0] : max / base;
  return Math.ceil(max / base / s - 1e-9) * s * base;
}

function niceMaxPlain(max) {
  if (!(max > 0)) return 1;
  const t = d3.ticks(0, max, 5);
  const s = t.length > 1 ? t[1] - t[0] : max;
  return Math.ceil(max / s) * s;
}

const pad = (n) => String(n).padStart(2, '0');

// Unix seconds as local "YYYY-MM-DD HH:MM:SS".
export function fmtTime(t) {
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// A duration in seconds as "5 s", "1 min", "1 h", "1 d".
export function fmtInterval(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${+(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${+(s / 3600).toFixed(1)} h`;
  return `${+(s / 86400).toFixed(1)} d`;
}

export function fmtAgo(sec) {
  if (sec === null || sec === undefined) return 'never';
  if (sec < 1) return 'just now';
  if (sec < 90) return `${Math.round(sec)} s ago`;
  if (sec < 5400) return `${Math.round(sec / 60)} min ago`;
  if (sec < 172800) return `${Math.round(sec / 3600)} h ago`;
  return `${Math.round(sec / 86400)} d ago`;
}

// Natural order for device names: eth2 < eth10, xvdz < xvdaa.
export function natural(a, b) {
  const ra = String(a).match(/\d+|\D+/g) || [];
  const rb = String(b).match(/\d+|\D+/g) || [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i], y = rb[i];
    const nx = /^\d/.test(x), ny = /^\d/.test(y);
    if (nx && ny) { if (+x !== +y) return +x - +y; continue; }
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// The hash route of an object, safe inside a double-quoted attribute: the uuid is
// percent-encoded (app.js route() decodes it), so a uuid that is not one (XAPI's own
// string, never checked by the daemon) can neither leave the attribute nor the route.
export function href(kind, uuid) {
  return `#/${kind}/${encodeURIComponent(String(uuid ?? ''))}`;
}

export function powerClass(s) {
  return { Running: 'ok', Halted: 'off', Paused: 'warn', Suspended: 'warn' }[s] || 'bad';
}
export function healthClass(h) {
  return { collecting: 'ok', late: 'warn', down: 'bad' }[h] || 'off';
}

// What a host's collection status says of its clock, as plain text ('' when nothing
// is wrong): set back behind the rows stored (its rows not collected until it passes
// them), or over 60 s off the daemon's (the log and docs/API.md, Status, use the same
// thresholds).
export function clockNote(c) {
  if (!c) return '';
  if (c.ahead > 0) return `its clock was set back: rows not collected for ${fmtInterval(Math.round(c.ahead))}`;
  const off = c.clock_offset;
  if (typeof off === 'number' && Math.abs(off) > 60)
    return `its clock is ${fmtInterval(Math.round(Math.abs(off)))} ${off > 0 ? 'ahead of' : 'behind'} xapistat's`;
  return '';
}
