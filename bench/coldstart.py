#!/usr/bin/env python3
"""Cold start of a service binary: exec → first 200 from a database-backed endpoint.

Starts the command with PORT set, polls GET <path> as fast as it can until it answers
200, records that time, the resident memory (RSS) a second later, and the idle RSS six
seconds later (the service collects its start-up garbage once quiet; see IdleMemory),
stops the process. Repeats and prints one JSON object: the runs, their median, and the
median RSS at both moments.

With --variants, VARIANTS is a JSON object {name: {"command": [...], "env": {...}}}: the
variants run in turn, one run each per round, so that whatever else the machine does
during the measurement falls on all of them alike (sequential batches of runs were seen to
differ by 1.4× between two identical binaries). Prints {name: figures}.

usage: coldstart.py RUNS PATH COMMAND...          (environment: DATABASE_URL, JWT_SECRET, ...; IDLE_SECONDS)
       coldstart.py RUNS PATH --variants VARIANTS
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

IDLE_SECONDS = int(os.environ.get("IDLE_SECONDS", "6"))  # after the first 200, with no traffic


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def one_run(command, path, extra_env=None):
    port = free_port()
    env = dict(os.environ, PORT=str(port), **(extra_env or {}))
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}")
            if time.perf_counter() - start > 30:
                raise RuntimeError("no 200 within 30 s")
        elapsed = (time.perf_counter() - start) * 1000
        time.sleep(1)
        after_first = rss_mb(process.pid)
        time.sleep(IDLE_SECONDS - 1)
        return elapsed, after_first, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait()


def figures(results):
    times = [t for t, _, _ in results]
    return {
        "runs_ms": [round(t, 1) for t in times],
        "median_ms": round(statistics.median(times), 1),
        "rss_1s_mb": round(statistics.median(r for _, r, _ in results), 1),
        "idle_rss_mb": round(statistics.median(r for _, _, r in results), 1),
    }


def main():
    runs, path = int(sys.argv[1]), sys.argv[2]
    if sys.argv[3] == "--variants":
        variants = json.loads(sys.argv[4])
        for variant in variants.values():
            one_run(variant["command"], path, variant.get("env"))  # warm the file cache and the database
        results = {name: [] for name in variants}
        for _ in range(runs):
            for name, variant in variants.items():
                results[name].append(one_run(variant["command"], path, variant.get("env")))
        print(json.dumps({name: figures(measured) for name, measured in results.items()}))
        return
    command = sys.argv[3:]
    one_run(command, path)  # warm the file cache and the database
    print(json.dumps(figures([one_run(command, path) for _ in range(runs)])))


if __name__ == "__main__":
    main()
