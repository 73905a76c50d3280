"""The SVG charts under bench/results, drawn with gnuplot."""
import os
import subprocess



def chart(r, output_dir):
    """bench/results/latest.svg with gnuplot: throughput, cold start, idle memory, far-database latency."""
    rows = {
        "throughput.dat": [("service", r["throughput"]["service"]["list (anonymous)"]["rps"]),
                           ("ceiling", r["throughput"]["ceiling"]["list (anonymous)"]["rps"]),
                           ("EF Core", r["throughput"]["efcore"]["list (anonymous)"]["rps"])],
        "coldstart.dat": [("AOT", r["cold_start"]["aot"]["median_ms"]), ("JIT", r["cold_start"]["jit"]["median_ms"])],
        "memory.dat": [("service", r["memory"]["idle_rss_mb"]), ("ceiling", r["memory"]["ceiling_idle_rss_mb"]),
                       ("JIT", r["memory"]["jit_idle_rss_mb"])],
        "far.dat": [(name.replace("service ", "").replace("efcore ", "EF Core ").replace(" (", "\\n("), f["p50_ms"])
                    for name, f in r["far_database"]["endpoints"].items()],
    }
    for name, values in rows.items():
        with open(os.path.join(output_dir, name), "w") as data:
            data.writelines(f'"{label}" {value}\n' for label, value in values)
    title = f"Blog API benchmarks, {r['date']} (bench/run)"
    script = f"""
set terminal svg size 1600,420 font 'sans,11' background '#ffffff'
set output '{output_dir}/latest.svg'
set multiplot layout 1,4 title "{title}"
set style fill solid 0.85 noborder
set boxwidth 0.6
set grid ytics lc rgb '#dddddd'
unset key
set yrange [0:*]
set offsets 0.3, 0.3, graph 0.12, 0
set title 'GET /api/articles, 100k articles (req/s, higher is better)'
plot '{output_dir}/throughput.dat' using 0:2:xtic(1) with boxes lc rgb '#2b6cb0', '' using 0:2:(sprintf('%.0f', $2)) with labels offset 0,0.7
set title 'Cold start to first DB answer (ms, lower is better)'
plot '{output_dir}/coldstart.dat' using 0:2:xtic(1) with boxes lc rgb '#38a169', '' using 0:2:(sprintf('%.0f', $2)) with labels offset 0,0.7
set title 'Idle memory, RSS (MB, lower is better)'
plot '{output_dir}/memory.dat' using 0:2:xtic(1) with boxes lc rgb '#805ad5', '' using 0:2:(sprintf('%.1f', $2)) with labels offset 0,0.7
set title 'Database 40 ms away: p50 latency (ms)'
set xtics font ',8'
plot '{output_dir}/far.dat' using 0:2:xtic(1) with boxes lc rgb '#dd6b20', '' using 0:2:(sprintf('%.0f', $2)) with labels offset 0,0.7
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    for name in rows:
        os.remove(os.path.join(output_dir, name))


def chart_prepared(r, output_dir):
    """bench/results/prepared.svg: list throughput by connection path and mode, with the pgbench
    ceiling, and where a prepared list request's CPU goes."""
    p = r["prepared"]
    bars, budget = [], []
    for path_name, modes in p.items():
        if path_name == "pgbench_list_statements_per_s":
            continue
        for mode in ("baseline", "unprepared", "prepared", "ceiling"):
            if mode in modes:
                bars.append((f"{path_name}\\n{mode}", modes[mode]["list (anonymous)"]["rps"]))
        bars.append((f"{path_name}\\npgbench prepared", p["pgbench_list_statements_per_s"][path_name]["prepared"]))
    pooled = p.get("PgBouncer 1.25", p["direct"])
    for mode in ("unprepared", "prepared"):
        cpu = pooled[mode]["list (anonymous)"]["cpu_ms_per_request"]
        budget.append((mode, cpu["service"], cpu["postgres"], cpu["pooler"], cpu["wrk"]))
    with open(os.path.join(output_dir, "paths.dat"), "w") as data:
        data.writelines(f'"{label}" {value}\n' for label, value in bars)
    with open(os.path.join(output_dir, "budget.dat"), "w") as data:
        data.writelines(f'"{mode}" {a} {b} {c} {d}\n' for mode, a, b, c, d in budget)
    script = f"""
set terminal svg size 1600,420 font 'sans,11' background '#ffffff'
set output '{output_dir}/prepared.svg'
set multiplot layout 1,2 title "Prepared statements, {r.get('prepared_date', r['date'])} (bench/run)"
set style fill solid 0.85 noborder
set grid ytics lc rgb '#dddddd'
set yrange [0:*]
set offsets 0.3, 0.3, graph 0.12, 0
unset key
set boxwidth 0.6
set xtics font ',8'
set title 'GET /api/articles, 100k articles, 32 connections (req/s); pgbench: the list statement alone'
plot '{output_dir}/paths.dat' using 0:2:xtic(1) with boxes lc rgb '#2b6cb0', '' using 0:2:(sprintf('%.0f', $2)) with labels offset 0,0.7
set title 'CPU per list request through the pooler (ms): service, PostgreSQL, pooler, wrk'
set style data histograms
set style histogram rowstacked
set key outside right
set boxwidth 0.5
plot '{output_dir}/budget.dat' using 2:xtic(1) title 'service' lc rgb '#2b6cb0', '' using 3 title 'PostgreSQL' lc rgb '#dd6b20', '' using 4 title 'pooler' lc rgb '#38a169', '' using 5 title 'wrk' lc rgb '#999999'
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    for name in ("paths.dat", "budget.dat"):
        os.remove(os.path.join(output_dir, name))


def clustered_bars(output_dir, name, title, rows, series, y_axis="set yrange [0:*]"):
    """bench/results/NAME.svg: bars clustered by row ("label" v1 v2 …), one colour per series
    (title, colour), with the gnuplot settings y_axis for the y axis."""
    data_path = os.path.join(output_dir, f"{name}.dat")
    with open(data_path, "w") as data:
        data.writelines(f'"{label}" {" ".join(str(v) for v in values)}\n' for label, *values in rows)
    plots = ", ".join(f"{repr(data_path) if i == 0 else repr('')} using {i + 2}{':xtic(1)' if i == 0 else ''} title '{t}' lc rgb '{c}'"
                      for i, (t, c) in enumerate(series))
    script = f"""
