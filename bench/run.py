#!/usr/bin/env python3
"""The benchmarks behind the README's Performance section (bench/run sets up and calls this).

Every figure is measured in this run against a baseline measured in the same run:
  cold start   the AOT binary vs the same app published without AOT (JIT)
  memory, size idle RSS (6 s after the first 200), RSS 1 s after it, peak RSS under load, binary size
  throughput   the service's endpoints vs a hand-written ceiling (raw Npgsql + Utf8JsonWriter)
               and an EF Core implementation of GET /api/articles, on 10k users / 100k articles
  far database the same endpoints with the database 40 ms away (20 ms each way through a proxy)
  prepared     the endpoints with statements prepared and not, directly and through PgBouncer
               1.25 (transaction mode, max_prepared_statements), a pgbench ceiling running the
               same list statement, and the CPU each request costs the service, PostgreSQL,
               the pooler and wrk
The server runs on CPU 0; wrk, PostgreSQL, the pooler and the proxy on CPU 1.

Each section is a module of bench/blogbench; this file is their table of contents.

usage: run.py ARTIFACTS DATABASE_URL OUTPUT_DIR [--quick] [--baseline REV]
       run.py ARTIFACTS DATABASE_URL OUTPUT_DIR [--quick] --only replica|deploy|idle|signed-in|prepared
         runs that section alone and puts its figures into OUTPUT_DIR/latest.json, the rest kept
"""
import json
import os
import platform
import sys
from datetime import datetime, timezone

from blogbench import charts, dashboard, deploy, edge, prepared, replicas, report, startup, throughput


def main():
    if sys.argv[1] == "--chart":  # redraw bench/results/latest.svg from latest.json
        with open(os.path.join(sys.argv[2], "latest.json")) as saved:
            charts.chart(json.load(saved), sys.argv[2])
        return
    artifacts, database_url, output_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    quick = "--quick" in sys.argv
    seconds, runs = (3, 3) if quick else (10, 7)
    aot = [os.path.join(artifacts, "aot", "Blog.Api")]
    jit = [os.path.join(artifacts, "jit", "Blog.Api")]
    ceiling = [os.path.join(artifacts, "ceiling", "Blog.Bench.Ceiling")]
    efcore = ["dotnet", os.path.join(artifacts, "efcore", "Blog.Bench.EfCore.dll")]
    baseline = None
    if "--baseline" in sys.argv:
        baseline = {"revision": sys.argv[sys.argv.index("--baseline") + 1], "command": [os.path.join(artifacts, "baseline", "Blog.Api")]}
    if "--only" in sys.argv:
        only(sys.argv[sys.argv.index("--only") + 1], aot, artifacts, database_url, seconds, quick, output_dir)
        return
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.processor() or platform.machine()}, Linux {platform.release()}",
        "data": "10,000 users, 100,000 articles (bench/seed.sql)",
        "pinning": "server on CPU 0; wrk, PostgreSQL and the latency proxy on CPU 1 (taskset)",
    }

    print("cold start (exec → first GET /api/articles 200), median of", runs, "runs each")
    startup.measure(results, aot, jit, ceiling, database_url, runs, baseline)

    token, slug, author, endpoints = throughput.service(results, aot, database_url, seconds)

    print("prepared statements, directly and through PgBouncer 1.25")
    results["prepared"] = prepared.prepared_statements(aot, ceiling, database_url, seconds, token, slug, baseline and baseline["command"])

    throughput.baselines(results, ceiling, efcore, database_url, seconds)
    throughput.far_database(results, aot, efcore, database_url, endpoints, seconds)
    pooled = results["prepared"].get("PgBouncer 1.25", results["prepared"]["direct"])
    results["ratios"]["prepared_over_unprepared_list"] = round(pooled["prepared"]["list (anonymous)"]["rps"] / pooled["unprepared"]["list (anonymous)"]["rps"], 2)
    results["ratios"]["prepared_list_over_efcore"] = round(pooled["prepared"]["list (anonymous)"]["rps"] / results["throughput"]["efcore"]["list (anonymous)"]["rps"], 2)
    if "baseline" in pooled:
        results["ratios"]["prepared_over_baseline"] = {name: round(f["rps"] / pooled["baseline"][name]["rps"], 2) for name, f in pooled["prepared"].items()}

    if os.environ.get("HOSTILE_REPORT"):
        results["largest_requests"] = report.largest_requests(os.environ["HOSTILE_REPORT"])

    print("edge cache (anonymous reads; the database 40 ms away where it says so)")
    results["edge_cache"] = edge.measure(aot, database_url, seconds, token, slug, author,
                                         results["throughput"]["service"]["list (anonymous)"], 30 if quick else 200)

    print("the dashboard's panels, from /metrics under load")
    results["dashboard"] = dashboard.dashboard(aot, database_url, token, slug, 3 if quick else 6)

    print("the deploy drill (the previous release serving while this build migrates and replaces it)")
    results["deploy"] = deploy.measure(artifacts, database_url, previous_release(), DRILL_BASELINE, 5 if quick else 10)

    print("read replicas (scripts/replica-pair: the primary and its WAL 40 ms away, the replica near)")
    sessions = ["dotnet", os.path.join(artifacts, "sessions", "Blog.Sessions.dll")]
    results["replica"] = replicas.replica_reads(aot, seconds, 20 if quick else 100, sessions, quick)

    os.makedirs(output_dir, exist_ok=True)
    charts.chart_deploy(results, output_dir)
    deploy.drop_series(results["deploy"])  # every request of the drill: the chart has them, the results need not
    with open(os.path.join(output_dir, "latest.json"), "w") as out:
        json.dump(results, out, indent=1)
        out.write("\n")
    charts.chart(results, output_dir)
    charts.chart_prepared(results, output_dir)
    charts.chart_edge(results, output_dir)
    charts.chart_signed_in(results, output_dir)
    charts.chart_dashboard(results, output_dir)
    report.print_table(results)


