#!/usr/bin/env python3
"""tests/e2e/demo_test.py - `make demo` as a user meets it (issue 6, point 4).

Runs scripts/demo.sh (what `make demo` runs once it has built) in a session of its
own, on a free loopback port and a scratch store (DEMO_LISTEN, DEMO_DATA), and checks:
  1. it prints the URL to open, also when the previous run's files are there;
  2. the estate is there: 2 pools, 3 hosts each, 15 VMs a host (control domains aside);
  3. the history is pre-filled: a VM's `hours` stats hold values a day back and more,
     which only the hosts' archives can give (the demo has run for seconds);
  4. the web UI and /metrics answer;
  5. Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends it)
     stops both processes: the script says "demo stopped" and exits, and no process
     of its session is left.
Binaries: build/xapistat and build/xapi-sim (make check builds them; the demo runs
those, not the sanitizer builds). Every process started is stopped, also on failure.
Output: "ok: ..." / "not ok: ..." lines and "N passed, M failed"; exit 1 on a failure.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
passed = failed = 0


def ok(cond, name, why=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok: " + name, flush=True)
    else:
        failed += 1
        print("not ok: %s: %s" % (name, " ".join(str(why).split())[:1500]), flush=True)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        c.close()


def session_pids(sid):
    """Processes of session sid still alive (zombies aside)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(d))
    return pids


def wait_for(fn, secs):
    end = time.monotonic() + secs
    while True:
        try:
            v = fn()
        except (OSError, ValueError, KeyError, http.client.HTTPException):
            v = None
        if v or time.monotonic() > end:
            return v
        time.sleep(0.25)


def estate(port):
    st, _, body = get(port, "/api/v1/objects")
    if st != 200:
        return None
    d = json.loads(body)
    vms = [v for v in d["vms"] if not v.get("is_control_domain")]
    if len(d["pools"]) == 2 and len(d["hosts"]) == 6 and len(vms) == 90:
        return vms
    return None


def old_history(port, vm):
    """True when the VM's hours stats hold a value older than a day."""
    st, _, body = get(port, "/api/v1/vms/%s/stats?granularity=hours" % vm)
    if st != 200:
        return False
    d = json.loads(body)
    cpus = d["stats"].get("cpus") or {}
    for series in cpus.values():
        # oldest first; a point of 25 h or more back
        if any(v is not None for v in series[: len(series) - 25]):
            return True
    return False


def main():
    for b in ("xapistat", "xapi-sim"):
        if not os.access(os.path.join(ROOT, "build", b), os.X_OK):
            ok(False, "binaries", "build/%s missing (make build/%s)" % (b, b))
            print("%d passed, %d failed" % (passed, failed))
            return 1
    tmp = tempfile.mkdtemp(prefix="xs-demo-")
    port = free_port()
    run = os.path.join(tmp, "run")
    env = dict(os.environ, DEMO_LISTEN="127.0.0.1:%d" % port, DEMO_DATA=os.path.join(tmp, "data"),
               DEMO_RUN=run)
    # a previous run's list of pools, naming a closed loopback port: never to be read as
    # this run's (the simulator's redirection truncates it only once the child runs)
    os.makedirs(run)
    with open(os.path.join(run, "sim.out"), "w") as f:
        f.write("pool pool-0 http://127.0.0.1:1\npool pool-1 http://127.0.0.1:1\n")
    out_path = os.path.join(tmp, "demo.out")
    out = open(out_path, "w+")
    p = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = "http://127.0.0.1:%d/" % port

        def printed():
            with open(out_path) as f:
                return ("open  " + url) in f.read()
        ok(wait_for(printed, 90), "prints the URL to open (%s)" % url, open(out_path).read()[-2000:])
        vms = wait_for(lambda: estate(port), 60)
        ok(vms, "2 pools x 3 hosts x 15 VMs", "not seen in 60 s")
        if vms:
            ok(wait_for(lambda: any(old_history(port, v["uuid"]) for v in vms[:5]), 90),
               "history pre-filled: hours stats older than a day", "none in 90 s")
        st, ctype, body = wait_for(lambda: get(port, "/"), 10) or (0, "", b"")
        ok(st == 200 and ctype.startswith("text/html"), "the web UI at /", "%r %r" % (st, ctype))
        st, ctype, body = wait_for(lambda: get(port, "/metrics", 30), 10) or (0, "", b"")
        ok(st == 200 and b"xapistat_" in body, "/metrics answers", "%r %r" % (st, body[:200]))

        before = session_pids(p.pid)
        ok(len(before) >= 3, "the script, xapi-sim and xapistat run (%d processes)" % len(before),
           before)
        os.killpg(p.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc is not None, "Ctrl-C: the demo exits (status %r)" % rc, "still running after 30 s")
        with open(out_path) as f:
            text = f.read()
        ok("demo stopped" in text, "it says it stopped", text[-1000:])
        left = wait_for(lambda: not session_pids(p.pid), 10)
        ok(left, "no process of the demo is left", session_pids(p.pid))
    finally:
        if p.poll() is None or session_pids(p.pid):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        out.close()
        subprocess.run(["rm", "-rf", tmp])
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
