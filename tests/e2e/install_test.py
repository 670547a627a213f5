#!/usr/bin/env python3
"""Test of `make install` / `make uninstall` (README "Running it as a service").

Python 3 standard library only. Installs into a temporary DESTDIR with
PREFIX=/usr/local and checks: the binary, the web UI, the systemd unit (its
ExecStart and Documentation name installed files; every line is a comment, a
section or a key=value), its sysusers.d line, the example configuration and
the docs; then runs the installed binary with the example configuration (its
pool, password file, data and listen replaced by test values: an unreachable
pool on 127.89.0.2, the API on 127.89.0.1) and checks that it serves the
installed web UI at / without --web (it looks beside itself), answers
/api/v1/status, and exits 0 on SIGTERM; last, `make uninstall` removes every
file it installed.

Prints "not ok: <check>" per failed check and ends with "N passed, M failed";
exits 1 on any failure. The daemon dies with the test (PR_SET_PDEATHSIG) and is
stopped in a finally block; the temporary directory is removed.
"""
import ctypes
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "/usr/local"
API_HOST = "127.89.0.1"

passed = failed = 0


def ok(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"not ok: {what}")
    return cond


def _pdeathsig():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def make(*args):
    return subprocess.run(["make", "-s", "--no-print-directory", "-C", REPO, *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def get(port, path):
    conn = http.client.HTTPConnection(API_HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind((API_HOST, 0))
        return s.getsockname()[1]


def check_files(root):
    inst = lambda p: os.path.join(root, p.lstrip("/"))
    binary = inst(f"{PREFIX}/bin/xapistat")
    ok(os.access(binary, os.X_OK), "bin/xapistat installed, executable")
    web = inst(f"{PREFIX}/share/xapistat/web")
    ok(os.path.isfile(os.path.join(web, "index.html")), "web UI installed")
    ok(os.path.isdir(os.path.join(web, "vendor")), "web UI's vendored d3 installed")
    unit_path = inst(f"{PREFIX}/lib/systemd/system/xapistat.service")
    unit = open(unit_path).read() if os.path.isfile(unit_path) else ""
    ok(f"ExecStart={PREFIX}/bin/xapistat serve -c /etc/xapistat/xapistat.conf\n" in unit,
       "the unit runs the installed binary with /etc/xapistat/xapistat.conf")
    ok(not re.search(r"@[A-Z]+@", unit), "no @PLACEHOLDER@ left in the unit")
    doc = re.search(r"(?m)^Documentation=file://(\S+)$", unit)
    ok(doc and os.path.isfile(inst(doc.group(1))), "the unit's Documentation is installed")
    section, bad = None, []
    for line in unit.splitlines():
        if not line or line.startswith("#"):
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            section = line
        elif not (section and re.fullmatch(r"[A-Z][A-Za-z]+=.*", line)):
            bad.append(line)
    ok(unit and not bad, f"the unit is comments, sections and Key=value lines: {bad}")
    ok("StateDirectory=xapistat\n" in unit and "User=xapistat\n" in unit,
       "the unit's user and state directory")
    users = inst(f"{PREFIX}/lib/sysusers.d/xapistat.conf")
    ok(os.path.isfile(users) and re.search(r"(?m)^u xapistat - \".*\" /var/lib/xapistat$",
                                           open(users).read()),
       "sysusers.d line of the user xapistat")
    for d in ("xapistat.conf.example", "README.md", "CONFIG.md", "API.md", "STORE.md",
              "prometheus-alerts.yml"):
        ok(os.path.isfile(inst(f"{PREFIX}/share/doc/xapistat/{d}")), f"doc {d} installed")
    ok(not os.path.exists(os.path.join(root, "etc")), "nothing written under /etc")
    return binary, web


def check_runs(root, binary, web, tmp):
    example = os.path.join(root, f"{PREFIX.lstrip('/')}/share/doc/xapistat/xapistat.conf.example")
    port = free_port()
    pw = os.path.join(tmp, "lab.pw")
    with open(pw, "w") as f:
        f.write("pw\n")
    text = open(example).read()
    subs = [(r"(?m)^data = .*$", f"data = {tmp}/data"),
            (r"(?m)^listen = .*$", f"listen = {API_HOST}:{port}"),
            (r"(?m)^url = .*$", "url = http://127.89.0.2:1"),
            (r"(?m)^password_file = \S+", f"password_file = {pw}")]
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text)
        ok(n == 1, f"the example has one line {pat}")
    conf = os.path.join(tmp, "xapistat.conf")
    with open(conf, "w") as f:
        f.write(text)
    err = open(os.path.join(tmp, "serve.err"), "w+")
    p = subprocess.Popen([binary, "serve", "-c", conf], stdout=subprocess.DEVNULL, stderr=err,
                         preexec_fn=_pdeathsig)
    try:
        status = None
        for _ in range(100):
            try:
                status, _ = get(port, "/api/v1/status")
                break
            except OSError:
                time.sleep(0.1)
        ok(status == 200, f"the installed daemon answers /api/v1/status ({status})")
        if status == 200:
            st, body = get(port, "/")
            ok(st == 200 and body == open(os.path.join(web, "index.html"), "rb").read(),
               f"/ is the installed web UI's index.html ({st})")
        p.send_signal(signal.SIGTERM)
        ok(p.wait(timeout=30) == 0, "SIGTERM: exit 0")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        err.seek(0)
        log = err.read()
        err.close()
    if failed:
        print(log[-3000:])


def main():
    tmp = tempfile.mkdtemp(prefix="xs-install-")
    try:
        root = os.path.join(tmp, "root")
        r = make("install", f"DESTDIR={root}", f"PREFIX={PREFIX}")
        if ok(r.returncode == 0, f"make install: {r.stdout[-2000:]}"):
            binary, web = check_files(root)
            check_runs(root, binary, web, tmp)
            r = make("uninstall", f"DESTDIR={root}", f"PREFIX={PREFIX}")
            left = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
            ok(r.returncode == 0 and not left, f"make uninstall removes every file: {left}")
            ok(not os.path.exists(os.path.join(root, PREFIX.lstrip("/"), "share/xapistat")),
               "and share/xapistat")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
