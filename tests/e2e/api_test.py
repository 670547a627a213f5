#!/usr/bin/env python3
"""End-to-end test of `xapistat serve`'s HTTP API (docs/API.md) against xapi-sim.

Python 3 standard library only. Starts build/asan/xapi-sim (1 pool, 2 hosts,
3 VMs per host, 1 day of history) and `xapistat serve` collecting it, then
checks every route against the simulator's own XML-RPC and /rrd_updates:
objects, stats of VMs / hosts / SRs / pools at each granularity and by range,
top (also with one host's clock 300 s ahead), errors, the SSE stream, /metrics (and a real Prometheus scrape of it),
the halted-VM behaviour and the listen / token refusals.

Binaries: $XS_BIN_DIR/xapistat and $XS_BIN_DIR/xapi-sim (default build/asan
of the repository). Prints "not ok: <check>: <why>" per failed check and ends
with "N passed, M failed"; exits 1 on any failure.

Every process started is stopped (SIGTERM, then SIGKILL after 10 s) from a
finally block and atexit, and dies with the test (PR_SET_PDEATHSIG); the
temporary directory is removed; every server listens on 127.x addresses only.
"""
import atexit
import ctypes
import gzip
import http.client
import json
import math
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import xmlrpc.client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REL_TOL = 2e-7          # the store keeps float32; conversions are float32
STEP = 5
SIM_ARGS = ["--pools", "1", "--hosts", "2", "--vms-per-host", "3", "--history", "1"]
SIM_USER, SIM_PASSWORD = "root", "password"
PROM_CT = "text/plain; version=0.0.4; charset=utf-8"
VERBOSE = "-v" in sys.argv[1:] or os.environ.get("XS_E2E_VERBOSE") == "1"

# ---------------------------------------------------------------- processes

PROCS = []      # every Popen started, stopped in cleanup()
TMPDIRS = []


def _pdeathsig():
    """In the child: die with SIGTERM when the test process dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def start(argv, out_path, err_path, env=None):
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             env=env, preexec_fn=_pdeathsig)
    PROCS.append(p)
    return p


def stop(p, grace=10.0):
    """SIGTERM, wait up to grace seconds, then SIGKILL. Returns the exit status."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        except ProcessLookupError:
            pass
    if p in PROCS:
        PROCS.remove(p)
    return p.returncode