set terminal svg size 900,420 font 'sans,11' background '#ffffff'
set output '{output_dir}/{name}.svg'
set title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 noborder
set grid ytics lc rgb '#dddddd'
{y_axis}
set key top right
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data_path)


def chart_edge(r, output_dir):
    """bench/results/edge.svg: reads with the database 40 ms away, without and with the edge cache."""
    e = r["edge_cache"]
    replica = r["replica"]["reads"]
    p = e["propagation"]
    clustered_bars(output_dir, "edge",
                   f"Primary 40 ms away: p50 of anonymous reads (ms), {r['date']}\\ninvalidation on another instance: p50 {p['p50_ms']} ms, "
                   f"p99 {p['p99_ms']} ms; cached list {e['list_throughput']['ratio']}× the uncached throughput",
                   [(name, f["primary_far_p50_ms"], replica[name]["replica_near_p50_ms"], f["cache_hit_p50_ms"]) for name, f in e["far_reads"].items()],
                   [("to the primary", "#dd6b20"), ("replica near", "#38a169"), ("edge cache hit", "#2b6cb0")])


def chart_signed_in(r, output_dir):
    """bench/results/signed-in.svg: signed-in reads, the primary 40 ms away, database path against edge cache."""
    s = r["edge_cache"].get("signed_in")
    if not s:
        return
    t = s["list_throughput"]
    clustered_bars(output_dir, "signed-in",
                   f"Signed-in reads, primary 40 ms away, no replica: latency (ms, log scale), {s.get('date', r['date'])}\\nsigned-in list throughput: "
                   f"edge cache {t['cache_rps']:.0f} req/s, database path {t['database_rps']:.0f} req/s ({t['ratio']}×)",
                   [(n, s[n]["database"]["p50_ms"], s[n]["database"]["p99_ms"], s[n]["cache"]["p50_ms"], s[n]["cache"]["p99_ms"])
                    for n in ("list", "article", "profile", "comments")],
                   [("database p50", "#dd6b20"), ("database p99", "#f6ad55"), ("edge cache p50", "#2b6cb0"), ("edge cache p99", "#90cdf4")],
                   "set logscale y\nset yrange [0.05:*]")


