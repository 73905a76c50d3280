"""Start-up and memory: cold starts (bench/coldstart.py), idle RSS, binary size."""
import json
import os
import subprocess
import sys

from .common import HERE, SECRET, free_port



def cold_start(command, database_url, runs, **settings):
    return cold_starts({"only": {"command": command, "env": settings}}, database_url, runs)["only"]


def cold_starts(variants, database_url, runs):
    """Several variants' cold starts, measured in turn (coldstart.py --variants)."""
    env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, ASPNETCORE_ENVIRONMENT="Production")
    output = subprocess.run([sys.executable, os.path.join(HERE, "coldstart.py"), str(runs), "/api/articles", "--variants", json.dumps(variants)],
                            env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output)


def measure(results, aot, jit, ceiling, database_url, runs, baseline=None):
    """Cold starts of the AOT binary (metrics off and on, the baseline revision in turn), the
    JIT build and the ceiling; binary sizes; the same-run ratios against the baseline."""
    # The service, with metrics on (the operability budget: a Prometheus port, every meter
    # listened to, traces off) and the baseline revision run in turn, so they compare fairly.
    variants = {"aot": {"command": aot}, "metrics_on": {"command": aot, "env": {"METRICS_PORT": str(free_port())}}}
    if baseline:
        variants["baseline"] = {"command": baseline["command"]}
    starts = cold_starts(variants, database_url, max(runs, 5))
    results["cold_start"] = {"aot": starts["aot"], "jit": cold_start(jit, database_url, max(3, runs // 2)),
                             "ceiling": cold_start(ceiling, database_url, 3)}
    results["cold_start"]["jit_over_aot"] = round(results["cold_start"]["jit"]["median_ms"] / results["cold_start"]["aot"]["median_ms"], 1)
    results["size"] = {"aot_binary_mb": round(os.path.getsize(aot[0]) / 2**20, 1)}
    on = starts["metrics_on"]
    results["metrics_on"] = {"cold_start": on, "cold_start_ratio": round(on["median_ms"] / results["cold_start"]["aot"]["median_ms"], 2),
                             "idle_rss_ratio": round(on["idle_rss_mb"] / results["cold_start"]["aot"]["idle_rss_mb"], 2)}
    print(f"  metrics on: {on['median_ms']} ms, idle {on['idle_rss_mb']} MB")
    if baseline:
        # The same figures for an earlier revision, built and measured in this run.
        figures, command = starts["baseline"], baseline["command"]
        results["baseline"] = {"revision": baseline["revision"], "cold_start": figures,
                               "binary_mb": round(os.path.getsize(command[0]) / 2**20, 1),
                               "cold_start_ratio": round(results["cold_start"]["aot"]["median_ms"] / figures["median_ms"], 2),
                               "idle_rss_ratio": round(results["cold_start"]["aot"]["idle_rss_mb"] / figures["idle_rss_mb"], 2),
                               "binary_ratio": round(os.path.getsize(aot[0]) / os.path.getsize(command[0]), 3)}
        print(f"  baseline {results['baseline']['revision']}: {figures['median_ms']} ms, idle {figures['idle_rss_mb']} MB, {results['baseline']['binary_mb']} MiB")