def cleanup():
    while PROCS:
        stop(PROCS[-1])
    while TMPDIRS:
        shutil.rmtree(TMPDIRS.pop(), ignore_errors=True)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return " | ".join(lines[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- checks

class CheckFail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFail(msg)


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        if VERBOSE:
            print("ok: " + name, flush=True)

    def fail(self, name, why):
        self.failed += 1
        why = " ".join(str(why).split())
        if len(why) > 1500:
            why = why[:1500] + "..."
        print("not ok: %s: %s" % (name, why), flush=True)

    def run(self, name, fn, *args):
        try:
            fn(*args)
        except CheckFail as e:
            self.fail(name, e)
        except Exception as e:  # a crash of one check is that check's failure
            self.fail(name, "%s: %s" % (type(e).__name__, e))
        else:
            self.ok(name)


R = Results()

# ---------------------------------------------------------------- HTTP


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        b = self.body[:300].decode("utf-8", "replace")
        return "%d %s" % (self.status, b)


def request(port, method, path, headers=None, body=None, host="127.0.0.1", timeout=30):
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        c.close()


class Api:
    def __init__(self, port):
        self.port = port

    def get(self, path, headers=None):
        return request(self.port, "GET", path, headers)

    def json(self, path):
        r = self.get(path)
        expect(r.status == 200, "GET %s -> %r" % (path, r))
        return r.json()

    def stats(self, kind, uuid, query="granularity=seconds"):
        return self.json("/api/v1/%s/%s/stats?%s" % (kind, uuid, query))


# ---------------------------------------------------------------- the simulator


class Sim:
    def __init__(self, url):
        self.url = url
        u = urllib.parse.urlsplit(url)
        self.master_addr, self.port = u.hostname, u.port
        self.rpc = xmlrpc.client.ServerProxy(url, allow_none=True)
        self.login()

    def login(self):
        r = self.rpc.session.login_with_password(SIM_USER, SIM_PASSWORD)
        expect(r["Status"] == "Success", "sim login: %r" % r)
        self.session = r["Value"]

    def call(self, cls, method, *args):
        r = getattr(getattr(self.rpc, cls), method)(self.session, *args)
        if r["Status"] != "Success":
            raise CheckFail("sim %s.%s: %r" % (cls, method, r.get("ErrorDescription")))
        return r["Value"]

    def records(self, cls):
        return self.call(cls, "get_all_records")

    def control(self, path, **params):
        body = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(self.url + path, data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise CheckFail("sim %s %r: %d %s" % (path, params, e.code, e.read()[:300]))

    def rrd_updates(self, addr, start, interval, host=False):
        """The host's /rrd_updates (XML). Returns (step, end, legend, {t: [float]})."""
        q = "start=%d&cf=AVERAGE&interval=%d&session_id=%s" % (start, interval, self.session)
        if host:
            q += "&host=true"
        url = "http://%s:%d/rrd_updates?%s" % (addr, self.port, q)
        with urllib.request.urlopen(url, timeout=30) as r:
            x = ET.fromstring(r.read())
        meta = x.find("meta")
        step = int(meta.find("step").text)
        end = int(meta.find("end").text)
        legend = [e.text for e in meta.find("legend")]
        rows = {}
        for row in x.find("data"):
            rows[int(row.find("t").text)] = [float(v.text) for v in row.findall("v")]
        return step, end, legend, rows

    def rows_covering(self, addr, end, interval, npoints, host=False):
        """Rows of the archive of `interval` covering as much of the npoints ending at end.

        xapi (and the sim) pick an archive that still "contains" start, i.e.
        start > newest - span: start = end - 120 * interval already falls to the
        next archive, so start one or two rows later until the archive is right."""
        for back in range(npoints, npoints - 4, -1):
            step, send, legend, rows = self.rrd_updates(addr, end - back * interval, interval, host)
            if step == interval:
                return legend, rows
        raise CheckFail("sim /rrd_updates on %s: no archive of step %d for start %d"
                        % (addr, interval, end - (npoints - 3) * interval))


def start_sim(bindir, tmp):
    """Starts xapi-sim on a random 127.X base; returns (Popen, master url)."""
    last = ""
    for attempt in range(6):
        base = random.randint(2, 250)
        out, err = os.path.join(tmp, "sim.out"), os.path.join(tmp, "sim.err")
        p = start([os.path.join(bindir, "xapi-sim")] + SIM_ARGS +
                  ["--listen", "127.%d.0.1" % base, "--port", "0"], out, err)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and p.poll() is None:
            with open(out) as f:
                m = re.search(r"^pool (\S+) (http://\S+)$", f.read(), re.M)
            if m:
                return p, m.group(2)
            time.sleep(0.05)
        last = "exit %s: %s" % (p.poll(), tail(err))
        stop(p)
    raise CheckFail("xapi-sim did not start: " + last)


def start_serve(bindir, tmp, args, name, ready_path="/api/v1/status", headers=None):
    """Starts `xapistat serve ARGS --listen 127.0.0.1:PORT` (a free port, retried when
    the bind fails). Returns (Popen, port, stderr path) once it answers HTTP."""
    last = ""
    for attempt in range(6):
        port = free_port()
        out, err = os.path.join(tmp, name + ".out"), os.path.join(tmp, name + ".err")
        argv = [os.path.join(bindir, "xapistat"), "serve"] + [a.replace("@PORT@", str(port)) for a in args]
        if not any("@PORT@" in a for a in args):
            argv += ["--listen", "127.0.0.1:%d" % port]
        p = start(argv, out, err)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and p.poll() is None:
            try:
                request(port, "GET", ready_path, headers, timeout=5)
                return p, port, err
            except OSError:
                time.sleep(0.1)
        last = "exit %s: %s" % (p.poll(), tail(err))
        stop(p)
        if not re.search(r"bind|in use", last, re.I):
            break
    raise CheckFail("xapistat serve did not start: " + last)


# ---------------------------------------------------------------- XO keys of data sources

VM_RUNSTATE = {
    "runstate_fullrun": "runstateFullrun",
    "runstate_full_contention": "runstateFullContention",
    "runstate_concurrency_hazard": "runstateConcurrencyHazard",
    "runstate_blocked": "runstateBlocked",
    "runstate_partial_run": "runstatePartialRun",
    "runstate_partial_contention": "runstatePartialContention",
}
RWT = {"read": "r", "write": "w", "total": "total"}
MIB = float(1 << 20)


def vm_key(ds):
    """(path in stats, factor) of a VM data source, None if XO has no key for it."""
    m = re.fullmatch(r"cpu(\d+)", ds)
    if m:
        return ("cpus", m.group(1)), 100.0
    if ds == "cpu_usage":
        return ("cpuUsage",), 100.0
    if ds in VM_RUNSTATE:
        return (VM_RUNSTATE[ds],), 100.0
    if ds == "memory":
        return ("memory",), 1.0
    if ds == "memory_target":
        return ("memoryTarget",), 1.0
    if ds == "memory_internal_free":
        return ("memoryFree",), 1024.0
    m = re.fullmatch(r"vif_(\d+)_(rx|tx)(_errors)?", ds)
    if m:
        return ("vifErrors" if m.group(3) else "vifs", m.group(2), m.group(1)), 1.0
    m = re.fullmatch(r"vbd_(xvd[a-z]{1,2}|hd[a-z]|sd[a-z])_(.+)", ds)
    if not m:
        return None
    dev, rest = m.group(1), m.group(2)
    if rest in ("read", "write"):
        return ("xvds", RWT[rest], dev), 1.0
    m = re.fullmatch(r"iops_(read|write|total)", rest)
    if m:
        return ("iops", RWT[m.group(1)], dev), 1.0
    m = re.fullmatch(r"(read|write)_latency", rest)
    if m:
        return ("vbdLatency", RWT[m.group(1)], dev), 1e-3
    m = re.fullmatch(r"io_throughput_(read|write|total)", rest)
    if m:
        return ("ioThroughput", RWT[m.group(1)], dev), MIB
    if rest == "iowait":
        return ("vbdIowait", dev), 100.0
    if rest == "inflight":
        return ("vbdInflight", dev), 1.0
    if rest == "avgqu_sz":
        return ("vbdAvgquSz", dev), 1.0
    return None


def host_key(ds):
    m = re.fullmatch(r"cpu(\d+)", ds)
    if m:
        return ("cpus", m.group(1)), 100.0
    simple = {"loadavg": ("load",), "hostload": ("hostload",), "running_vcpus": ("runningVcpus",)}
    if ds in simple:
        return simple[ds], 1.0
    if ds == "memory_total_kib":
        return ("memory",), 1024.0
    if ds == "memory_free_kib":
        return ("memoryFree",), 1024.0
    m = re.fullmatch(r"pif_aggr_(rx|tx)", ds)
    if m:
        return ("pifsAggr", m.group(1)), 1.0
    m = re.fullmatch(r"pif_eth(\d+)_(rx|tx)", ds)
    if m:  # ethN is "N", as in XO: its clients read pifs.rx["0"]
        return ("pifs", m.group(2), m.group(1)), 1.0
    m = re.fullmatch(r"pif_(bond\d+)_(rx|tx)", ds)
    if m:
        return ("pifs", m.group(2), m.group(1)), 1.0
    m = re.fullmatch(r"iops_(read|write|total)_([0-9a-f]{8})", ds)
    if m:
        return ("iops", RWT[m.group(1)], m.group(2)), 1.0
    m = re.fullmatch(r"io_throughput_(read|write|total)_([0-9a-f]{8})", ds)
    if m:
        return ("ioThroughput", RWT[m.group(1)], m.group(2)), MIB
    m = re.fullmatch(r"(read_|write_|)latency_([0-9a-f]{8})", ds)
    if m:
        return ("latency", {"read_": "r", "write_": "w", "": "total"}[m.group(1)], m.group(2)), 1e-3
    m = re.fullmatch(r"iowait_([0-9a-f]{8})", ds)
    if m:
        return ("iowait", m.group(1)), 1.0
    return None


def leaves(obj, path=()):
    """Every (path, list) of a stats object."""
    if isinstance(obj, list):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + (k,))


def dig(obj, path):
    for k in path:
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


def close(a, b, tol=REL_TOL):
    if a == b:
        return True
    return abs(a - b) <= tol * max(abs(a), abs(b))


def fmt_path(p):
    return ".".join(p)


def compare_with_sim(env, legend, rows, kind, uuid, keyfn, interval, skip_end=False, min_common=100,
                     max_t=None, skip_t=()):
    """Compares an XO-shaped reply with the sim's rows of the object.

    Our point i is at endTimestamp - (n-1-i) * interval (its period's end), as
    xapi stamps its rows. Returns a list of mismatch texts."""
    bad = []
    expect(env.get("interval") == interval, "interval %r, expected %d" % (env.get("interval"), interval))
    end, stats = env["endTimestamp"], env["stats"]
    prefix = "AVERAGE:%s:%s:" % (kind, uuid)
    mapped = set()
    common = set()
    ncmp = 0
    for col, name in enumerate(legend):
        if not name.startswith(prefix):
            continue
        ds = name[len(prefix):]
        k = keyfn(ds)
        if k is None:
            continue
        path, factor = k
        mapped.add(path)
        leaf = dig(stats, path)
        if not isinstance(leaf, list):
            bad.append("%s missing (the sim has %s)" % (fmt_path(path), ds))
            continue
        n = len(leaf)
        for t, vals in sorted(rows.items()):
            if (t - end) % interval or (skip_end and t == end) or (max_t is not None and t > max_t) \
                    or t in skip_t:
                continue
            i = (t - end) // interval + n - 1
            if not 0 <= i < n:
                continue
            common.add(t)
            ncmp += 1
            v, o = vals[col], leaf[i]
            if math.isnan(v):
                if o is not None:
                    bad.append("%s at t=%d: %r, sim NaN (expected null)" % (fmt_path(path), t, o))
            elif o is None or not close(float(o), v * factor):
                bad.append("%s at t=%d: %r, expected %.9g (sim %s %r x %g)"
                           % (fmt_path(path), t, o, v * factor, ds, v, factor))
    for path, leaf in leaves(stats):
        if path not in mapped:
            bad.append("%s: no such data source in the sim's RRD" % fmt_path(path))
    if len(common) < min_common:
        bad.append("only %d timestamps in common with the sim (ours end %d, sim rows %s..%s)"
                   % (len(common), end, min(rows) if rows else None, max(rows) if rows else None))
    if not ncmp:
        bad.append("nothing compared")
    return bad


def report(bad, what):
    if bad:
        raise CheckFail("%s: %d mismatches, e.g.: %s" % (what, len(bad), "; ".join(bad[:6])))


# ---------------------------------------------------------------- SSE


class SSE:
    """A raw-socket Server-Sent Events reader (handles chunked transfer coding)."""

    def __init__(self, port, path, headers=None, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Accept: text/event-stream"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""
        self.body = b""
        self.eof = False
        self.chunked = False
        self.head_done = False
        self.last_recv = time.monotonic()
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.raw:
            if not self._recv(deadline):
                raise CheckFail("stream %s: no response head (%r)" % (path, self.raw[:200]))
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        hl = head.decode("latin-1").split("\r\n")
        self.status = int(hl[0].split()[1])
        self.headers = {}
        for h in hl[1:]:
            k, _, v = h.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.head_done = True
        self._decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self, deadline):
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return False
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.last_recv = time.monotonic()
        self.raw += data
        self._decode()
        return True

    def _decode(self):
        if not self.head_done:
            return
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while True:
            nl = self.raw.find(b"\r\n")
            if nl < 0:
                return
            size = int(self.raw[:nl].split(b";")[0], 16)
            if len(self.raw) < nl + 2 + size + 2:
                return
            self.body += self.raw[nl + 2:nl + 2 + size]
            self.raw = self.raw[nl + 2 + size + 2:]
            if size == 0:
                self.eof = True
                return

    def next_event(self, timeout):
        """The next event that has data (comments and retry-only blocks skipped), or None."""
        deadline = time.monotonic() + timeout
        while True:
            self.body = self.body.replace(b"\r\n", b"\n")
            while b"\n\n" in self.body:
                block, self.body = self.body.split(b"\n\n", 1)
                ev = {"event": "message", "id": None, "data": [], "time": self.last_recv}
                for line in block.decode("utf-8").split("\n"):
                    if not line or line.startswith(":"):
                        continue
                    k, _, v = line.partition(":")
                    v = v[1:] if v.startswith(" ") else v
                    if k == "data":
                        ev["data"].append(v)
                    elif k in ("event", "id", "retry"):
                        ev[k] = v
                if ev["data"]:
                    ev["data"] = "\n".join(ev["data"])
                    return ev
            if not self._recv(deadline):
                return None


# ---------------------------------------------------------------- the test


class Ctx:
    pass


def newest_value(leaf):
    return leaf[-1] if leaf else None


def stats_same_time(api, kind, uuids, query="granularity=seconds", tries=6):
    """Replies of several objects with one endTimestamp (new rows arrive every 5 s)."""
    out = {}
    for _ in range(tries):
        out = {u: api.stats(kind, u, query) for u in uuids}
        if len({r["endTimestamp"] for r in out.values()}) == 1:
            return out
        time.sleep(0.5)
    raise CheckFail("no common endTimestamp over %d tries: %r" % (tries, {u: r["endTimestamp"] for u, r in out.items()}))


def setup(c):
    c.sim_proc, c.sim_url = start_sim(c.bindir, c.tmp)
    c.sim = Sim(c.sim_url)
    c.pool_name = None
    c.sim_pools = c.sim.records("pool")
    c.sim_hosts = c.sim.records("host")
    c.sim_vms = c.sim.records("VM")
    c.sim_srs = c.sim.records("SR")
    c.sim_pbds = c.sim.records("PBD")
    c.sim_vm_metrics = c.sim.records("VM_metrics")
    c.host_uuid = {ref: h["uuid"] for ref, h in c.sim_hosts.items()}
    c.host_addr = {h["uuid"]: h["address"] for h in c.sim_hosts.values()}
    u = urllib.parse.urlsplit(c.sim_url)
    pool_url = "http://%s:%s@%s:%d" % (SIM_USER, SIM_PASSWORD, u.hostname, u.port)
    c.data = os.path.join(c.tmp, "data")
    c.serve_started = int(time.time())
    c.serve, c.port, c.serve_err = start_serve(c.bindir, c.tmp, ["--data", c.data, "--pool", pool_url], "serve")
    c.api = Api(c.port)

    guests = [v for v in c.sim_vms.values()
              if v["power_state"] == "Running" and not v["is_control_domain"]
              and not v["is_a_template"] and not v["is_a_snapshot"]]
    expect(len(guests) >= 3, "the sim has %d running guests" % len(guests))
    guests.sort(key=lambda v: v["uuid"])
    # the VM checked in detail: one with guest tools (memory_internal_free), VIFs and VBDs
    legend_by_host = {}
    for h in c.sim_hosts.values():
        _, _, legend, _ = c.sim.rrd_updates(h["address"], int(time.time()) - 30, STEP)
        legend_by_host[h["uuid"]] = legend

    def rich(v):
        leg = legend_by_host[c.host_uuid[v["resident_on"]]]
        mine = [e for e in leg if (":%s:" % v["uuid"]) in e]
        return (any(e.endswith(":memory_internal_free") for e in mine),
                any(":vif_" in e for e in mine), any(":vbd_" in e for e in mine))
    guests.sort(key=lambda v: (not all(rich(v)), v["uuid"]))
    c.vm = guests[0]["uuid"]
    c.vm_host = c.host_uuid[guests[0]["resident_on"]]
    # another running guest, on the other host if possible, to halt in check 7
    others = [v for v in guests[1:] if c.host_uuid[v["resident_on"]] != c.vm_host] or guests[1:]
    c.vm_halt = others[0]["uuid"]
    c.guests = [v["uuid"] for v in guests]

    deadline = time.monotonic() + 90
    last = None
    while time.monotonic() < deadline:
        if c.serve.poll() is not None:
            raise CheckFail("xapistat serve exited %s: %s" % (c.serve.returncode, tail(c.serve_err)))
        try:
            st = c.api.json("/api/v1/status")
            hosts = st.get("hosts") or []
            last = [(h.get("name"), h.get("health")) for h in hosts]
            # collecting, and each host's first backfill (its coarse archives) stored
            if len(hosts) == len(c.sim_hosts) and all(
                    h.get("health") == "collecting" and h.get("backfills", 0) >= 1 and
                    h.get("state") != "backfill" for h in hosts):
                s = c.api.stats("vms", c.vm)
                if newest_value(s["stats"].get("cpuUsage") or []) is not None:
                    c.pool_name = st["pools"][0]["name"]
                    return
        except (OSError, CheckFail, ValueError, KeyError) as e:
            last = repr(e)
        time.sleep(0.5)
    raise CheckFail("not ready after 90 s (hosts: %r); serve log: %s" % (last, tail(c.serve_err)))


# ---- 1. objects

def check_objects(c):
    o = c.api.json("/api/v1/objects")
    bad = []
    (pref, sp), = c.sim_pools.items()
    pools = o.get("pools") or []
    if len(pools) != 1:
        bad.append("%d pools" % len(pools))
    else:
        p = pools[0]
        if p.get("uuid") != sp["uuid"]:
            bad.append("pool uuid %r, sim %r" % (p.get("uuid"), sp["uuid"]))
        if p.get("name_label") != sp["name_label"]:
            bad.append("pool name_label %r, sim %r" % (p.get("name_label"), sp["name_label"]))
        if p.get("master") != c.host_uuid.get(sp["master"]):
            bad.append("pool master %r, sim %r" % (p.get("master"), c.host_uuid.get(sp["master"])))
        if p.get("connected") is not True:
            bad.append("pool connected %r" % p.get("connected"))
    hosts = {h["uuid"]: h for h in o.get("hosts") or []}
    sim_hosts = {h["uuid"]: h for h in c.sim_hosts.values()}
    if set(hosts) != set(sim_hosts) or len(hosts) != 2:
        bad.append("hosts %s, sim %s" % (sorted(hosts), sorted(sim_hosts)))
    for u, h in hosts.items():
        s = sim_hosts.get(u)
        if not s:
            continue
        for k, sk in (("name", "name_label"), ("address", "address")):
            if h.get(k) != s[sk]:
                bad.append("host %s %s %r, sim %r" % (u, k, h.get(k), s[sk]))
        if h.get("pool") != sp["uuid"]:
            bad.append("host %s pool %r" % (u, h.get("pool")))
        col = h.get("collection")
        if not isinstance(col, dict) or col.get("health") != "collecting" or \
                col.get("state") not in ("idle", "fetching", "backfill", "backoff", "down") or \
                not isinstance(col.get("last_success"), (int, float)):
            bad.append("host %s collection %r" % (u, col))
    vms = {v["uuid"]: v for v in o.get("vms") or []}
    metrics = c.sim_vm_metrics
    sim_vms = {v["uuid"]: v for v in c.sim_vms.values() if not v["is_a_template"] and not v["is_a_snapshot"]}
    if set(vms) != set(sim_vms):
        bad.append("VM uuids differ: ours only %s, sim only %s"
                   % (sorted(set(vms) - set(sim_vms)), sorted(set(sim_vms) - set(vms))))
    for u, v in vms.items():
        s = sim_vms.get(u)
        if not s:
            continue
        want = {
            "name": s["name_label"], "power_state": s["power_state"],
            "host": c.host_uuid.get(s["resident_on"]), "pool": sp["uuid"],
            "is_control_domain": s["is_control_domain"], "memory": int(s["memory_static_max"]),
            "tags": s["tags"],
        }
        vcpus = int(s["VCPUs_at_startup"])
        m = metrics.get(s["metrics"])
        if s["power_state"] == "Running" and m and m.get("VCPUs_number") not in (None, ""):
            vcpus = int(m["VCPUs_number"])
        want["vcpus"] = vcpus
        for k, w in want.items():
            got = v.get(k)
            if k == "tags":
                got, w = sorted(got or []), sorted(w)
            if got != w:
                bad.append("VM %s (%s) %s %r, sim %r" % (u, s["name_label"], k, v.get(k), w))
    srs = {s["uuid"]: s for s in o.get("srs") or []}
    sim_srs = {s["uuid"]: s for s in c.sim_srs.values()}
    if set(srs) != set(sim_srs):
        bad.append("SR uuids %s, sim %s" % (sorted(srs), sorted(sim_srs)))
    for u, s in srs.items():
        ss = sim_srs.get(u)
        if not ss:
            continue
        hs = sorted(c.host_uuid[c.sim_pbds[p]["host"]] for p in ss["PBDs"] if p in c.sim_pbds)
        want = {"name": ss["name_label"], "type": ss["type"], "shared": ss["shared"],
                "pool": sp["uuid"], "hosts": hs}
        for k, w in want.items():
            got = sorted(s.get(k) or []) if k == "hosts" else s.get(k)
            if got != w:
                bad.append("SR %s %s %r, sim %r" % (u, k, s.get(k), w))
    report(bad, "/api/v1/objects")


# ---- 2, 3, 4: stats against the sim's rows

def check_vm_seconds(c):
    env = c.api.stats("vms", c.vm)
    expect(set(env) == {"endTimestamp", "interval", "stats"}, "envelope keys %s" % sorted(env))
    expect(env["interval"] == 5, "interval %r" % env["interval"])
    lens = {fmt_path(p): len(l) for p, l in leaves(env["stats"])}
    expect(lens and all(n == 120 for n in lens.values()), "leaf lengths %r" % lens)
    expect(time.time() - env["endTimestamp"] < 30, "endTimestamp %d is %d s old"
           % (env["endTimestamp"], time.time() - env["endTimestamp"]))
    legend, rows = c.sim.rows_covering(c.host_addr[c.vm_host], env["endTimestamp"], 5, 120)
    expect("memoryFree" in env["stats"], "no memoryFree for a VM with guest tools")
    report(compare_with_sim(env, legend, rows, "vm", c.vm, vm_key, 5),
           "GET /api/v1/vms/%s/stats?granularity=seconds vs sim /rrd_updates interval=5" % c.vm)


def check_host_seconds(c):
    bad = []
    for hu in sorted(c.host_addr):
        env = c.api.stats("hosts", hu)
        lens = {len(l) for p, l in leaves(env["stats"])}
        if lens != {120}:
            bad.append("host %s leaf lengths %s" % (hu, lens))
        legend, rows = c.sim.rows_covering(c.host_addr[hu], env["endTimestamp"], 5, 120, host=True)
        bad += ["host %s: %s" % (hu[:8], b) for b in
                compare_with_sim(env, legend, rows, "host", hu, host_key, 5)]
    report(bad, "GET /api/v1/hosts/UUID/stats?granularity=seconds vs sim /rrd_updates interval=5&host=true")


def minute_hint(c, kind, uuid, env):
    """Which 5 s rows our newest complete minute averages: xapi's (t-60, t] or [t-60, t)."""
    try:
        t = env["endTimestamp"] - 60
        ours = env["stats"]["cpus"]["0"][-2]
        legend, rows = c.sim.rows_covering(c.host_addr[c.vm_host if kind == "vm" else uuid],
                                           c.api.stats(kind + "s", uuid)["endTimestamp"], 5, 120,
                                           host=(kind == "host"))
        col = legend.index("AVERAGE:%s:%s:cpu0" % (kind, uuid))
        mean = lambda ts: sum(rows[x][col] for x in ts) / len(ts) * 100
        return ("hint: our cpus.0 at t=%d is %r; mean x 100 of the sim's 5 s rows t-55..t (xapi's "
                "period ending at t) %.8g, of t-60..t-5 %.8g" % (t, ours, mean(range(t - 55, t + 1, 5)),
                                                               mean(range(t - 60, t, 5))))
    except Exception as e:
        return "hint unavailable: %r" % e


def first_5s_time(c, kind, uuid, end):
    """The time of the oldest 5 s row stored for the object within the last 20 minutes, or
    None. 20 minutes: the 5 s tier holds the host's 10 minutes before our start and every
    row since, so it holds the first half of the range and a range request answers from
    it (a range whose first half the tier does not hold is answered from a coarser tier)."""
    r = c.api.stats(kind + "s", uuid, "from=%d&to=%d" % (end - 1200, end))
    if r.get("interval") != 5:
        return None
    for path, leaf in leaves(r["stats"]):
        for i, v in enumerate(leaf):
            if v is not None:
                return r["endTimestamp"] - (len(leaf) - 1 - i) * 5
        break
    return None


def check_minutes(c, kind):
    uuid = c.vm if kind == "vm" else c.vm_host
    env = c.api.stats(kind + "s", uuid, "granularity=minutes")
    lens = {len(l) for p, l in leaves(env["stats"])}
    expect(lens == {120}, "leaf lengths %s" % lens)
    expect(env["endTimestamp"] % 60 == 0, "endTimestamp %d not a minute" % env["endTimestamp"])
    legend, rows = c.sim.rows_covering(c.host_addr[c.vm_host], env["endTimestamp"] - 60, 60, 120,
                                       host=(kind == "host"))
    # Known limit (docs/STORE.md): the minute holding the daemon's first 5 s row is rolled up
    # from the rows it has, not taken from the host's archive: skip that one minute.
    first = first_5s_time(c, kind, uuid, env["endTimestamp"])
    skip = () if first is None else ((first + 55) // 60 * 60,)
    bad = compare_with_sim(env, legend, rows, kind, uuid, vm_key if kind == "vm" else host_key, 60,
                           skip_end=True, skip_t=skip)
    if bad:
        bad.insert(0, minute_hint(c, kind, uuid, env))
    report(bad, "GET /api/v1/%ss/%s/stats?granularity=minutes (endTimestamp %d) vs sim /rrd_updates "
                "interval=60 (row t = period end), newest minute skipped" % (kind, uuid, env["endTimestamp"]))


# ---- 5. ranges

def check_range_5s(c):
    g = c.api.stats("vms", c.vm)
    to = g["endTimestamp"]
    frm = to - 900
    q = "from=%d&to=%d" % (frm, to)
    r = c.api.stats("vms", c.vm, q)
    expect(r.get("interval") == 5, "range of 15 min: interval %r, expected 5" % r.get("interval"))
    expect("statsMin" not in r and "statsMax" not in r, "5 s range has bands")
    n = to // 5 - frm // 5 + 1
    lens = {len(l) for p, l in leaves(r["stats"])}
    expect(lens == {n}, "leaf lengths %s, expected %d" % (lens, n))
    expect(r["endTimestamp"] == to, "endTimestamp %d, expected %d" % (r["endTimestamp"], to))
    bad = []
    for path, leaf in leaves(g["stats"]):
        rl = dig(r["stats"], path)
        if rl is None:
            bad.append("%s missing" % fmt_path(path))
            continue
        if rl[-len(leaf):] != leaf:
            bad.append("%s differs from granularity=seconds" % fmt_path(path))
    report(bad, "GET /api/v1/vms/%s/stats?%s" % (c.vm, q))


def check_range_3d(c):
    now = c.api.stats("vms", c.vm)["endTimestamp"]
    frm, to = now - 3 * 86400, now
    q = "from=%d&to=%d&points=100" % (frm, to)
    r = c.api.stats("vms", c.vm, q)
    iv = r.get("interval")
    expect(iv in (3600, 86400), "interval %r: not a coarser tier fitting 100 points" % iv)
    expect(iv == 3600, "interval %r: the 1 h tier (72 points) fits 100 points and keeps 'from'" % iv)
    n = to // iv - frm // iv + 1
    expect(n <= 100, "needs %d points" % n)
    for band in ("statsMin", "statsMax"):
        expect(band in r, "no %s" % band)
    bad = []
    shape = lambda s: sorted((p, len(l)) for p, l in leaves(s))
    if shape(r["stats"]) != shape(r["statsMin"]) or shape(r["stats"]) != shape(r["statsMax"]):
        bad.append("bands not of the shape of stats")
    lens = {len(l) for p, l in leaves(r["stats"])}
    if lens != {n}:
        bad.append("leaf lengths %s, expected %d" % (lens, n))
    if r["endTimestamp"] != (to // iv + 1) * iv:
        bad.append("endTimestamp %d, expected %d (end of the period holding 'to')"
                   % (r["endTimestamp"], (to // iv + 1) * iv))
    nonnull = 0
    for path, avg in leaves(r["stats"]):
        mn, mx = dig(r["statsMin"], path), dig(r["statsMax"], path)
        for i, a in enumerate(avg):
            lo, hi = mn[i], mx[i]
            if a is None:
                if lo is not None or hi is not None:
                    bad.append("%s[%d]: null avg, min %r max %r" % (fmt_path(path), i, lo, hi))
                continue
            nonnull += 1
            if lo is None or hi is None or not (lo - 1e-6 * abs(lo) <= a <= hi + 1e-6 * abs(hi)):
                bad.append("%s[%d]: min %r avg %r max %r" % (fmt_path(path), i, lo, a, hi))
    cpu = r["stats"].get("cpuUsage") or []
    if sum(v is not None for v in cpu) < 20:
        bad.append("cpuUsage has %d hourly points over a day of history" % sum(v is not None for v in cpu))
    report(bad, "GET /api/v1/vms/%s/stats?%s" % (c.vm, q))


def check_hours(c):
    """The 1 h tier against the sim's interval=3600 rows.

    Only the hours backfilled from the host's 1 h archive: the hour holding the
    start of the 5 s backfill (10 minutes before the daemon started) is rolled
    up from the 5 s samples the daemon has, a part of the hour only, so it
    cannot equal the host's row (and a test of ~30 s sees it complete only
    when it runs across an hour boundary)."""
    env = c.api.stats("vms", c.vm, "granularity=hours")
    lens = {len(l) for p, l in leaves(env["stats"])}
    expect(lens == {168}, "leaf lengths %s" % lens)
    limit = (c.serve_started - 600) // 3600 * 3600
    legend, rows = c.sim.rows_covering(c.host_addr[c.vm_host], env["endTimestamp"] - 3600, 3600, 168)
    report(compare_with_sim(env, legend, rows, "vm", c.vm, vm_key, 3600, skip_end=True, min_common=20,
                            max_t=limit),
           "GET /api/v1/vms/%s/stats?granularity=hours (endTimestamp %d) vs sim /rrd_updates interval=3600, "
           "hours ending by %d" % (c.vm, env["endTimestamp"], limit))


# ---- 6. SR and pool

def check_sr(c):
    bad = []
    for sr in sorted(c.sim_srs.values(), key=lambda s: s["uuid"]):
        su = sr["uuid"]
        hs = sorted(c.host_uuid[c.sim_pbds[p]["host"]] for p in sr["PBDs"] if p in c.sim_pbds)
        for _ in range(6):
            env = c.api.stats("srs", su)
            hosts = {h: c.api.stats("hosts", h) for h in hs}
            if all(h["endTimestamp"] == env["endTimestamp"] for h in hosts.values()):
                break
            time.sleep(0.5)
        else:
            bad.append("SR %s: no common endTimestamp with its hosts" % su)
            continue
        if set(env) != {"endTimestamp", "interval", "stats"} or env["interval"] != 5:
            bad.append("SR %s envelope %s interval %r" % (su, sorted(env), env.get("interval")))
        st = env["stats"]
        # r and w only, as xo-server's sr.stats (XO's web UI sums every sub-key in its "All" line)
        want = {("iops", x) for x in ("r", "w")} | {("ioThroughput", x) for x in ("r", "w")} | \
               {("latency", x) for x in ("r", "w")} | {("iowait", h) for h in hs}
        got = {p for p, l in leaves(st)}
        if got != want:
            bad.append("SR %s keys %s, expected %s" % (su, sorted(got), sorted(want)))
            continue
        if {len(l) for p, l in leaves(st)} != {120}:
            bad.append("SR %s leaf lengths %s" % (su, {len(l) for p, l in leaves(st)}))
            continue
        sr8 = su[:8]
        for grp in ("iops", "ioThroughput", "latency"):
            for x in ("r", "w"):
                for i in range(120):
                    vals = [dig(hosts[h]["stats"], (grp, x, sr8)) for h in hs]
                    vals = [l[i] for l in vals if l is not None and l[i] is not None]
                    exp = None if not vals else (sum(vals) / len(vals) if grp == "latency" else sum(vals))
                    o = st[grp][x][i]
                    if (exp is None) != (o is None) or (exp is not None and not close(o, exp, 4e-7)):
                        bad.append("SR %s %s.%s[%d] %r, from its hosts %r (%r)" % (su[:8], grp, x, i, o, exp, vals))
        for h in hs:
            if st["iowait"][h] != dig(hosts[h]["stats"], ("iowait", sr8)):
                bad.append("SR %s iowait[%s] differs from the host's iowait.%s" % (su[:8], h[:8], sr8))
    report(bad, "GET /api/v1/srs/UUID/stats")


def check_pool(c):
    (pref, sp), = c.sim_pools.items()
    for _ in range(6):
        p = c.api.stats("pools", sp["uuid"])
        hosts = {h: c.api.stats("hosts", h) for h in c.host_addr}
        if len({r.get("endTimestamp") for r in list(p.values()) + list(hosts.values())}) == 1:
            break
        time.sleep(0.5)
    expect(set(p) == set(c.host_addr), "pool reply keys %s, hosts %s" % (sorted(p), sorted(c.host_addr)))
    for h, r in p.items():
        expect("error" not in r, "host %s: %r" % (h, r.get("error")))
        expect(set(r) == {"endTimestamp", "interval", "stats"}, "host %s envelope %s" % (h, sorted(r)))
        expect(r == hosts[h], "host %s entry differs from /api/v1/hosts/%s/stats" % (h, h))


# ---- 7. halted VMs

def check_halted_never_ran(c):
    halted = [v for v in c.sim_vms.values() if v["power_state"] == "Halted"
              and not v["is_a_template"] and not v["is_a_snapshot"]]
    expect(halted, "the sim has no halted VM")
    u = halted[0]["uuid"]
    r = c.api.get("/api/v1/vms/%s/stats?granularity=seconds" % u)
    expect(r.status == 200, "GET /api/v1/vms/%s/stats -> %r" % (u, r))
    env = r.json()
    expect({"endTimestamp", "interval", "stats"} <= set(env), "envelope %r" % env)
    if env["stats"]:
        # something stored (history): every leaf has the granularity's count
        expect({len(l) for p, l in leaves(env["stats"])} == {120}, "leaf lengths")
    else:
        expect(env["stats"] == {}, "stats %r" % env["stats"])  # documented: known, nothing stored


def check_halted_history(c):
    u = c.vm_halt
    before = c.api.stats("vms", u)
    c.sim.control("/sim/vm/stop", vm=u)
    stopped_at = time.time()
    deadline = time.monotonic() + 30
    state = None
    while time.monotonic() < deadline:
        vms = {v["uuid"]: v for v in c.api.json("/api/v1/objects")["vms"]}
        state = (vms[u]["power_state"], vms[u]["host"])
        if state == ("Halted", None):
            break
        time.sleep(0.5)
    expect(state == ("Halted", None), "objects: VM %s still %r 30 s after /sim/vm/stop" % (u, state))
    # its newest stored time stops moving
    a = c.api.get("/api/v1/vms/%s/stats?granularity=seconds" % u)
    expect(a.status == 200, "halted VM: %r" % a)
    time.sleep(6)
    b = c.api.get("/api/v1/vms/%s/stats?granularity=seconds" % u)
    expect(b.status == 200, "halted VM: %r" % b)
    a, b = a.json(), b.json()
    expect(a["endTimestamp"] == b["endTimestamp"], "endTimestamp still moves: %d then %d"
           % (a["endTimestamp"], b["endTimestamp"]))
    expect(b["endTimestamp"] <= stopped_at + 5, "endTimestamp %d after the stop (%d)" % (b["endTimestamp"], stopped_at))
    cpu = b["stats"].get("cpuUsage") or []
    expect(len(cpu) == 120 and sum(v is not None for v in cpu) >= 100,
           "history of the halted VM: %d non-null cpuUsage points of %d" % (sum(v is not None for v in cpu), len(cpu)))
    # the history served is the one stored while it ran
    shift = (b["endTimestamp"] - before["endTimestamp"]) // 5
    bad = []
    for path, leaf in leaves(before["stats"]):
        nl = dig(b["stats"], path)
        if nl is None:
            bad.append("%s gone" % fmt_path(path))
            continue
        for i in range(120):
            j = i - shift
            if 0 <= j < 120 and leaf[i] is not None and nl[j] != leaf[i]:
                bad.append("%s at t=%d: %r, before the stop %r" % (fmt_path(path), before["endTimestamp"] - (119 - i) * 5, nl[j], leaf[i]))
    report(bad, "halted VM %s" % u)


# ---- 8. top

def check_top(c):
    last = None
    for _ in range(6):
        t = c.api.json("/api/v1/top?kind=vm&metric=cpu&n=2")
        objs = c.api.json("/api/v1/objects")
        ranked = [v["uuid"] for v in objs["vms"] if v["power_state"] == "Running" and not v["is_control_domain"]]
        latest = {}
        ends = set()
        for u in ranked:
            s = c.api.stats("vms", u)
            ends.add(s["endTimestamp"])
            latest[u] = newest_value(s["stats"].get("cpuUsage") or [])
        t2 = c.api.json("/api/v1/top?kind=vm&metric=cpu&n=2")
        last = (t.get("time"), t2.get("time"), sorted(ends))
        if ends == {t["time"]} and t2["time"] == t["time"]:
            break
        time.sleep(1)
    else:
        raise CheckFail("no stable time over 6 tries (top time, again, VM ends): %r" % (last,))
    expect(t.get("kind") == "vm" and t.get("metric") == "cpu" and t.get("unit") == "%", "header %r" % t)
    items = t.get("items") or []
    expect(len(items) == 2, "%d items" % len(items))
    expect(items[0]["value"] >= items[1]["value"], "not descending: %r" % items)
    best = max((v, u) for u, v in latest.items() if v is not None)
    expect(close(items[0]["value"], best[0], 1e-6),
           "first %s %r, the max of the VMs' newest cpuUsage is %s %r (all: %r)"
           % (items[0]["uuid"], items[0]["value"], best[1], best[0], latest))
    for it in items:
        expect(it["uuid"] in latest and close(it["value"], latest[it["uuid"]], 1e-6),
               "item %s value %r, its newest cpuUsage %r" % (it["uuid"], it["value"], latest.get(it["uuid"])))
        v = {x["uuid"]: x for x in objs["vms"]}[it["uuid"]]
        expect(it.get("name") == v["name"] and it.get("host") == v["host"] and it.get("pool") == v["pool"],
               "item %r vs object %r" % (it, v))


def check_top_skew(c):
    """One host's clock 5 minutes ahead (NTP off) takes no other host's VMs out of the
    top-N: each VM is "now" against its own host's clock. Runs last: the skew stays."""
    objs = c.api.json("/api/v1/objects")
    running = {v["uuid"]: v["host"] for v in objs["vms"]
               if v["power_state"] == "Running" and not v["is_control_domain"]}
    hosts = sorted(set(running.values()))
    expect(len(hosts) >= 2, "running VMs on %d hosts" % len(hosts))
    fast = hosts[0]
    c.sim.control("/sim/host/skew", host=fast, seconds=300)
    deadline, t = time.monotonic() + 40, {}
    while time.monotonic() < deadline:
        time.sleep(1.5)  # not a "busy" question: each answer is fresh
        t = c.api.json("/api/v1/top?kind=vm&metric=cpu&n=1000")
        if (t.get("time") or 0) > time.time() + 200:
            break
    else:
        raise CheckFail("no row of the host 300 s ahead reached the ranking: %r" % t.get("time"))
    items = {it["uuid"]: it["host"] for it in t.get("items") or []}
    expect(set(items) == set(running),
           "ranked %d VMs, %d running; missing: %r" % (len(items), len(running),
                                                      sorted(set(running) - set(items))))
    expect(set(items.values()) == set(hosts), "hosts ranked %r, want %r" % (sorted(set(items.values())), hosts))


# ---- 9. errors

def check_errors(c):
    bad = []
    api = c.api

    def err_json(r):
        try:
            j = r.json()
            return j.get("error") if isinstance(j, dict) and isinstance(j.get("error"), str) else None
        except ValueError:
            return None

    def want(path, status, method="GET", must=None):
        r = request(c.port, method, path)
        e = err_json(r)
        if r.status != status:
            bad.append("%s %s -> %r (expected %d)" % (method, path, r, status))
        elif e is None:
            bad.append("%s %s -> %d without a JSON {\"error\": ...} body: %r" % (method, path, status, r.body[:200]))
        elif must and not must(e):
            bad.append("%s %s -> %d %r" % (method, path, status, e))
        return r

    want("/api/v1/vms/00000000-0000-4000-8000-000000000000/stats", 404)
    want("/api/v1/hosts/%s/stats" % c.vm, 404)  # a VM asked as a host
    want("/api/v1/vms/%s/stats" % ("a" * 64), 400, must=lambda e: e.startswith("uuid: "))
    # the request target cap is 16,384 bytes: a stream's 256 uuids (9.7 KB) fit
    want("/api/v1/status?%s=1" % ("a" * 12000), 400, must=lambda e: e.startswith("a"))
    want("/api/v1/status?%s=1" % ("a" * 17000), 414)
    want("/api/v1/vms/%s/stats" % ("a" * 63), 404, must=lambda e: e.startswith("uuid: "))
    want("/api/v1/nope", 404)
    r = want("/api/v1/objects", 405, "POST")
    if r.status == 405 and "GET" not in r.headers.get("allow", ""):
        bad.append("POST /api/v1/objects: 405 without Allow: GET (%r)" % r.headers.get("allow"))
    want("/api/v1/vms/%s/stats?granularity=weeks" % c.vm, 400, must=lambda e: e.startswith("granularity"))
    want("/api/v1/vms/%s/stats?granularity=seconds&foo=1" % c.vm, 400,
         must=lambda e: e.startswith("foo: unknown parameter"))
    want("/api/v1/vms/%s/stats?from=2000&to=1000" % c.vm, 400, must=lambda e: e.startswith("from: "))
    want("/api/v1/vms/%s/stats?granularity=seconds&from=1&to=2" % c.vm, 400,
         must=lambda e: e.startswith("granularity: "))
    want("/api/v1/top?n=many", 400, must=lambda e: e.startswith("n: "))
    want("/api/v1/stream?objects=%s&x=1" % c.vm, 400, must=lambda e: e.startswith("x: unknown parameter"))
    want("/api/v1/stream?objects=%s,a%%22b" % c.vm, 400,
         must=lambda e: e.startswith("objects: bad character at byte %d" % (len(c.vm) + 2)))
    # HEAD: 200, headers, no body (raw socket: http.client would hide a body); a stream's
    # HEAD starts no stream and sends no last chunk either, nor /metrics (pulled), which
    # announces no length it does not send
    for path in ("/api/v1/objects", "/api/v1/stream?objects=%s" % c.vm, "/metrics"):
        s = socket.create_connection(("127.0.0.1", c.port), timeout=10)
        try:
            s.sendall(b"HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path.encode())
            data = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            bad.append("HEAD %s -> %r" % (path, head[:80]))
        if rest:
            bad.append("HEAD %s sent %d body bytes" % (path, len(rest)))
        if path == "/metrics" and b"content-length: 0" in head.lower():
            bad.append("HEAD /metrics announced Content-Length: 0")
    report(bad, "errors")


# ---- 10. SSE

def check_uuid_capitals(c):
    """A uuid given in capitals names the same object (XAPI writes them in lower case)."""
    up = c.vm.upper()
    for _ in range(6):
        a, b = c.api.stats("vms", c.vm, "granularity=hours"), c.api.stats("vms", up, "granularity=hours")
        if a["endTimestamp"] == b["endTimestamp"]:
            break
        time.sleep(0.5)
    expect(a == b, "VM stats by %s differ from by %s" % (up, c.vm))
    pool = c.api.json("/api/v1/objects")["pools"][0]["uuid"]
    t = c.api.json("/api/v1/top?kind=vm&metric=cpu&n=3&pool=%s" % pool.upper())
    expect(t.get("items") and all(it["pool"] == pool for it in t["items"]),
           "top with pool=%s: %r" % (pool.upper(), t))
    s = SSE(c.port, "/api/v1/stream?objects=%s" % up)
    try:
        expect(s.status == 200, "stream of %s -> %d" % (up, s.status))
        e = s.next_event(7)
        expect(e is not None and json.loads(e["data"]).get("uuid") == c.vm,
               "stream of %s: first event %r" % (up, e and e["data"][:200]))
    finally:
        s.close()


def check_stream(c):
    path = "/api/v1/stream?objects=%s" % c.vm
    t0 = time.monotonic()
    s = SSE(c.port, path)
    try:
        expect(s.status == 200, "GET %s -> %d" % (path, s.status))
        expect(s.headers.get("content-type", "").startswith("text/event-stream"),
               "Content-Type %r" % s.headers.get("content-type"))
        e1 = s.next_event(7)
        expect(e1 is not None, "no event within 7 s")
        expect(e1["event"] == "stats", "event %r" % e1["event"])
        # the id is a cursor of every object's newest time sent (opaque to clients)
        expect(e1["id"] and e1["id"].startswith("v1."), "id %r" % e1["id"])
        d1 = json.loads(e1["data"])
        expect(d1.get("uuid") == c.vm and d1.get("kind") == "vm" and isinstance(d1.get("stats"), dict)
               and d1["stats"], "first event data %r" % e1["data"][:300])
        id1 = d1["endTimestamp"]
        # the next row: when does the store have it, when does the event come?
        t_store = None
        e2 = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            e2 = s.next_event(0.2)
            if e2:
                break
            if t_store is None and c.api.stats("vms", c.vm)["endTimestamp"] > id1:
                t_store = time.monotonic()
        expect(e2 is not None, "no second event within 15 s of the first")
        after = c.api.stats("vms", c.vm)
        d2 = json.loads(e2["data"])
        id2 = d2["endTimestamp"]
        cursor2 = e2["id"]
        expect(id2 > id1, "second event's endTimestamp %d not after %d" % (id2, id1))
        expect(id2 == after["endTimestamp"], "second event endTimestamp %d, stats endTimestamp right after %d"
               % (id2, after["endTimestamp"]))
        delay = 0.0 if t_store is None else e2["time"] - t_store
        expect(delay <= 1.0, "event %.2f s after the row was in the store" % delay)
        n_new = (id2 - id1) // 5
        bad = []
        for path_, leaf in leaves(d2["stats"]):
            full = dig(after["stats"], path_)
            if len(leaf) != n_new or full is None or leaf != full[120 - n_new:]:
                bad.append("%s: %r, stats %r" % (fmt_path(path_), leaf, full and full[-n_new:]))
        report(bad, "second event (id %d, %d new rows)" % (id2, n_new))
    finally:
        s.close()
    # reconnection with an integer Last-Event-ID (what older daemons sent): the rows after it
    since = id2 - 15
    s = SSE(c.port, path, {"Last-Event-ID": str(since)})
    try:
        expect(s.status == 200, "reconnect -> %d" % s.status)
        e = s.next_event(7)
        expect(e is not None, "reconnect: no event within 7 s")
        d = json.loads(e["data"])
        now = c.api.stats("vms", c.vm)
        newest = d["endTimestamp"]
        want_n = (newest - since) // 5
        cpu = d["stats"].get("cpuUsage") or []
        expect(want_n >= 3 and len(cpu) == want_n,
               "reconnect with Last-Event-ID %d: id %d, %d points (expected %d)" % (since, newest, len(cpu), want_n))
        k = (now["endTimestamp"] - newest) // 5
        full = now["stats"]["cpuUsage"]
        expect(cpu == full[120 - k - want_n:120 - k], "reconnect rows %r, stats %r" % (cpu, full[120 - k - want_n:120 - k]))
    finally:
        s.close()
    # reconnection with the cursor of the last event seen: the rows right after that event's
    s = SSE(c.port, path, {"Last-Event-ID": cursor2})
    try:
        expect(s.status == 200, "reconnect with a cursor -> %d" % s.status)
        e = s.next_event(7)
        expect(e is not None, "reconnect with a cursor: no event within 7 s")
        d = json.loads(e["data"])
        n = len(d["stats"].get("cpuUsage") or [])
        expect(n >= 1 and d["endTimestamp"] - STEP * (n - 1) == id2 + STEP,
               "reconnect with the cursor of the event ending at %d: %d rows ending at %d"
               % (id2, n, d["endTimestamp"]))
    finally:
        s.close()
    # a uuid nobody knows: 200 (a browser gives up on any other status) and `event: gone`
    nobody = "00000000-0000-4000-8000-000000000000"
    s = SSE(c.port, "/api/v1/stream?objects=%s,%s" % (nobody, c.vm))
    try:
        expect(s.status == 200, "stream of an unknown uuid and a VM -> %d" % s.status)
        e = s.next_event(7)
        expect(e is not None and e["event"] == "gone" and json.loads(e["data"]) == {"uuid": nobody},
               "first event %r, not gone for %s" % (e, nobody))
        e = s.next_event(7)
        expect(e is not None and e["event"] == "stats" and json.loads(e["data"]).get("uuid") == c.vm,
               "then the VM's stats: %r" % (e and e["data"][:200]))
    finally:
        s.close()


# ---- 11. /metrics

LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?(.*)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {labels}, value text, rest tokens)] of the sample lines."""
    out = []
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        m = LINE_RE.match(line)
        if not m:
            raise CheckFail("unparsable line %r" % line)
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        toks = m.group(3).split()
        out.append((m.group(1), labels, toks[0] if toks else None, toks[1:]))
    return out


def metric_value(samples, name, **labels):
    vals = [v for n, l, v, _ in samples if n == name and all(l.get(k) == w for k, w in labels.items())]
    return vals


def check_metrics(c):
    for _ in range(6):
        a = c.api.stats("vms", c.vm)
        r = c.api.get("/metrics")
        b = c.api.stats("vms", c.vm)
        if a["endTimestamp"] == b["endTimestamp"]:
            break
    expect(r.status == 200, "/metrics -> %r" % r)
    ct = r.headers.get("content-type")
    expect(ct == PROM_CT, "Content-Type %r" % ct)
    samples = parse_metrics(r.body.decode("utf-8"))
    with_ts = [(n, rest) for n, l, v, rest in samples if rest]
    expect(not with_ts, "%d samples with a timestamp, e.g. %r" % (len(with_ts), with_ts[:3]))
    mem = metric_value(samples, "xapistat_vm_memory_bytes", vm_uuid=c.vm)
    expect(len(mem) == 1, "xapistat_vm_memory_bytes{vm_uuid=%s}: %r" % (c.vm, mem))
    want = newest_value(b["stats"]["memory"])
    expect(float(mem[0]) == float(want), "memory %s, stats %r" % (mem[0], want))
    c.metrics_memory = float(mem[0])
    fds = metric_value(samples, "xapistat_process_open_fds")
    maxfds = metric_value(samples, "xapistat_process_max_fds")
    start = metric_value(samples, "xapistat_process_start_time_seconds")
    up = metric_value(samples, "xapistat_uptime_seconds")
    cpu = metric_value(samples, "xapistat_process_cpu_seconds_total")
    expect(len(fds) == 1 and len(maxfds) == 1 and 3 < float(fds[0]) < float(maxfds[0]),
           "open fds %r, limit %r" % (fds, maxfds))
    expect(len(start) == 1 and len(up) == 1 and abs(float(start[0]) + float(up[0]) - time.time()) < 60,
           "start time %r + uptime %r is not now" % (start, up))
    expect(len(cpu) == 1 and 0 < float(cpu[0]) < float(up[0]) * 4 + 60, "cpu seconds %r" % cpu)
    if a["endTimestamp"] == b["endTimestamp"] and "memoryFree" in b["stats"]:
        free = metric_value(samples, "xapistat_vm_memory_internal_free_bytes", vm_uuid=c.vm)
        want = newest_value(b["stats"]["memoryFree"])
        expect(len(free) == 1 and close(float(free[0]), float(want)),
               "xapistat_vm_memory_internal_free_bytes %r, stats memoryFree %r" % (free, want))
    check_metrics_gzip(c)
    check_metrics_shards(c)
    check_alert_names(r.body.decode("utf-8"))


def check_alert_names(body):
    """Every metric docs/prometheus-alerts.yml uses is a family of /metrics (the rules
    themselves: tests/e2e/alerts_test.sh)."""
    rules = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                         "prometheus-alerts.yml")
    with open(rules) as f:
        used = set(re.findall(r"\bxapistat_[a-z_]+", f.read()))
    families = set(re.findall(r"(?m)^# TYPE (\S+) ", body))
    expect(len(used) >= 8, "only %d metric names found in %s" % (len(used), rules))
    expect(used <= families, "the alert rules use metrics /metrics lacks: %r" % sorted(used - families))


def check_metrics_shards(c):
    """/metrics?pool=&kind=: a shard holds the series of the whole body of its kinds and pool
    (by the section's name or the pool's uuid); the kinds together make the whole body;
    an unknown pool is a 404, a bad kind a 400."""
    pools = c.api.json("/api/v1/objects")["pools"]
    expect(len(pools) == 1 and pools[0].get("uuid"), "pools %r" % pools)
    uuid = pools[0]["uuid"].upper()
    q = urllib.parse.quote
    for _ in range(6):
        whole = metrics_keys(parse_metrics(c.api.get("/metrics").body.decode("utf-8")))
        vm = c.api.get("/metrics?pool=%s&kind=vm" % q(c.pool_name))
        vm2 = c.api.get("/metrics?kind=vm&pool=%s" % uuid)
        rest = c.api.get("/metrics?kind=host,sr,self")
        for r in (vm, vm2, rest):
            expect(r.status == 200, "shard -> %r" % r)
        kvm = metrics_keys(parse_metrics(vm.body.decode("utf-8")))
        kvm2 = metrics_keys(parse_metrics(vm2.body.decode("utf-8")))
        krest = metrics_keys(parse_metrics(rest.body.decode("utf-8")))
        want = {k for k in whole if k[0].startswith("xapistat_vm_")}
        if kvm == want and kvm2 == want and (kvm | krest) == whole:
            break
        time.sleep(1)  # a row came between two of them: again
    expect(kvm and kvm == want, "pool=%s&kind=vm: %d series, the whole body's VMs %d; differ e.g. %r"
           % (c.pool_name, len(kvm), len(want), sorted(kvm ^ want)[:3]))
    expect(kvm2 == want, "pool by its uuid %s: %d series, want %d" % (uuid, len(kvm2), len(want)))
    expect(not (kvm & krest) and (kvm | krest) == whole,
           "vm + host,sr,self: not the whole body; differ e.g. %r" % sorted((kvm | krest) ^ whole)[:3])
    r = c.api.get("/metrics?pool=no-such-pool")
    expect(r.status == 404 and b"no pool is named" in r.body, "unknown pool -> %r" % r)
    r = c.api.get("/metrics?kind=disk")
    expect(r.status == 400 and b"kind:" in r.body, "kind=disk -> %r" % r)


def metrics_keys(samples):
    """The series of a /metrics body: names and labels."""
    return {(n, tuple(sorted(l.items()))) for n, l, _, _ in samples}


def check_metrics_gzip(c):
    """Accept-Encoding: gzip (as Prometheus sends it) gets the same series gzipped;
    identity, or gzip refused, gets them plain; every reply says Vary: Accept-Encoding."""
    for _ in range(6):
        a = c.api.get("/metrics", {"Accept-Encoding": "identity"})
        z = c.api.get("/metrics", {"Accept-Encoding": "gzip"})
        b = c.api.get("/metrics", {"Accept-Encoding": "br, gzip;q=0"})
        for r in (a, z, b):
            expect(r.status == 200, "/metrics -> %r" % r)
            expect("accept-encoding" in r.headers.get("vary", "").lower(), "Vary %r" % r.headers.get("vary"))
        ka = metrics_keys(parse_metrics(a.body.decode("utf-8")))
        kb = metrics_keys(parse_metrics(b.body.decode("utf-8")))
        if ka == kb:
            break
    expect(a.headers.get("content-encoding") is None and b.headers.get("content-encoding") is None,
           "identity / gzip;q=0: Content-Encoding %r %r" % (a.headers.get("content-encoding"),
                                                           b.headers.get("content-encoding")))
    expect(z.headers.get("content-encoding") == "gzip", "gzip: Content-Encoding %r" % z.headers.get("content-encoding"))
    expect(z.headers.get("content-type") == PROM_CT, "gzip: Content-Type %r" % z.headers.get("content-type"))
    try:
        text = gzip.decompress(z.body).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise CheckFail("gzip body does not decompress: %s" % e)
    kz = metrics_keys(parse_metrics(text))
    expect(kz == ka, "gzip body: %d series, plain %d; differ e.g. %r" % (len(kz), len(ka), sorted(kz ^ ka)[:3]))
    expect(len(z.body) * 3 < len(a.body), "gzip %d bytes, plain %d" % (len(z.body), len(a.body)))
    h = request(c.api.port, "HEAD", "/metrics", {"Accept-Encoding": "gzip"})
    expect(h.status == 200 and h.headers.get("content-encoding") == "gzip" and not h.body
           and "accept-encoding" in h.headers.get("vary", "").lower(),
           "HEAD with gzip: the GET's headers, no body: %r %r" % (h.status, h.headers))


# ---- 12. Prometheus

def prom_query(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=10) as r:
        j = json.loads(r.read())
    return j["data"]["result"]


def prom_wait(port, q, secs):
    """The result of query q once it has one (or the empty one after secs)."""
    deadline = time.monotonic() + secs
    while True:
        res = prom_query(port, q)
        if res or time.monotonic() > deadline:
            return res
        time.sleep(0.5)


def check_prometheus(c):
    exe = "/usr/bin/prometheus"
    expect(os.access(exe, os.X_OK), "%s is not installed (make check installs it: scripts/deps.sh)" % exe)
    d = os.path.join(c.tmp, "prom")
    os.makedirs(d)
    conf = os.path.join(d, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: xapistat\n    metrics_path: /metrics\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                # a shard, as API.md shows it: the pool's VMs alone
                "  - job_name: shard\n    metrics_path: /metrics\n"
                "    params:\n      pool: ['%s']\n      kind: ['vm']\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (c.port, c.pool_name, c.port))
    p = None
    try:
        for attempt in range(5):
            pport = free_port()
            p = start([exe, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
                       "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=error"],
                      os.path.join(d, "out"), os.path.join(d, "err"))
            up = None
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and p.poll() is None:
                try:
                    res = prom_query(pport, 'up{job="xapistat"}')
                    up = res[0]["value"][1] if res else None
                    if up == "1":
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.3)
            if p.poll() is None or not re.search(r"bind|in use", tail(os.path.join(d, "err")), re.I):
                break
            stop(p)
        expect(p.poll() is None, "prometheus exited %s: %s" % (p.returncode, tail(os.path.join(d, "err"))))
        if up != "1":
            err = ""
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % pport, timeout=10) as r:
                    err = [t.get("lastError") for t in json.loads(r.read())["data"]["activeTargets"]]
            except Exception as e:
                err = repr(e)
            raise CheckFail("up{job=\"xapistat\"} is %r after 45 s; target errors: %r" % (up, err))
        res = prom_wait(pport, 'xapistat_vm_memory_bytes{job="xapistat",vm_uuid="%s"}' % c.vm, 10)
        expect(len(res) == 1, "xapistat_vm_memory_bytes{vm_uuid=%s} in prometheus: %r" % (c.vm, res))
        expect(float(res[0]["value"][1]) == c.metrics_memory,
               "prometheus has %s, /metrics showed %r" % (res[0]["value"][1], c.metrics_memory))
        lab = res[0]["metric"]
        expect(lab.get("pool") == c.pool_name and lab.get("host_uuid") == c.vm_host,
               "labels %r" % lab)
        res = prom_wait(pport, 'xapistat_vm_memory_bytes{job="shard",vm_uuid="%s"}' % c.vm, 15)
        expect(len(res) == 1, "the shard job (params pool, kind=vm) has no VM memory: %r" % res)
        up = prom_query(pport, 'up{job="shard"}')
        hosts = prom_query(pport, 'count({job="shard",__name__=~"xapistat_(host|collector|process)_.*"})')
        expect(up and up[0]["value"][1] == "1" and not hosts,
               "the shard job: up %r, series of hosts or the daemon %r" % (up, hosts))
    finally:
        if p is not None:
            stop(p)


# ---- 13. refusals

def check_refuse_public(c):
    port = free_port()
    out, err = os.path.join(c.tmp, "public.out"), os.path.join(c.tmp, "public.err")
    p = start([os.path.join(c.bindir, "xapistat"), "serve", "--data", os.path.join(c.tmp, "data-public"),
               "--pool", "http://%s:%s@%s:%d" % (SIM_USER, SIM_PASSWORD, c.sim.master_addr, c.sim.port),
               "--listen", "0.0.0.0:%d" % port], out, err)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        stop(p)
        raise CheckFail("serve --listen 0.0.0.0:%d without token_file still running after 20 s" % port)
    stop(p)
    msg = tail(err)
    expect(p.returncode == 1, "exit %r (expected 1): %s" % (p.returncode, msg))
    expect("token" in msg.lower(), "the message does not name the token: %r" % msg)


PER_IP = 3  # check_token's max_connections_per_ip


def keep_alive_get(port, headers, deadline):
    """An open connection that got a 200 for /api/v1/status (the server may still count
    connections closed a moment ago: tried again until deadline)."""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/api/v1/status", headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                return conn
        except OSError:
            pass
        conn.close()
        if time.monotonic() > deadline:
            raise CheckFail("no connection got a 200 for GET /api/v1/status")
        time.sleep(0.1)


def check_per_ip_cap(port, auth):
    """max_connections_per_ip reaches the server: PER_IP connections stay open and answered,
    one more is closed without a reply, and one again once an open one closes."""
    held = []
    try:
        deadline = time.monotonic() + 10
        for _ in range(PER_IP):
            held.append(keep_alive_get(port, auth, deadline))
        extra = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            extra.request("GET", "/api/v1/status", headers=auth)
            r = extra.getresponse()
            r.read()
            R.fail("max_connections_per_ip = %d" % PER_IP,
                   "connection %d got HTTP %d, expected it closed" % (PER_IP + 1, r.status))
        except (http.client.RemoteDisconnected, ConnectionError):
            R.ok("max_connections_per_ip = %d: connection %d closed without a reply" % (PER_IP, PER_IP + 1))
        finally:
            extra.close()
        held.pop().close()
        held.append(keep_alive_get(port, auth, time.monotonic() + 10))
        R.ok("max_connections_per_ip: a connection is taken again once one closes")
    finally:
        for h in held:
            h.close()


def check_token(c):
    d = os.path.join(c.tmp, "tok")
    os.makedirs(d)
    token = "e2e-" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
    tf, pw, conf = os.path.join(d, "token"), os.path.join(d, "pw"), os.path.join(d, "xapistat.conf")
    with open(tf, "w") as f:
        f.write(token + "\n")
    with open(pw, "w") as f:
        f.write(SIM_PASSWORD + "\n")
    os.chmod(tf, 0o600)
    os.chmod(pw, 0o600)
    p = None
    try:
        for attempt in range(5):
            port = free_port()
            with open(conf, "w") as f:
                f.write("# e2e\nlisten = 127.0.0.1:%d\ndata = %s\ntoken_file = %s\n"
                        "max_connections_per_ip = %d\n\n[pool e2e]\n"
                        "url = http://%s:%d\nuser = %s\npassword_file = %s\n"
                        % (port, os.path.join(d, "data"), tf, PER_IP, c.sim.master_addr, c.sim.port, SIM_USER,
                           pw))
            p = start([os.path.join(c.bindir, "xapistat"), "serve", "-c", conf],
                      os.path.join(d, "out"), os.path.join(d, "err"))
            up = False
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and p.poll() is None:
                try:
                    request(port, "GET", "/api/v1/status", timeout=5)
                    up = True
                    break
                except OSError:
                    time.sleep(0.1)
            if up or not re.search(r"bind|in use", tail(os.path.join(d, "err")), re.I):
                break
            stop(p)
        expect(up, "serve -c did not start: exit %r %s" % (p.poll(), tail(os.path.join(d, "err"))))
        auth = {"Authorization": "Bearer " + token}
        deadline = time.monotonic() + 30  # the VM is known once the pool's topology is loaded
        while time.monotonic() < deadline:
            r = request(port, "GET", "/api/v1/status", auth)
            if r.status == 200 and all(x.get("connected") for x in r.json().get("pools") or [{}]):
                break
            time.sleep(0.2)
        bad = []
        for path in ("/api/v1/status", "/api/v1/objects", "/metrics", "/api/v1/vms/%s/stats" % c.vm):
            r = request(port, "GET", path)
            if r.status != 401:
                bad.append("GET %s without a token -> %r" % (path, r))
            r = request(port, "GET", path, {"Authorization": "Bearer wrong-" + token})
            if r.status != 401:
                bad.append("GET %s with a wrong token -> %r" % (path, r))
            r = request(port, "GET", path, {"Authorization": "Bearer " + token})
            if r.status != 200:
                bad.append("GET %s with the token -> %r" % (path, r))
        report(bad, "token_file")
        check_per_ip_cap(port, auth)
    finally:
        if p is not None:
            rc = stop(p)
            if rc not in (0, None):
                R.fail("serve -c stops cleanly", "exit %r: %s" % (rc, tail(os.path.join(d, "err"))))


def check_clean_stop(c):
    rc = stop(c.serve)
    with open(c.serve_err, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    expect(rc == 0, "xapistat serve exit %r after SIGTERM: %s" % (rc, tail(c.serve_err, 30)))
    for pat in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        expect(pat not in log, "%s in the serve log: %s" % (pat, tail(c.serve_err, 30)))


# ---------------------------------------------------------------- main

def main():
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    atexit.register(cleanup)
    t_start = time.monotonic()
    c = Ctx()
    env_bin = os.environ.get("XS_BIN_DIR") or "build/asan"
    c.bindir = env_bin if os.path.isabs(env_bin) else (
        os.path.abspath(env_bin) if os.path.isdir(env_bin) else os.path.join(REPO, env_bin))
    c.metrics_memory = None
    try:
        for b in ("xapistat", "xapi-sim"):
            if not os.access(os.path.join(c.bindir, b), os.X_OK):
                R.fail("binaries", "%s/%s missing (XS_BIN_DIR)" % (c.bindir, b))
                return
        c.tmp = tempfile.mkdtemp(prefix="xapistat-e2e-")
        TMPDIRS.append(c.tmp)
        try:
            setup(c)
        except Exception as e:
            R.fail("setup (sim + serve collecting)", e)
            return
        R.ok("setup (sim + serve collecting)")
        checks = [
            ("1 objects vs the sim's XML-RPC", check_objects),
            ("2 VM stats granularity=seconds vs the sim's rows", check_vm_seconds),
            ("3 host stats granularity=seconds vs the sim's rows", check_host_seconds),
            ("4a VM stats granularity=minutes vs the sim's 60 s rows", lambda c: check_minutes(c, "vm")),
            ("4b host stats granularity=minutes vs the sim's 60 s rows", lambda c: check_minutes(c, "host")),
            ("5a range of 15 min answered from the 5 s tier", check_range_5s),
            ("5b range of 3 days, points=100: 1 h tier with bands", check_range_3d),
            ("5c VM stats granularity=hours vs the sim's 3600 s rows", check_hours),
            ("6a SR stats: shape, sums / means of its hosts", check_sr),
            ("6b pool stats: host uuid -> host reply", check_pool),
            ("8 top kind=vm metric=cpu n=2", check_top),
            ("9 errors", check_errors),
            ("9b a uuid in capitals names the same object", check_uuid_capitals),
            ("10 SSE stream", check_stream),
            ("11 /metrics", check_metrics),
            ("12 Prometheus scrapes /metrics", check_prometheus),
            ("7a halted VM never run: documented reply", check_halted_never_ran),
            ("7b halted VM keeps its history", check_halted_history),
            ("13a --listen 0.0.0.0 without token_file refused", check_refuse_public),
            ("13b token_file: 401 without the bearer token, 200 with", check_token),
            ("8c top with one host's clock 300 s ahead: every running VM ranked", check_top_skew),
            ("serve stops cleanly on SIGTERM (exit 0, no sanitizer report)", check_clean_stop),
        ]
        for name, fn in checks:
            if name.startswith("12") and c.metrics_memory is None:
                R.fail(name, "skipped: check 11 found no memory series to compare")
                continue
            if c.serve.poll() is not None and not name.startswith("serve stops"):
                R.fail(name, "xapistat serve exited %s: %s" % (c.serve.returncode, tail(c.serve_err)))
                continue
            if c.sim_proc.poll() is not None:
                R.fail(name, "xapi-sim exited %s: %s" % (c.sim_proc.returncode, tail(os.path.join(c.tmp, "sim.err"))))
                continue
            R.run(name, fn, c)
    finally:
        cleanup()
        print("# %.0f s" % (time.monotonic() - t_start))
        print("%d passed, %d failed" % (R.passed, R.failed), flush=True)


if __name__ == "__main__":
    main()
    sys.exit(1 if R.failed else 0)
