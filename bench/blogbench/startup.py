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
    variants = {"aot": {"command": aot}, "metrics_on": {"command": aot, "env": {"METRICS_PORT": str(free_port())}},
                "idle_trim": {"command": aot, "env": {"IDLE_MEMORY_TRIM": "true"}}}
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
    results["idle_trim"] = idle_trim(aot, database_url, starts)
    if baseline:
        # The same figures for an earlier revision, built and measured in this run.
        figures, command = starts["baseline"], baseline["command"]
        results["baseline"] = {"revision": baseline["revision"], "cold_start": figures,
                               "binary_mb": round(os.path.getsize(command[0]) / 2**20, 1),
                               "cold_start_ratio": round(results["cold_start"]["aot"]["median_ms"] / figures["median_ms"], 2),
                               "idle_rss_ratio": round(results["cold_start"]["aot"]["idle_rss_mb"] / figures["idle_rss_mb"], 2),
                               "binary_ratio": round(os.path.getsize(aot[0]) / os.path.getsize(command[0]), 3)}
        print(f"  baseline {results['baseline']['revision']}: {figures['median_ms']} ms, idle {figures['idle_rss_mb']} MB, {results['baseline']['binary_mb']} MiB")


def idle_trim(aot, database_url, starts=None):
    """Idle memory both ways (IDLE_MEMORY_TRIM off, the default, and on), and what the first
    request after a quiet spell pays both ways (bench/idle_trim.py, 50 spells)."""
    if starts is None:
        starts = cold_starts({"aot": {"command": aot}, "idle_trim": {"command": aot, "env": {"IDLE_MEMORY_TRIM": "true"}}}, database_url, 5)
    env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, ASPNETCORE_ENVIRONMENT="Production")
    first = json.loads(subprocess.run([sys.executable, os.path.join(HERE, "idle_trim.py"), "50", aot[0]], env=env, capture_output=True, text=True, check=True).stdout)
    t = {
        "idle_rss_mb": {"off": starts["aot"]["idle_rss_mb"], "on": starts["idle_trim"]["idle_rss_mb"]},
        "first_request_after_idle_ms": {"off": first["without_trim"]["first_request_ms"], "on": first["with_trim"]["first_request_ms"]},
        "trims": first["with_trim"]["trims"], "trim_pause_ms": first["with_trim"]["trim_pause_ms"],
    }
    print(f"  idle RSS: {t['idle_rss_mb']['off']} MB without the idle trim (the default), {t['idle_rss_mb']['on']} MB with it; the first request "
          f"after a quiet spell: p99 {t['first_request_after_idle_ms']['off']['p99']} ms without, {t['first_request_after_idle_ms']['on']['p99']} ms with")
    return t
