#!/usr/bin/env python3
"""The first request after a quiet spell, with and without the idle trim (IdleMemory).

For IDLE_MEMORY_TRIM on and off, starts the binary and, ROUNDS times: a burst of requests
(several MB of allocations, so a trim is due), a quiet spell of random length from 1.9 to
4.5 s (the trim, when on, runs 2 to 4 s into it), then one timed GET. Prints one JSON object:
for each variant the p50, p99 and max of that first request, and, from the service's own log
lines, how many trims ran and their pauses.

usage: idle_trim.py ROUNDS BINARY   (environment: DATABASE_URL, JWT_SECRET)
"""
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path="/api/articles"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def variant(binary, rounds, trim, seed):
    port = free_port()
    env = dict(os.environ, PORT=str(port), IDLE_MEMORY_TRIM="true" if trim else "false", Logging__LogLevel__Default="Information")
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT)
    rng = random.Random(seed)  # the same quiet spells for both variants
    try:
        for _ in range(200):
            try:
                if get(port, "/health") == 200:
                    break
            except OSError:
                time.sleep(0.05)
        first = []
        for _ in range(rounds):
            for _ in range(150):
                get(port)
            time.sleep(rng.uniform(1.9, 4.5))
            start = time.perf_counter()
            assert get(port) == 200
            first.append((time.perf_counter() - start) * 1000)
    finally:
        process.terminate()
        process.wait()
    log.seek(0)
    pauses = [json.loads(line)["State"]["PauseMs"] for line in log if "returned" in line and line.startswith("{")]
    return {
        "rounds": rounds,
        "first_request_ms": {"p50": round(statistics.median(first), 2), "p99": round(percentile(first, 99), 2), "max": round(max(first), 2)},
        "trims": len(pauses),
        "trim_pause_ms": {"p50": round(statistics.median(pauses), 2), "max": round(max(pauses), 2)} if pauses else None,
    }


def main():
    rounds, binary = int(sys.argv[1]), sys.argv[2]
    seed = 20261128
    print(json.dumps({"with_trim": variant(binary, rounds, True, seed), "without_trim": variant(binary, rounds, False, seed)}))


if __name__ == "__main__":
    main()
