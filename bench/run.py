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

usage: run.py ARTIFACTS DATABASE_URL OUTPUT_DIR [--quick] [--baseline REV]
"""
import asyncio
import http.client
import json
import os
import platform
import re
import resource
import shutil
import tempfile
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SECRET = "bench-secret-bench-secret-bench-secret-0123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def request(port, method, path, body=None, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


class Server:
    """A server process pinned to CPU 0, started and waited for."""

    def __init__(self, command, database_url, ready_path="/api/articles", pinned=True, **settings):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, PORT=str(self.port),
                   AUTH_RATE_LIMIT="1000000", Logging__LogLevel__Default="Warning", ASPNETCORE_ENVIRONMENT="Production", **settings)
        self.process = subprocess.Popen([*(["taskset", "-c", "0"] if pinned else []), *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                if request(self.port, "GET", ready_path)[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.05)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait()


def cpu_ticks(pids):
    """User + system CPU of these processes so far, in clock ticks ({pid: ticks})."""
    ticks = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                ticks[pid] = int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks


def pids_named(name):
    return [int(p) for p in subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()]


def measured(port, path, seconds, token, service_pid, database_url, pooler_pid=None):
    """wrk at 32 connections, with the CPU each request cost the service, PostgreSQL (all its
    processes), the pooler and wrk itself (from /proc and the kernel's accounting of wrk)."""
    hz = os.sysconf("SC_CLK_TCK")
    before = {"service": cpu_ticks([service_pid]), "postgres": cpu_ticks(pids_named("postgres")),
              "pooler": cpu_ticks([pooler_pid] if pooler_pid else [])}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = wrk(port, path, seconds, 32, token, pinned=False)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = {"service": cpu_ticks([service_pid]), "postgres": cpu_ticks(pids_named("postgres")),
             "pooler": cpu_ticks([pooler_pid] if pooler_pid else [])}
    n = max(1, figures["requests"])
    cpu = {}
    for owner in before:
        # Processes that came during the run count from zero; ones that left, until they left.
        spent = sum(after[owner].get(pid, ticks) - ticks for pid, ticks in before[owner].items())
        spent += sum(ticks for pid, ticks in after[owner].items() if pid not in before[owner])
        cpu[owner] = round(spent / hz * 1000 / n, 3)
    cpu["wrk"] = round((children_after.ru_utime + children_after.ru_stime - children.ru_utime - children.ru_stime) * 1000 / n, 3)
    figures["cpu_ms_per_request"] = cpu
    return figures


def sql(statement, database_url):
    """One statement through psql; its single value."""
    return subprocess.run(["psql", database_url, "-XtAc", statement], capture_output=True, text=True, check=True).stdout.strip()


class PgBouncer:
    """PgBouncer 1.25 in transaction mode with max_prepared_statements, as Neon's pooler."""

    def __init__(self, binary, database_url):
        self.dir = tempfile.mkdtemp(prefix="blog-bench-pgbouncer-")
        self.port = free_port()
        target_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
        with open(os.path.join(self.dir, "users.txt"), "w") as users:
            users.write('"postgres" ""\n')
        with open(os.path.join(self.dir, "pgbouncer.ini"), "w") as config:
            config.write(f"""[databases]
* = host=127.0.0.1 port={target_port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir}/users.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
max_prepared_statements = 200
ignore_startup_parameters = extra_float_digits
""")
        shutil.chown(self.dir, "postgres") if os.geteuid() == 0 else None
        for name in os.listdir(self.dir):
            shutil.chown(os.path.join(self.dir, name), "postgres") if os.geteuid() == 0 else None
        runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen([*runas, binary, os.path.join(self.dir, "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        self.pid = next(p for p in pids_named("pgbouncer") if os.path.exists(f"/proc/{p}"))
        self.url = via(database_url, self.port)

    def close(self):
        self.process.terminate()
        subprocess.run(["pkill", "-f", os.path.join(self.dir, "pgbouncer.ini")])
        shutil.rmtree(self.dir, ignore_errors=True)


def pgbench(url, statement, seconds, mode):
    """The database alone: pgbench running one statement, constant values, 32 clients (-M mode)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(statement + ";\n")
    os.chmod(script.name, 0o644)
    output = subprocess.run([os.path.join(os.environ["PG_BIN"], "pgbench"), "-n", "-c", "32", "-j", "1", "-T", str(seconds), "-M", mode, "-f", script.name, url],
                            capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    return round(float(re.search(r"tps = ([0-9.]+)", output).group(1)), 1)


def prepared_statements(aot, ceiling_binary, database_url, seconds, token, slug, baseline=None):
    """Each endpoint with statements prepared and not, directly and through PgBouncer 1.25, and
    the baseline revision's binary (as it was before) when there is one. Nothing is pinned
    here: the service, PostgreSQL, the pooler and wrk share both cores, as they would share a
    machine, and the CPU each spends per request says which of them bounds the figure."""
    postmaster = int(open(os.path.join(os.environ["PG_DATA"], "postmaster.pid")).readline())
    subprocess.run(["taskset", "-p", "-c", "0,1", str(postmaster)], capture_output=True, check=True)  # new backends may use both cores
    paths = {"direct": (database_url, None)}
    pooler = None
    if os.environ.get("PGBOUNCER_125"):
        pooler = PgBouncer(os.environ["PGBOUNCER_125"], database_url)
        paths["PgBouncer 1.25"] = (pooler.url, pooler.pid)
    endpoints = {
        "list (anonymous)": ("/api/articles", None),
        "list (signed in)": ("/api/articles", token),
        "tag list": ("/api/articles?tag=topic1", None),
        "feed": ("/api/articles/feed", token),
        "article": (f"/api/articles/{slug}", None),
    }
    # Three rounds, each mode's server in turn and the order rotated every round; each figure is
    # the round with the median throughput. This machine's speed drifts by tens of percent over
    # minutes: measured one after the other, a mode measured in a slow minute lost by that alone.
    rounds, round_seconds = 3, max(2, seconds // 2)
    samples = {}
    try:
        for path_name, (url, pooler_pid) in paths.items():
            modes = [("unprepared", aot, "off"), ("prepared", aot, "on")] + ([("baseline", baseline, "off")] if baseline else [])
            for turn in range(rounds):
                for mode, binary, setting in modes[turn % len(modes):] + modes[:turn % len(modes)]:
                    with Server(binary, url, pinned=False, PREPARED_STATEMENTS=setting) as service:
                        for name, (path, auth) in endpoints.items():
                            wrk(service.port, path, 2, 32, auth, pinned=False)  # warm: prepared on each connection
                            figures = measured(service.port, path, round_seconds, auth, service.process.pid, database_url, pooler_pid)
                            samples.setdefault(path_name, {}).setdefault(mode, {}).setdefault(name, []).append(figures)
        results = {}
        for path_name, by_mode in samples.items():
            for mode, by_name in by_mode.items():
                for name, runs in by_name.items():
                    figures = dict(sorted(runs, key=lambda f: f["rps"])[len(runs) // 2], rps_rounds=[f["rps"] for f in runs])
                    results.setdefault(path_name, {}).setdefault(mode, {})[name] = figures
                    print(f"  {path_name}, {mode}, {name}: {figures['rps']:.0f} req/s (rounds: {', '.join(f'{r:.0f}' for r in figures['rps_rounds'])}); "
                          "CPU ms per request: " + ", ".join(f"{k} {v}" for k, v in figures["cpu_ms_per_request"].items()))
        # The database alone, running the service's list statement (as the ceiling prints it) with constant values.
        list_statement = subprocess.run([*ceiling_binary, "--list-sql"], capture_output=True, text=True, check=True).stdout
        statement = re.sub(r"@me\b", "NULL::bigint", re.sub(r"@offset\b", "0", re.sub(r"@limit\b", "20", list_statement)))
        ceiling = {}
        for path_name, (url, _) in paths.items():
            for mode, protocol in (("unprepared", "extended"), ("prepared", "prepared")):
                ceiling.setdefault(path_name, {})[mode] = pgbench(url, statement, seconds, protocol)
                print(f"  pgbench list statement, {path_name}, {mode}: {ceiling[path_name][mode]} statements/s")
        results["pgbench_list_statements_per_s"] = ceiling
    finally:
        if pooler:
            pooler.close()
        subprocess.run(["taskset", "-p", "-c", "1", str(postmaster)], capture_output=True)
    return results


def wrk_command(port, path, seconds, connections, token=None, pinned=True):
    """wrk, one thread, on CPU 1 unless unpinned; it prints report.lua's JSON line last."""
    return [*(["taskset", "-c", "1"] if pinned else []), "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
            "-s", os.path.join(HERE, "report.lua"), *(["-H", f"Authorization: Token {token}"] if token else []),
            f"http://127.0.0.1:{port}{path}"]


def wrk(port, path, seconds, connections, token=None, pinned=True):
    output = subprocess.run(wrk_command(port, path, seconds, connections, token, pinned), capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def cold_start(command, database_url, runs, **settings):
    return cold_starts({"only": {"command": command, "env": settings}}, database_url, runs)["only"]


def cold_starts(variants, database_url, runs):
    """Several variants' cold starts, measured in turn (coldstart.py --variants)."""
    env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, ASPNETCORE_ENVIRONMENT="Production")
    output = subprocess.run([sys.executable, os.path.join(HERE, "coldstart.py"), str(runs), "/api/articles", "--variants", json.dumps(variants)],
                            env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output)


class DelayProxy:
    """TCP proxy adding DELAY seconds each way: ../shared/tools/latency-proxy.py when it is
    there (the team's tool), else the same behaviour in-process."""

    def __init__(self, target_port, delay_ms=20):
        self.port = free_port()
        tool = next((p for p in [os.environ.get("LATENCY_PROXY", ""), os.path.join(REPO, "..", "shared", "tools", "latency-proxy.py"),
                                 "/work/shared/tools/latency-proxy.py"] if p and os.path.exists(p)), None)
        self.process = None
        if tool:
            self.process = subprocess.Popen(["taskset", "-c", "1", sys.executable, tool, str(self.port), str(target_port), str(delay_ms)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            threading.Thread(target=lambda: asyncio.run(self._serve(target_port, delay_ms / 1000)), daemon=True).start()
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # Relative to the repository: committed results never carry a machine's own paths.
        self.tool = os.path.relpath(os.path.realpath(tool), REPO) if tool else "built-in"

    async def _serve(self, target_port, delay):
        async def pump(reader, writer):
            queue = asyncio.Queue()

            async def send():
                while (item := await queue.get()) is not None:
                    due, data = item
                    await asyncio.sleep(max(0, due - time.monotonic()))
                    writer.write(data)
                    await writer.drain()
                writer.close()
            task = asyncio.create_task(send())
            while data := await reader.read(65536):
                queue.put_nowait((time.monotonic() + delay, data))
            queue.put_nowait(None)
            await task

        async def handle(client_reader, client_writer):
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
            await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer), return_exceptions=True)

        server = await asyncio.start_server(handle, "127.0.0.1", self.port)
        await server.serve_forever()

    def close(self):
        if self.process:
            self.process.terminate()


def via(database_url, port):
    """The same database URL with another port (the proxy's)."""
    head, _, rest = database_url.rpartition(":")
    return f"{head}:{port}/{rest.split('/', 1)[1]}"


def main():
    if sys.argv[1] == "--chart":  # redraw bench/results/latest.svg from latest.json
        with open(os.path.join(sys.argv[2], "latest.json")) as saved:
            chart(json.load(saved), sys.argv[2])
        return
    artifacts, database_url, output_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    quick = "--quick" in sys.argv
    seconds, runs = (3, 3) if quick else (10, 7)
    aot = [os.path.join(artifacts, "aot", "Blog.Api")]
    jit = [os.path.join(artifacts, "jit", "Blog.Api")]
    ceiling = [os.path.join(artifacts, "ceiling", "Blog.Bench.Ceiling")]
    efcore = ["dotnet", os.path.join(artifacts, "efcore", "Blog.Bench.EfCore.dll")]
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.processor() or platform.machine()}, Linux {platform.release()}",
        "data": "10,000 users, 100,000 articles (bench/seed.sql)",
        "pinning": "server on CPU 0; wrk, PostgreSQL and the latency proxy on CPU 1 (taskset)",
    }

    print("cold start (exec → first GET /api/articles 200), median of", runs, "runs each")
    # The service, with metrics on (the operability budget: a Prometheus port, every meter
    # listened to, traces off) and the baseline revision run in turn, so they compare fairly.
    variants = {"aot": {"command": aot}, "metrics_on": {"command": aot, "env": {"METRICS_PORT": str(free_port())}}}
    if "--baseline" in sys.argv:
        baseline = [os.path.join(artifacts, "baseline", "Blog.Api")]
        variants["baseline"] = {"command": baseline}
    starts = cold_starts(variants, database_url, max(runs, 5))
    results["cold_start"] = {"aot": starts["aot"], "jit": cold_start(jit, database_url, max(3, runs // 2)),
                             "ceiling": cold_start(ceiling, database_url, 3)}
    results["cold_start"]["jit_over_aot"] = round(results["cold_start"]["jit"]["median_ms"] / results["cold_start"]["aot"]["median_ms"], 1)
    results["size"] = {"aot_binary_mb": round(os.path.getsize(aot[0]) / 2**20, 1)}
    on = starts["metrics_on"]
    results["metrics_on"] = {"cold_start": on, "cold_start_ratio": round(on["median_ms"] / results["cold_start"]["aot"]["median_ms"], 2),
                             "idle_rss_ratio": round(on["idle_rss_mb"] / results["cold_start"]["aot"]["idle_rss_mb"], 2)}
    print(f"  metrics on: {on['median_ms']} ms, idle {on['idle_rss_mb']} MB")
    if "--baseline" in sys.argv:
        # The same figures for an earlier revision, built and measured in this run.
        figures = starts["baseline"]
        results["baseline"] = {"revision": sys.argv[sys.argv.index("--baseline") + 1], "cold_start": figures,
                               "binary_mb": round(os.path.getsize(baseline[0]) / 2**20, 1),
                               "cold_start_ratio": round(results["cold_start"]["aot"]["median_ms"] / figures["median_ms"], 2),
                               "idle_rss_ratio": round(results["cold_start"]["aot"]["idle_rss_mb"] / figures["idle_rss_mb"], 2),
                               "binary_ratio": round(os.path.getsize(aot[0]) / os.path.getsize(baseline[0]), 3)}
        print(f"  baseline {results['baseline']['revision']}: {figures['median_ms']} ms, idle {figures['idle_rss_mb']} MB, {results['baseline']['binary_mb']} MiB")

    with Server(aot, database_url) as service:
        # The service finds out how it reaches the database half a second after its first
        # request, then prepares its statements on a new pool (Db): measure after that switch.
        time.sleep(1)
        status, body = request(service.port, "POST", "/api/users/login", {"user": {"email": "user1@example.com", "password": "demo-password"}})
        token = json.loads(body)["user"]["token"]
        newest = json.loads(request(service.port, "GET", "/api/articles?limit=1")[1])["articles"][0]
        slug, author = newest["slug"], newest["author"]["username"]
        endpoints = {
            "list (anonymous)": ("/api/articles", None),
            "list (signed in)": ("/api/articles", token),
            "article": (f"/api/articles/{slug}", None),
            "feed": ("/api/articles/feed", token),
        }
        results["memory"] = {
            "idle_rss_mb": results["cold_start"]["aot"]["idle_rss_mb"],
            "rss_1s_mb": results["cold_start"]["aot"]["rss_1s_mb"],
            "jit_idle_rss_mb": results["cold_start"]["jit"]["idle_rss_mb"],
            "ceiling_idle_rss_mb": results["cold_start"]["ceiling"]["idle_rss_mb"],
            "after_sign_in_rss_mb": rss(service.process.pid),
        }
        throughput = {}
        for name, (path, auth) in endpoints.items():
            wrk(service.port, path, 2, 32, auth)  # warm
            throughput[name] = wrk(service.port, path, seconds, 32, auth)
            print(f"  service {name}: {throughput[name]['rps']:.0f} req/s")
        results["memory"]["peak_rss_under_load_mb"] = rss(service.process.pid, "VmHWM")
        results["throughput"] = {"service": throughput}

    print("prepared statements, directly and through PgBouncer 1.25")
    baseline_binary = [os.path.join(artifacts, "baseline", "Blog.Api")] if "--baseline" in sys.argv else None
    results["prepared"] = prepared_statements(aot, ceiling, database_url, seconds, token, slug, baseline_binary)

    for name, command in (("ceiling", ceiling), ("efcore", efcore)):
        with Server(command, database_url) as baseline:
            wrk(baseline.port, "/api/articles", 2, 32)
            results["throughput"][name] = {"list (anonymous)": wrk(baseline.port, "/api/articles", seconds, 32)}
            print(f"  {name} list (anonymous): {results['throughput'][name]['list (anonymous)']['rps']:.0f} req/s")
    service_list = results["throughput"]["service"]["list (anonymous)"]["rps"]
    results["ratios"] = {
        "service_over_ceiling": round(service_list / results["throughput"]["ceiling"]["list (anonymous)"]["rps"], 3),
        "service_over_efcore": round(service_list / results["throughput"]["efcore"]["list (anonymous)"]["rps"], 2),
    }

    # Far database: p50 at low concurrency, against the local p50, in 40 ms round trips.
    target_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    proxy = DelayProxy(target_port)
    far = {}
    try:
        far_url = via(database_url, proxy.port)
        with Server(aot, far_url) as service:
            for name, (path, auth) in endpoints.items():
                wrk(service.port, path, 2, 4, auth)
                figures = wrk(service.port, path, seconds, 4, auth)
                far[f"service {name}"] = figures
        with Server(efcore, far_url) as baseline:
            wrk(baseline.port, "/api/articles", 2, 4)
            far["efcore list (anonymous)"] = wrk(baseline.port, "/api/articles", seconds, 4)
    finally:
        proxy.close()
    for name, figures in far.items():
        figures["round_trips"] = round(figures["p50_ms"] / 40, 1)
    pooled = results["prepared"].get("PgBouncer 1.25", results["prepared"]["direct"])
    results["ratios"]["prepared_over_unprepared_list"] = round(pooled["prepared"]["list (anonymous)"]["rps"] / pooled["unprepared"]["list (anonymous)"]["rps"], 2)
    results["ratios"]["prepared_list_over_efcore"] = round(pooled["prepared"]["list (anonymous)"]["rps"] / results["throughput"]["efcore"]["list (anonymous)"]["rps"], 2)
    if "baseline" in pooled:
        results["ratios"]["prepared_over_baseline"] = {name: round(f["rps"] / pooled["baseline"][name]["rps"], 2) for name, f in pooled["prepared"].items()}
    results["far_database"] = {"one_way_delay_ms": 20, "proxy": proxy.tool, "connections": 4, "endpoints": far}

    if os.environ.get("HOSTILE_REPORT"):
        results["largest_requests"] = largest_requests(os.environ["HOSTILE_REPORT"])

    print("edge cache (anonymous reads; the database 40 ms away where it says so)")
    proxy = DelayProxy(target_port)
    try:
        results["edge_cache"] = edge_cache(aot, database_url, via(database_url, proxy.port), seconds, token, slug, author,
                                           results["throughput"]["service"]["list (anonymous)"], 30 if quick else 200)
    finally:
        proxy.close()

    print("the dashboard's panels, from /metrics under load")
    results["dashboard"] = dashboard(aot, database_url, token, slug, 3 if quick else 6)

    print("read replicas (scripts/replica-pair: the primary and its WAL 40 ms away, the replica near)")
    results["replica"] = replica_reads(aot, seconds, 20 if quick else 100)

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "latest.json"), "w") as out:
        json.dump(results, out, indent=1)
        out.write("\n")
    chart(results, output_dir)
    chart_prepared(results, output_dir)
    chart_edge(results, output_dir)
    chart_dashboard(results, output_dir)
    print_table(results)


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
        for mode in ("baseline", "unprepared", "prepared"):
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
set multiplot layout 1,2 title "Prepared statements, {r['date']} (bench/run)"
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


def fetch(port, method, path, body=None, token=None):
    """One request; (status, body, headers) with the headers lower-cased."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}


def until_cached(port, path):
    """Reads until the edge cache answers (its listener is connected), within 15 s."""
    deadline = time.time() + 15
    while time.time() < deadline:
        if "age" in fetch(port, "GET", path)[2]:
            return
        time.sleep(0.02)
    raise RuntimeError(f"the edge cache never answered {path}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def edge_cache(aot, database_url, far_url, seconds, token, slug, author, uncached_list, iterations):
    """The edge cache (#14, part 1): reads with the database 40 ms away, uncached against cache
    hits; cached list throughput against uncached; and how long a write on one instance takes
    to evict the answer on another, both far from the database."""
    r = {}
    with Server(aot, database_url, DIRECT_DATABASE_URL=database_url) as edge:
        until_cached(edge.port, "/api/articles")
        wrk(edge.port, "/api/articles", 2, 32)
        cached = wrk(edge.port, "/api/articles", seconds, 32)
    r["list_throughput"] = {"uncached": uncached_list, "cached": cached, "ratio": round(cached["rps"] / uncached_list["rps"], 1)}
    print(f"  list, 32 connections: cached {cached['rps']:.0f} req/s vs uncached {uncached_list['rps']:.0f} ({r['list_throughput']['ratio']}×)")

    reads = {"list": "/api/articles", "article": f"/api/articles/{slug}", "profile": f"/api/profiles/{author}", "tags": "/api/tags"}
    far = {}
    with Server(aot, far_url) as plain, Server(aot, far_url, DIRECT_DATABASE_URL=far_url) as edge:
        for name, path in reads.items():
            wrk(plain.port, path, 1, 4)
            until_cached(edge.port, path)
            far[name] = {"primary_far_p50_ms": wrk(plain.port, path, seconds, 4)["p50_ms"],
                         "cache_hit_p50_ms": wrk(edge.port, path, seconds, 4)["p50_ms"]}
            print(f"  {name}: database 40 ms away {far[name]['primary_far_p50_ms']:.1f} ms, cache hit {far[name]['cache_hit_p50_ms']:.2f} ms (p50)")
    r["far_reads"] = far

    # Propagation: A writes a comment; B, polled as fast as it answers, shows it. The commit is
    # taken to be one one-way delay (20 ms) before A's answer arrives; an eviction between the
    # last stale read and the first fresh one is dated by the first fresh read's start.
    with Server(aot, far_url, DIRECT_DATABASE_URL=far_url) as a, Server(aot, far_url, DIRECT_DATABASE_URL=far_url) as b:
        # The token signed in at the start (a sign-in here, 40 ms from the database, once failed the run).
        article = json.loads(fetch(a.port, "POST", "/api/articles", {"article": {"title": "Propagation", "description": "d", "body": "b"}}, token)[1])["article"]["slug"]
        comments = f"/api/articles/{article}/comments"
        until_cached(b.port, comments)
        until_cached(a.port, comments)
        delays, writes, stale = [], [], 0
        for i in range(iterations):
            while "age" not in fetch(b.port, "GET", comments)[2]:
                time.sleep(0.005)
            started = time.time()
            status, body, _ = fetch(a.port, "POST", comments, {"comment": {"body": f"comment {i}"}}, token)
            answered = time.time()
            writes.append((answered - started) * 1000)
            new_id = json.loads(body)["comment"]["id"]
            ids = lambda port: {c["id"] for c in json.loads(fetch(port, "GET", comments)[1])["comments"]}
            # B first: a read on A before it would delay the polling by A's own round trip.
            while True:
                polled = time.time()
                if new_id in ids(b.port):
                    break
            delays.append(max(0.0, (polled - (answered - 0.020)) * 1000))
            if new_id not in ids(b.port):
                stale += 1
            if new_id not in ids(a.port):
                stale += 1  # the writer read its own write stale
    r["propagation"] = {"iterations": iterations, "p50_ms": round(percentile(delays, 50), 1), "p99_ms": round(percentile(delays, 99), 1),
                        "write_p50_ms": round(percentile(writes, 50), 1), "stale_reads": stale, "round_trip_ms": 40}
    p = r["propagation"]
    print(f"  propagation, commit to eviction on the other instance: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms; comment write p50 {p['write_p50_ms']} ms; stale reads {stale}")
    return r


def replica_reads(aot, seconds, iterations):
    """Read replicas (#14, part 2), on scripts/replica-pair with 20 ms each way to the primary
    (and for its WAL), seeded with the demo data: reads with the primary far against the
    replica near, writes that wait for the replica, and stale reads after one's own writes."""
    folder = f"/tmp/blog-bench-pair-{os.getpid()}"
    script = os.path.join(REPO, "scripts", "replica-pair")
    ports = json.loads(subprocess.run([sys.executable, script, "start", folder, "20"], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    url = lambda port: f"postgres://postgres@127.0.0.1:{port}/postgres"
    try:
        env = dict(os.environ, DATABASE_URL=url(ports["primary"]), JWT_SECRET=SECRET)
        for command in ("migrate", "seed"):
            subprocess.run([*aot, command], env=env, check=True, capture_output=True)
        far, near = url(ports["primary_far"]), url(ports["replica"])
        r = {"one_way_delay_ms": ports["delay_ms"], "reads": {}, "writes": {}}
        with Server(aot, far) as plain, Server(aot, far, READ_REPLICA_URL=near) as replicated:
            newest = json.loads(fetch(plain.port, "GET", "/api/articles?limit=1")[1])["articles"][0]
            reads = {"list": "/api/articles", "article": f"/api/articles/{newest['slug']}",
                     "profile": f"/api/profiles/{newest['author']['username']}", "tags": "/api/tags"}
            deadline = time.time() + 20
            while "serving reads" not in fetch(replicated.port, "GET", "/health/ready")[1].decode():
                fetch(replicated.port, "GET", "/api/tags")
                if time.time() > deadline:
                    raise RuntimeError("the replica never served reads")
                time.sleep(0.1)
            for name, path in reads.items():
                wrk(plain.port, path, 1, 4)
                wrk(replicated.port, path, 1, 4)
                r["reads"][name] = {"primary_far_p50_ms": wrk(plain.port, path, seconds, 4)["p50_ms"],
                                    "replica_near_p50_ms": wrk(replicated.port, path, seconds, 4)["p50_ms"]}
                print(f"  {name}: primary 40 ms away {r['reads'][name]['primary_far_p50_ms']:.1f} ms, replica near {r['reads'][name]['replica_near_p50_ms']:.2f} ms (p50)")

            # Writes, each read back at once through the same instance (read-your-writes).
            name = f"bench{os.getpid()}"
            body = {"user": {"username": name, "email": f"{name}@example.com", "password": "bench-password"}}
            token = json.loads(fetch(replicated.port, "POST", "/api/users", body)[1])["user"]["token"]
            slug = newest["slug"]
            timings, stale = {"create article": [], "favorite": [], "comment": []}, 0
            for i in range(iterations):
                started = time.time()
                created = json.loads(fetch(replicated.port, "POST", "/api/articles", {"article": {"title": f"Replica {i}", "description": "d", "body": "b"}}, token)[1])["article"]["slug"]
                timings["create article"].append((time.time() - started) * 1000)
                stale += fetch(replicated.port, "GET", f"/api/articles/{created}")[0] != 200
                started = time.time()
                fetch(replicated.port, "POST" if i % 2 == 0 else "DELETE", f"/api/articles/{slug}/favorite", None, token)
                timings["favorite"].append((time.time() - started) * 1000)
                stale += json.loads(fetch(replicated.port, "GET", f"/api/articles/{slug}", None, token)[1])["article"]["favorited"] != (i % 2 == 0)
                started = time.time()
                comment = json.loads(fetch(replicated.port, "POST", f"/api/articles/{slug}/comments", {"comment": {"body": f"c {i}"}}, token)[1])["comment"]["id"]
                timings["comment"].append((time.time() - started) * 1000)
                stale += comment not in {c["id"] for c in json.loads(fetch(replicated.port, "GET", f"/api/articles/{slug}/comments")[1])["comments"]}
            for kind, values in timings.items():
                r["writes"][kind] = {"p50_ms": round(percentile(values, 50), 1), "p99_ms": round(percentile(values, 99), 1)}
                print(f"  {kind}: p50 {r['writes'][kind]['p50_ms']} ms with the replica wait (round trip 40 ms)")
            r["stale_reads"], r["writes_read_back"] = stale, iterations * 3
            print(f"  stale reads after one's own write: {stale} of {iterations * 3}")
        return r
    finally:
        subprocess.run([sys.executable, script, "stop", folder], capture_output=True)


def chart_edge(r, output_dir):
    """bench/results/edge.svg: reads with the database 40 ms away, without and with the edge cache."""
    e = r["edge_cache"]
    replica = r["replica"]["reads"]
    with open(os.path.join(output_dir, "edge.dat"), "w") as data:
        data.writelines(f'"{name}" {f["primary_far_p50_ms"]} {replica[name]["replica_near_p50_ms"]} {f["cache_hit_p50_ms"]}\n' for name, f in e["far_reads"].items())
    p = e["propagation"]
    script = f"""
set terminal svg size 900,420 font 'sans,11' background '#ffffff'
set output '{output_dir}/edge.svg'
set title "Primary 40 ms away: p50 of anonymous reads (ms), {r['date']}\\ninvalidation on another instance: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms; cached list {e['list_throughput']['ratio']}× the uncached throughput"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 noborder
set grid ytics lc rgb '#dddddd'
set yrange [0:*]
set key top right
plot '{output_dir}/edge.dat' using 2:xtic(1) title 'to the primary' lc rgb '#dd6b20', '' using 3 title 'replica near' lc rgb '#38a169', '' using 4 title 'edge cache hit' lc rgb '#2b6cb0'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(os.path.join(output_dir, "edge.dat"))


def scrape(port):
    """The binary's /metrics as {(name, labels as a frozenset): value}."""
    samples = {}
    for line in fetch(port, "GET", "/metrics")[1].decode().splitlines():
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$', line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2)))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def dashboard_panels(before, after, seconds):
    """The dashboard's panels for one scrape interval, computed as its PromQL would."""
    def total(name, keep=lambda labels: True):
        return sum(v for (n, labels), v in after.items() if n == name and keep(dict(labels))) - \
            sum(v for (n, labels), v in before.items() if n == name and keep(dict(labels)))
    api = lambda labels: labels.get("http_route") != "/metrics"
    requests = total("http_server_request_duration_seconds_count", api)
    errors = total("http_server_request_duration_seconds_count", lambda l: api(l) and l.get("http_response_status_code", "").startswith(("4", "5")))
    buckets = {}
    for (n, labels), v in after.items():
        labels = dict(labels)
        if n == "http_server_request_duration_seconds_bucket" and api(labels):
            key = (n, frozenset(labels.items()))
            buckets[labels["le"]] = buckets.get(labels["le"], 0) + v - before.get(key, 0)
    bounds = sorted(((float("inf") if le == "+Inf" else float(le)), count) for le, count in buckets.items())

    def quantile(q):  # histogram_quantile: linear within the bucket
        if not bounds or bounds[-1][1] == 0:
            return 0.0
        rank, lower, below = q * bounds[-1][1], 0.0, 0.0
        for upper, count in bounds:
            if count >= rank:
                if upper == float("inf"):
                    return lower * 1000
                return (lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)) * 1000
            lower, below = upper, count
        return lower * 1000
    used = sum(v for (n, labels), v in after.items() if n == "db_client_connection_count" and
               dict(labels).get("db_client_connection_state") == "used" and dict(labels).get("db_client_connection_pool_name") == "primary")
    hits = total("blog_cache_lookups_total", lambda l: l.get("result") == "hit")
    lookups = total("blog_cache_lookups_total")
    return {"rps": round(requests / seconds, 1), "errors_rps": round(errors / seconds, 1), "p50_ms": round(quantile(0.5), 3),
            "p99_ms": round(quantile(0.99), 3), "pool_used": used, "cache_hit_pct": round(100 * hits / lookups, 1) if lookups else None}


def dashboard(aot, database_url, token, slug, phase_seconds):
    """The Grafana dashboard's panels (docs/grafana-dashboard.json), drawn from the binary's own
    /metrics while it serves three phases of load: anonymous reads (the edge cache), signed-in
    reads (the database) and articles with some misses (404s). bench/results/dashboard.svg
    stands in for a screenshot of the dashboard (no Grafana on this machine)."""
    metrics_port = free_port()
    phases = [("anonymous list", [("/api/articles", None, 32)]),
              ("signed-in list", [("/api/articles", token, 32)]),
              ("articles, some missing", [(f"/api/articles/{slug}", None, 28), ("/api/articles/no-such-article", None, 4)])]
    series, started = [], time.time()
    with Server(aot, database_url, DIRECT_DATABASE_URL=database_url, METRICS_PORT=str(metrics_port), FLY_REGION="bench") as service:
        until_cached(service.port, "/api/articles")
        previous, previous_at = scrape(metrics_port), time.time()
        for name, loads in phases:
            runs = [subprocess.Popen(wrk_command(service.port, path, phase_seconds, connections, auth), stdout=subprocess.DEVNULL)
                    for path, auth, connections in loads]
            while any(run.poll() is None for run in runs):
                time.sleep(0.5)
                now, now_at = scrape(metrics_port), time.time()
                series.append({"t": round(now_at - started, 2), "phase": name, **dashboard_panels(previous, now, now_at - previous_at)})
                previous, previous_at = now, now_at
    for name, _ in phases:
        points = [p for p in series if p["phase"] == name and p["rps"] > 0]
        print(f"  {name}: {statistics.median(p['rps'] for p in points):.0f} req/s, p50 {statistics.median(p['p50_ms'] for p in points):.2f} ms, "
              f"p99 {statistics.median(p['p99_ms'] for p in points):.2f} ms, cache hits {statistics.median(p['cache_hit_pct'] or 0 for p in points):.0f}%")
    return {"phases": [name for name, _ in phases], "series": series}


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
        ("idle RSS, vs the ceiling app / JIT", f"{m['idle_rss_mb'] / m['ceiling_idle_rss_mb']:.2f}× / {m['idle_rss_mb'] / m['jit_idle_rss_mb']:.2f}×", f"{m['idle_rss_mb']} vs {m['ceiling_idle_rss_mb']} / {m['jit_idle_rss_mb']} MB", "≤30 MB"),
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
            for name, f in endpoints.items():
                c = f["cpu_ms_per_request"]
                print(f"{path_name:16} {mode:11} {name:18} {f['rps']:7.0f} req/s   {c['service']:.3f} / {c['postgres']:.3f} / {c['pooler']:.3f} / {c['wrk']:.3f}")
    for path_name, modes in r["prepared"]["pgbench_list_statements_per_s"].items():
        print(f"pgbench, the list statement alone, {path_name}: unprepared {modes['unprepared']:.0f}/s, prepared {modes['prepared']:.0f}/s")
    print(f"list through the pooler, prepared over unprepared: {r['ratios']['prepared_over_unprepared_list']}×; over EF Core: {r['ratios']['prepared_list_over_efcore']}×")
    if "prepared_over_baseline" in r["ratios"]:
        print(f"prepared over the baseline revision ({r['baseline']['revision']}), through the pooler: {r['ratios']['prepared_over_baseline']}")
        b = r["baseline"]
        print(f"start-up, memory, size against the baseline: cold start {b['cold_start_ratio']}×, idle RSS {b['idle_rss_ratio']}×, binary {b['binary_ratio']}×")
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
    rp = r["replica"]
    print(f"{'read replica near, primary 40 ms away':40} {'p50 primary':>14} {'p50 replica':>14}   goal: replica ≤ 5 ms")
    for name, f in rp["reads"].items():
        print(f"{name:40} {f['primary_far_p50_ms']:14.1f} {f['replica_near_p50_ms']:14.2f}")
    for name, f in rp["writes"].items():
        print(f"{name + ', with the replica wait':40} p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms (goal ≤ 1.5 × 40 = 60 ms)")
    print(f"stale reads after one's own write: {rp['stale_reads']} of {rp['writes_read_back']} (goal 0)")
    print(f"invalidation, commit → eviction on another instance ({p['iterations']} writes): p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms "
          f"(goal ≤ {p['round_trip_ms'] / 2 + 10:.0f} ms); comment write p50 {p['write_p50_ms']} ms; stale reads {p['stale_reads']} (goal 0)")


if __name__ == "__main__":
    main()
