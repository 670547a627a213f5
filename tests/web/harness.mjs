// harness.mjs - the browser tests' estate: xapi-sim and `xapistat serve` on
// loopback, Debian's chromium through playwright-core (from web/node_modules).
//
// Binaries from $XS_BIN_DIR (default build/), the UI from web/dist (built by
// `node web/build.mjs`). Every process started here is stopped by stopAll(),
// also when a test fails (call it from after()) and when node exits.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = resolve(ROOT, process.env.XS_BIN_DIR || 'build');
export const WEB = join(ROOT, 'web', 'dist');
export const OUT = join(ROOT, 'build', 'test-output', 'web');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const require = createRequire(join(ROOT, 'web', 'package.json'));
export const { chromium } = require('playwright-core');

const procs = new Set();
const tmps = new Set();

function kill(p, sig) {
  try { p.kill(sig); } catch { /* already gone */ }
}
process.on('exit', () => { for (const p of procs) kill(p, 'SIGKILL'); });

export function checkPrereqs() {
  const missing = [];
  for (const f of [join(BIN, 'xapistat'), join(BIN, 'xapi-sim')]) if (!existsSync(f)) missing.push(f);
  if (!existsSync(join(WEB, 'index.html'))) missing.push(`${WEB}/index.html (run: node web/build.mjs)`);
  if (!existsSync(CHROMIUM)) missing.push(CHROMIUM);
  return missing;
}

export function tmp() {
  const d = mkdtempSync(join(tmpdir(), 'xapistat-web-'));
  tmps.add(d);
  return d;
}

export function outDir() {
  mkdirSync(OUT, { recursive: true });
  return OUT;
}

function start(cmd, args, logFile) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(p);
  p.log = '';
  const keep = (b) => { p.log = (p.log + b.toString()).slice(-20000); };
  p.stderr.on('data', keep);
  p.exited = new Promise((res) => p.on('exit', (code, sig) => { procs.delete(p); res({ code, sig }); }));
  if (logFile) p.exited.then(() => writeFileSync(logFile, p.log));
  return p;
}

async function stop(p) {
  if (!procs.has(p)) return;
  kill(p, 'SIGTERM');
  const t = setTimeout(() => kill(p, 'SIGKILL'), 5000);
  await p.exited;
  clearTimeout(t);
}

export async function stopAll() {
  await Promise.all([...procs].map(stop));
  for (const d of tmps) rmSync(d, { recursive: true, force: true });
  tmps.clear();
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, fn, timeoutMs = 30000, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

// xapi-sim with one pool; resolves to { proc, pools: [{ name, url }] } (url with root:password)
export async function startSim(args = ['--pools', '1', '--hosts', '2', '--vms-per-host', '4', '--history', '30']) {
  const p = start(join(BIN, 'xapi-sim'), [...args, '--port', '0'], join(outDir(), 'sim.log'));
  let out = '';
  p.stdout.on('data', (b) => { out += b.toString(); });
  const want = +(args[args.indexOf('--pools') + 1] || 1);
  await until('xapi-sim to print its pools', () => {
    if (p.exitCode !== null) throw new Error(`xapi-sim exited: ${p.log}`);
    return out.split('\n').filter((l) => l.startsWith('pool ')).length >= want;
  }, 30000, 100);
  const pools = out.split('\n').filter((l) => l.startsWith('pool ')).map((l) => {
    const [, name, url] = l.trim().split(/\s+/);
    return { name, url: url.replace('://', '://root:password@') };
  });
  return { proc: p, pools };
}

// xapistat serve on 127.0.0.1; extra: more arguments (-c FILE ...)
export async function startServe(pools, extra = [], name = 'serve') {
  const port = await freePort();
  const data = join(tmp(), 'data');
  const args = ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--web', WEB, ...extra];
  for (const p of pools) args.push('--pool', p.url);
  const p = start(join(BIN, 'xapistat'), args, join(outDir(), `${name}.log`));
  const base = `http://127.0.0.1:${port}`;
  await until('xapistat serve to answer', async () => {
    if (p.exitCode !== null) throw new Error(`xapistat serve exited: ${p.log}`);
    const r = await fetch(`${base}/`);
    return r.ok;
  }, 20000, 100);
  return { proc: p, base, port };
}

// JSON of the API (token optional)
export async function api(base, path, token) {
  const r = await fetch(base + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// until every host collects and a running VM has 5 s data
export async function waitCollected(base, hosts = 2) {
  await until('hosts to collect', async () => {
    const s = await api(base, '/api/v1/status');
    return s.daemon && s.daemon.hosts_collecting >= hosts;
  }, 60000, 250);
  const objs = await api(base, '/api/v1/objects');
  const vm = objs.vms.find((v) => v.power_state === 'Running' && !v.is_control_domain && v.vcpus <= 8);
  await until('a VM to have 5 s points', async () => {
    const r = await api(base, `/api/v1/vms/${vm.uuid}/stats?granularity=seconds`);
    const a = r.stats.cpuUsage || [];
    return a.filter((v) => v !== null).length >= 3;
  }, 60000, 500);
  await until('top to rank VMs', async () => (await api(base, '/api/v1/top?kind=vm&metric=cpu&n=3')).items.length > 0, 30000, 500);
  return { objs: await api(base, '/api/v1/objects'), vm };
}

export { sleep };
