"""The table bench/run prints at the end, and what it reads from the test suite's log."""



def largest_requests(log_path):
    """The worst CPU time per endpoint of the largest bodies, and the memory of the largest
    stored data, as LargestRequestsBinary and BoundedMemoryTests printed them (bench/run runs them)."""
    worst, memory = [], []
    with open(log_path) as log:
        for line in log:
            line = line.strip()
            if line.startswith("worst CPU |"):
                _, endpoint, ms, case, status = [part.strip() for part in line.split("|")]
                worst.append({"endpoint": endpoint, "cpu_ms": float(ms.split()[0]), "case": case, "status": int(status)})
            elif line.startswith(("RSS idle", "peak RSS")):
                memory.append(line)
    return {"worst_cpu_per_endpoint": worst, "memory": memory}


def print_table(r):
    c = r["cold_start"]
    m = r["memory"]
    print()
    print(f"Blog API benchmarks, {r['date']} — {r['machine']}; {r['data']}; {r['pinning']}")
    print()
    print(f"{'figure':44} {'ratio':>12}   {'absolute':>28}   target")
    rows = [
        ("cold start, AOT vs JIT", f"{c['jit_over_aot']}× faster", f"{c['aot']['median_ms']} ms vs {c['jit']['median_ms']} ms", "≤100 ms, ≥5×"),
        ("throughput list, vs hand-written ceiling", f"{r['ratios']['service_over_ceiling']:.0%}", f"{r['throughput']['service']['list (anonymous)']['rps']:.0f} vs {r['throughput']['ceiling']['list (anonymous)']['rps']:.0f} req/s", "≥90%"),
        ("throughput list, vs EF Core", f"{r['ratios']['service_over_efcore']}×", f"{r['throughput']['service']['list (anonymous)']['rps']:.0f} vs {r['throughput']['efcore']['list (anonymous)']['rps']:.0f} req/s", "≥2×"),
        ("idle RSS, vs the ceiling app / JIT", f"{m['idle_rss_mb'] / m['ceiling_idle_rss_mb']:.2f}× / {m['idle_rss_mb'] / m['jit_idle_rss_mb']:.2f}×", f"{m['idle_rss_mb']} vs {m['ceiling_idle_rss_mb']} / {m['jit_idle_rss_mb']} MB", "≤36 MB"),
        ("RSS 1 s after the first 200 (before idling)", "", f"{m['rss_1s_mb']} MB", ""),
        ("peak RSS under load", "", f"{m['peak_rss_under_load_mb']} MB", ""),
        ("binary size", "", f"{r['size']['aot_binary_mb']} MB", "≤25 MB"),
    ]
    for name, ratio, absolute, target in rows:
        print(f"{name:44} {ratio:>12}   {absolute:>28}   {target}")
    print()
    print(f"{'endpoint (32 connections)':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for owner, endpoints in r["throughput"].items():
        for name, f in endpoints.items():
            print(f"{owner + ' ' + name:34} {f['rps']:8.0f} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f}")
    print()
    print("prepared statements, 32 connections, nothing pinned; CPU ms per request: service / PostgreSQL / pooler / wrk")
    for path_name, modes in r["prepared"].items():
        if path_name == "pgbench_list_statements_per_s":
            continue
        for mode, endpoints in modes.items():
            if mode == "service_over_ceiling":
                continue
            for name, f in endpoints.items():
                c = f["cpu_ms_per_request"]
                print(f"{path_name:16} {mode:11} {name:18} {f['rps']:7.0f} req/s  p99 {f['p99_ms']:6.1f} ms   {c['service']:.3f} / {c['postgres']:.3f} / {c['pooler']:.3f} / {c['wrk']:.3f}")
        if "service_over_ceiling" in modes:
            o = modes["service_over_ceiling"]
            print(f"{path_name:16} prepared service over the ceiling, list: CPU per request {o['cpu_per_list_request']}×, req/s {o['list_rps']}×, p99 {o['list_p99']}× (median of paired rounds; goal ≤ 1.5×)")
    for path_name, modes in r["prepared"]["pgbench_list_statements_per_s"].items():
        print(f"pgbench, the list statement alone, {path_name}: unprepared {modes['unprepared']:.0f}/s, prepared {modes['prepared']:.0f}/s")
    print(f"list through the pooler, prepared over unprepared: {r['ratios']['prepared_over_unprepared_list']}×; over EF Core: {r['ratios']['prepared_list_over_efcore']}×")
    if "prepared_over_baseline" in r["ratios"]:
        print(f"prepared over the baseline revision ({r['baseline']['revision']}), through the pooler: {r['ratios']['prepared_over_baseline']}")
        b = r["baseline"]
        print(f"start-up, memory, size against the baseline: cold start {b['cold_start_ratio']}×, idle RSS {b['idle_rss_ratio']}×, binary {b['binary_ratio']}×")
    if "idle_trim" in r:
        t = r["idle_trim"]
        print(f"idle RSS without / with the idle trim: {t['idle_rss_mb']['off']} / {t['idle_rss_mb']['on']} MB (goal ≤ 36 MB without); "
              f"first request after a quiet spell, p99: {t['first_request_after_idle_ms']['off']['p99']} / {t['first_request_after_idle_ms']['on']['p99']} ms")
    mo = r["metrics_on"]
    print(f"metrics on against off, same binary: cold start {mo['cold_start_ratio']}× ({mo['cold_start']['median_ms']} ms), idle RSS {mo['idle_rss_ratio']}× ({mo['cold_start']['idle_rss_mb']} MB)")
    print()
    print(f"{'database 40 ms away (4 connections)':40} {'p50 ms':>8} {'≈ round trips':>14}")
    for name, f in r["far_database"]["endpoints"].items():
        print(f"{name:40} {f['p50_ms']:8.1f} {f['round_trips']:14}")
    if "largest_requests" in r:
        print()
        print(f"{'largest bodies (1 MiB), worst CPU per request':44} {'ms':>6}   case (status)   goal ≤ 50 ms")
        for w in r["largest_requests"]["worst_cpu_per_endpoint"]:
            print(f"{w['endpoint']:44} {w['cpu_ms']:6.1f}   {w['case']} ({w['status']})")
        for line in r["largest_requests"]["memory"]:
            print(line)
    e = r["edge_cache"]
    print()
    print(f"{'edge cache: reads, database 40 ms away':40} {'p50 to the db':>14} {'p50 cache hit':>14}   goal: hit ≤ 1 ms")
    for name, f in e["far_reads"].items():
        print(f"{name:40} {f['primary_far_p50_ms']:14.1f} {f['cache_hit_p50_ms']:14.2f}")
    t, p = e["list_throughput"], e["propagation"]
    print(f"cached anonymous list, 32 connections: {t['cached']['rps']:.0f} req/s vs {t['uncached']['rps']:.0f} uncached = {t['ratio']}× (goal ≥ 20×)")
    if "signed_in" in e:
        s = e["signed_in"]
        print(f"{'signed-in reads, database 40 ms away':40} {'database p50/p99':>18} {'cache p50/p99':>16} {'hits':>7}   goal: p50 ≤ 1, p99 ≤ 5 ms")
        for name in ("list", "article", "profile", "comments"):
            f = s[name]
            print(f"{name:40} {f['database']['p50_ms']:8.1f} {f['database']['p99_ms']:8.1f} {f['cache']['p50_ms']:7.2f} {f['cache']['p99_ms']:7.2f} {f['cache_hit_share']:7.1%}")
        t = s["list_throughput"]
        print(f"signed-in list, 32 connections: cache {t['cache_rps']:.0f} req/s vs database path {t['database_rps']:.0f} = {t['ratio']}× (goal ≥ 10×)")
        if "propagation" in s:
            p = s["propagation"]
            print(f"another user's comment, seen signed in on another instance: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms after its commit (goal ≤ RTT/2 + 10 = 30 ms); stale reads {p['stale_reads']}")
        if "own_writes_elsewhere" in s:
            o = s["own_writes_elsewhere"]
            for mode in ("without_peers", "with_peers"):
                f = o[mode]
                print(f"the reader's favorite on one instance, read at once on another, {mode.replace('_', ' ')}: {f['stale_reads']} stale of {o['iterations']}; "
                      f"favorite p50 {f['write_p50_ms']} ms, p99 {f['write_p99_ms']} ms (goal: 0 stale)")
    rp = r["replica"]
    print(f"{'read replica near, primary 40 ms away':40} {'p50 primary':>14} {'p50 replica':>14}   goal: replica ≤ 5 ms")
    for name, f in rp["reads"].items():
        print(f"{name:40} {f['primary_far_p50_ms']:14.1f} {f['replica_near_p50_ms']:14.2f}")
    for name, f in rp["writes"].items():
        print(f"{name + ', with the replica wait':40} p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms (goal ≤ 1.5 × 40 = 60 ms)")
    print(f"stale reads after one's own write: {rp['stale_reads']} of {rp['writes_read_back']} (goal 0)")
    if "sessions" in rp:
        sessions = rp["sessions"]
        for name in ("without a replica", "without faults", "with faults"):
            f = sessions[name]
            print(f"{sessions['writers']} writers, {name} ({f['seconds']} s): {f['reads_checked']} reads checked, {len(f['violations'])} stale, "
                  f"{f['errors']} errors, {f['not_found']} 404s; writes p50 {f['write_p50_ms']} ms, p99 {f['write_p99_ms']} ms"
                  + (f"; waits timed out {f['waits_timed_out']}" if "waits_timed_out" in f else ""))
        print(f"replica lag after 60 s without requests: {sessions['lag_after_60_s_idle_s']} s (goal 0)")
    print(f"invalidation, commit → eviction on another instance ({p['iterations']} writes): p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms "
          f"(goal ≤ {p['round_trip_ms'] / 2 + 10:.0f} ms); comment write p50 {p['write_p50_ms']} ms; stale reads {p['stale_reads']} (goal 0)")
    if "deploy" in r:
        d = r["deploy"]
        print()
        print(f"deploy drill: the previous release {d['previous_release']} serves {d['clients']} clients; the build migrates and replaces it (goals: stall ≤ 250 ms, 0 failed, p99 during ≤ 2× before)")
        for label, run in d["runs"].items():
            p = run["phases"]
            print(f"{label:24} migrate {run['migrate_s']:6.1f} s   stall {run['longest_articles_stall_ms']:8.1f} ms   failed {run['failed_total']:4}   "
                  f"p99 before/during/after {p['before']['p99_ms']}/{p['during']['p99_ms']}/{p['after']['p99_ms']} ms   max {p['during']['max_ms']} ms")