# The revision whose migrate the drill compares with: the last before issue #31 (one transaction
# for every migration, 0009 filling its column inside it).
DRILL_BASELINE = "4ca6251"


def previous_release():
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".ci", "previous-release")) as f:
        return next(line.strip() for line in f if not line.startswith("#"))


def only(section, aot, artifacts, database_url, seconds, quick, output_dir):
    """One section, measured alone, its figures put into latest.json beside the others."""
    path = os.path.join(output_dir, "latest.json")
    with open(path) as saved:
        results = json.load(saved)
    if section == "idle":
        print("idle memory with and without the idle trim")
        results["idle_trim"] = startup.idle_trim(aot, database_url)
    elif section == "deploy":
        print("the deploy drill (the previous release serving while this build migrates and replaces it)")
        results["deploy"] = deploy.measure(artifacts, database_url, previous_release(), DRILL_BASELINE, 5 if quick else 10)
        results["deploy"]["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        charts.chart_deploy(results, output_dir)
        deploy.drop_series(results["deploy"])
    elif section == "replica":
        print("read replicas (scripts/replica-pair: the primary and its WAL 40 ms away, the replica near)")
        sessions = ["dotnet", os.path.join(artifacts, "sessions", "Blog.Sessions.dll")]
        results["replica"] = replicas.replica_reads(aot, seconds, 20 if quick else 100, sessions, quick)
        results["replica"]["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    elif section == "prepared":
        print("prepared statements, directly and through PgBouncer 1.25")
        token, slug, _ = throughput.signed_in_reader(aot, database_url)
        ceiling = [os.path.join(artifacts, "ceiling", "Blog.Bench.Ceiling")]
        results["prepared"] = prepared.prepared_statements(aot, ceiling, database_url, seconds, token, slug)
        results["prepared_date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        charts.chart_prepared(results, output_dir)
    elif section == "signed-in":
        print("signed-in reads at the edge (the primary 40 ms away, no replica)")
        token, slug, author = throughput.signed_in_reader(aot, database_url)
        results["edge_cache"]["signed_in"] = edge.measure_signed_in(aot, database_url, seconds, token, slug, author, 30 if quick else 200)
        results["edge_cache"]["signed_in"]["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    else:
        sys.exit(f"no section {section!r}")
    with open(path, "w") as out:
        json.dump(results, out, indent=1)
        out.write("\n")
    charts.chart_edge(results, output_dir)
    charts.chart_signed_in(results, output_dir)


if __name__ == "__main__":
    main()
