"""Prepared statements: each endpoint prepared and not, directly and through PgBouncer 1.25, with pgbench."""
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

from .common import Server, free_port, measured, pids_named, via, wrk



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
            # The hand-written ceiling serves the list alone, in the same rounds: the service's
            # CPU and p99 per list request over the ceiling's come from the same minutes.
            modes = [("unprepared", aot, "off"), ("prepared", aot, "on"), ("ceiling", ceiling_binary, "on")] + ([("baseline", baseline, "off")] if baseline else [])
            for turn in range(rounds):
                for mode, binary, setting in modes[turn % len(modes):] + modes[:turn % len(modes)]:
                    with Server(binary, url, pinned=False, PREPARED_STATEMENTS=setting) as service:
                        for name, (path, auth) in endpoints.items():
                            if mode == "ceiling" and name != "list (anonymous)":
                                continue
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
        for path_name, by_mode in results.items():
            service, ceiling = by_mode["prepared"]["list (anonymous)"], by_mode["ceiling"]["list (anonymous)"]
            # p99 at 32 clients on two shared cores moves by half from one minute to the next, so
            # each round's service p99 is set against the ceiling's of the same round, and the
            # figure is the median of those ratios (the median-throughput rounds above may differ).
            pairs = [(s["p99_ms"], c["p99_ms"]) for s, c in zip(samples[path_name]["prepared"]["list (anonymous)"], samples[path_name]["ceiling"]["list (anonymous)"])]
            by_mode["service_over_ceiling"] = {
                "cpu_per_list_request": round(service["cpu_ms_per_request"]["service"] / ceiling["cpu_ms_per_request"]["service"], 2),
                "list_rps": round(service["rps"] / ceiling["rps"], 2),
                "list_p99": round(statistics.median(s / c for s, c in pairs), 2),
                "list_p99_rounds_ms": [[round(s, 1), round(c, 1)] for s, c in pairs]}
            print(f"  {path_name}, prepared service over the ceiling, list: CPU per request {by_mode['service_over_ceiling']['cpu_per_list_request']}×, "
                  f"req/s {by_mode['service_over_ceiling']['list_rps']}×, p99 {by_mode['service_over_ceiling']['list_p99']}× "
                  f"(median of the rounds, service / ceiling: {', '.join(f'{s:.1f} / {c:.1f} ms' for s, c in pairs)})")
        # The database alone, running the service's list statement (as the ceiling prints it) with constant values.
        list_statement = subprocess.run([*ceiling_binary, "--list-sql"], capture_output=True, text=True, check=True).stdout
        constants = {"me": "NULL::bigint", "offset": "0", "limit": "20", "tokenVersion": "1", "sessionId": "NULL::text"}
        statement = re.sub(r"(?<!:)@(\w+)\b", lambda m: constants[m.group(1)], list_statement)
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
