#!/usr/bin/env python3
"""The benchmarks behind the README's Performance section (bench/run sets up and calls this).

Every figure is measured in this run against a baseline measured in the same run:
  cold start   the AOT binary vs the same app published without AOT (JIT)
  memory, size idle RSS (6 s after the first 200), RSS 1 s after it, peak RSS under load, binary size
  throughput   the service's endpoints vs a hand-written ceiling (raw Npgsql + Utf8JsonWriter)
               and an EF Core implementation of GET /api/articles, on 10k users / 100k articles
  far database the same endpoints with the database 40 ms away (20 ms each way through a proxy)
The server runs on CPU 0; wrk, PostgreSQL and the proxy on CPU 1.

usage: run.py ARTIFACTS DATABASE_URL OUTPUT_DIR [--quick]
"""
import asyncio
import http.client
import json
import os
import platform
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

    def __init__(self, command, database_url, ready_path="/api/articles"):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, PORT=str(self.port),
                   AUTH_RATE_LIMIT="1000000", Logging__LogLevel__Default="Warning", ASPNETCORE_ENVIRONMENT="Production")
        self.process = subprocess.Popen(["taskset", "-c", "0", *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def wrk(port, path, seconds, connections, token=None):
    command = ["taskset", "-c", "1", "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
               "-s", os.path.join(HERE, "report.lua")]
    if token:
        command += ["-H", f"Authorization: Token {token}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def cold_start(command, database_url, runs):
    env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, ASPNETCORE_ENVIRONMENT="Production")
    output = subprocess.run([sys.executable, os.path.join(HERE, "coldstart.py"), str(runs), "/api/articles", *command],
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
    results["cold_start"] = {"aot": cold_start(aot, database_url, runs), "jit": cold_start(jit, database_url, max(3, runs // 2)),
                             "ceiling": cold_start(ceiling, database_url, 3)}
    results["cold_start"]["jit_over_aot"] = round(results["cold_start"]["jit"]["median_ms"] / results["cold_start"]["aot"]["median_ms"], 1)
    results["size"] = {"aot_binary_mb": round(os.path.getsize(aot[0]) / 2**20, 1)}

    with Server(aot, database_url) as service:
        status, body = request(service.port, "POST", "/api/users/login", {"user": {"email": "user1@example.com", "password": "demo-password"}})
        token = json.loads(body)["user"]["token"]
        slug = json.loads(request(service.port, "GET", "/api/articles?limit=1")[1])["articles"][0]["slug"]
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
    results["far_database"] = {"one_way_delay_ms": 20, "proxy": proxy.tool, "connections": 4, "endpoints": far}

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "latest.json"), "w") as out:
        json.dump(results, out, indent=1)
        out.write("\n")
    chart(results, output_dir)
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
    print(f"{'database 40 ms away (4 connections)':40} {'p50 ms':>8} {'≈ round trips':>14}")
    for name, f in r["far_database"]["endpoints"].items():
        print(f"{name:40} {f['p50_ms']:8.1f} {f['round_trips']:14}")


if __name__ == "__main__":
    main()