def chart_dashboard(r, output_dir):
    """bench/results/dashboard.svg: four of the dashboard's panels, from the bench's scrapes."""
    series = r["dashboard"]["series"]
    with open(os.path.join(output_dir, "dashboard.dat"), "w") as data:
        data.writelines(f'{p["t"]} {p["rps"]} {p["errors_rps"]} {p["p50_ms"]} {p["p99_ms"]} {p["pool_used"]} {p["cache_hit_pct"] if p["cache_hit_pct"] is not None else "NaN"}\n'
                        for p in series)
    d = f"'{output_dir}/dashboard.dat'"
    script = f"""
set terminal svg size 1000,560 font 'sans,10' background '#ffffff'
set output '{output_dir}/dashboard.svg'
set multiplot layout 2,2 title "Dashboard panels from the binary's own /metrics, {r['date']}\\nload: anonymous list (cached), then signed-in list (the database), then articles with some 404s"
set grid lc rgb '#dddddd'
set key top left
set xlabel 'seconds'
set yrange [0:*]
set title 'Requests per second'
plot {d} using 1:2 with lines lw 2 lc rgb '#2b6cb0' title 'all', '' using 1:3 with lines lw 2 lc rgb '#e53e3e' title '4xx and 5xx'
set title 'Latency (ms)'
set logscale y
set yrange [0.05:*]
plot {d} using 1:4 with lines lw 2 lc rgb '#38a169' title 'p50', '' using 1:5 with lines lw 2 lc rgb '#dd6b20' title 'p99'
unset logscale y
set yrange [0:*]
set title 'Pool: connections in use (primary)'
plot {d} using 1:6 with steps lw 2 lc rgb '#805ad5' title 'used'
set title 'Edge cache hit rate (%)'
set yrange [0:105]
plot {d} using 1:7 with lines lw 2 lc rgb '#2b6cb0' title 'hits / lookups'
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(os.path.join(output_dir, "dashboard.dat"))


def chart_deploy(r, output_dir):
    """bench/results/deploy.svg: every request's latency over time during the deploy drill, one
    panel per run, with the migration and the replacement marked."""
    d = r["deploy"]
    runs = list(d["runs"].items())
    plots = []
    for i, (label, run) in enumerate(runs):
        path = os.path.join(output_dir, f"deploy{i}.dat")
        with open(path, "w") as data:
            data.writelines(f"{t} {ms} {1 if status and 200 <= status < 300 else 0}\n" for t, ms, _, status in run["series"])
        e = run["events_s"]
        plots.append(f"""
set title "{label}: migrate {run['migrate_s']} s, longest stall of articles requests {run['longest_articles_stall_ms']:.0f} ms, {run['failed_total']} failed"
set arrow 1 from {e['migrate']}, graph 0 to {e['migrate']}, graph 1 nohead lc rgb '#dd6b20' dt 2
set arrow 2 from {e['migrated']}, graph 0 to {e['migrated']}, graph 1 nohead lc rgb '#dd6b20' dt 2
set arrow 3 from {e['replace']}, graph 0 to {e['replace']}, graph 1 nohead lc rgb '#805ad5' dt 2
set arrow 4 from {e['replaced']}, graph 0 to {e['replaced']}, graph 1 nohead lc rgb '#805ad5' dt 2
plot '{path}' using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 0.25 lc rgb '#2b6cb0' title 'answered', '' using 1:($3 == 0 ? $2 : 1/0) with points pt 2 ps 0.8 lc rgb '#e53e3e' title 'failed'
""")
    script = f"""
set terminal svg size 1000,{300 * len(runs) + 60} font 'sans,10' background '#ffffff'
set output '{output_dir}/deploy.svg'
set multiplot layout {len(runs)},1 title "Deploy drill, {d.get('date', r['date'])}: the previous release ({d['previous_release']}) serves {d['clients']} clients through PgBouncer 1.25;\\nthe new build migrates (orange) and replaces it (purple). 300,000 articles, 2.1M favorites"
set grid lc rgb '#dddddd'
set logscale y
set ylabel 'latency (ms)'
set xlabel 'seconds'
set key top right
{''.join(plots)}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    for i in range(len(runs)):
        os.remove(os.path.join(output_dir, f"deploy{i}.dat"))
