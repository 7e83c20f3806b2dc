"""Start-up time, memory and page weight of `startvora serve`.

    .venv/bin/python scripts/bench/startup.py [--workers N] [--requests 1000]

Prints: seconds from launch to the first 200 on /healthz; RSS of the supervisor, the gunicorn
master, each web worker and the consumer just after start and after N requests (a mix of
/healthz, the sign-in page, the dashboard and the members list, signed in as the demo owner);
request latency percentiles; and the JavaScript and CSS a typical page loads, gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def processes(supervisor: int) -> dict[str, list[int]]:
    roles: dict[str, list[int]] = {
        "supervisor": [supervisor],
        "gunicorn master": [],
        "web worker": [],
        "consumer": [],
    }
    for pid in children(supervisor):
        if "gunicorn" in cmdline(pid):
            roles["gunicorn master"].append(pid)
            roles["web worker"] += children(pid)
        elif cmdline(pid).rstrip().endswith("worker"):
            roles["consumer"].append(pid)
    return roles


def report_memory(title: str, roles: dict[str, list[int]]) -> None:
    print(f"\nRSS {title}:")
    total = 0.0
    for role, pids in roles.items():
        for pid in pids:
            mib = rss_mib(pid)
            total += mib
            print(f"  {role:16} pid {pid:>7}  {mib:7.1f} MiB")
    product = sum(
        rss_mib(p) for r in ("gunicorn master", "web worker", "consumer") for p in roles[r]
    )
    print(f"  web + consumer (master, workers, consumer): {product:.1f} MiB")
    print(f"  everything incl. supervisor:                {total:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    startvora = [sys.executable, "-m", "startvora"]
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "STARTVORA_DATA": data}
        subprocess.run([*startvora, "init"], env=env, check=True, capture_output=True)
        demo = subprocess.run(
            [*startvora, "demo", "--size", "small"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        email, password = re.search(r"Sign in as (\S+) with the password (\S+)", demo).groups()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*startvora, "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.005)
            first_200 = time.perf_counter() - started
            print(f"launch to first 200 on /healthz: {first_200:.2f} s")
            time.sleep(2)  # let the consumer finish starting
            report_memory("just after start", processes(proc.pid))

            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            page = opener.open(base + "/sign-in").read().decode()
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            form = urllib.parse.urlencode(
                {"csrf_token": token, "email": email, "password": password}
            )
            opener.open(base + "/sign-in", data=form.encode()).read()
            urls = ["/healthz", "/sign-in", "/o/demo/", "/o/demo/members"]
            timings: dict[str, list[float]] = {u: [] for u in urls}
            for i in range(args.requests):
                url = urls[i % len(urls)]
                t0 = time.perf_counter()
                with opener.open(base + url) as r:
                    r.read()
                    assert r.status == 200, (url, r.status)
                timings[url].append((time.perf_counter() - t0) * 1000)
            print(f"\nlatency over {args.requests} sequential requests (ms):")
            for url, values in timings.items():
                q = statistics.quantiles(values, n=100)
                print(f"  {url:18} p50 {q[49]:6.1f}  p95 {q[94]:6.1f}  p99 {q[98]:6.1f}")
            report_memory(f"after {args.requests} requests", processes(proc.pid))

            html = opener.open(base + "/o/demo/").read().decode()
            total_js = total_css = 0
            print("\nassets of the dashboard page (gzip -9):")
            for kind, pattern in (
                ("js", r'<script src="([^"]+)"'),
                ("css", r'<link rel="stylesheet" href="([^"]+)"'),
            ):
                for src in re.findall(pattern, html):
                    body = opener.open(base + src).read()
                    size = len(gzip.compress(body, 9))
                    kib, gz_kib = len(body) / 1024, size / 1024
                    print(f"  {src.split('?')[0]:32} {kib:6.1f} KiB raw  {gz_kib:5.1f} KiB gz")
                    if kind == "js":
                        total_js += size
                    else:
                        total_css += size
            js_kib, css_kib = total_js / 1024, total_css / 1024
            print(f"  JavaScript total: {js_kib:.1f} KiB gzipped; CSS: {css_kib:.1f} KiB")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
