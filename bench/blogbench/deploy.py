"""The deploy drill (issue #31): a rolling deploy as Fly runs one, on production-sized data, through
PgBouncer 1.25. The previous release serves a steady mixed load, closed loop, every request
recorded; the new build's `migrate` runs against the same database; then the new binary starts,
passes its readiness check, takes the new connections (a front proxy plays Fly's), and the old
process gets SIGTERM and drains. Run for this build and, in the same run, for a baseline revision
whose migrate is the one before (the same-run comparison)."""
import asyncio
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from .common import REPO, SECRET, free_port, percentile
from .prepared import PgBouncer

CLIENTS = 16
THINK_S = 0.06  # each client waits this long between requests: about 230 requests/s in all, as measured on #31


def build_revision(revision, artifacts):
    """The binary of a git revision, published once into artifacts/revisions/<sha>."""
    sha = subprocess.run(["git", "rev-parse", revision], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    out = os.path.join(artifacts, "revisions", sha)
    binary = os.path.join(out, "Blog.Api")
    if not os.path.exists(binary):
        worktree = tempfile.mkdtemp(prefix="blog-drill-")
        subprocess.run(["git", "worktree", "prune"], cwd=REPO, check=True)
        subprocess.run(["git", "worktree", "add", "--detach", os.path.join(worktree, "src"), sha], cwd=REPO, check=True, capture_output=True)
        try:
            subprocess.run(["dotnet", "publish", os.path.join(worktree, "src", "src", "Blog.Api"), "-c", "Release", "-nologo", "-v", "quiet", "-o", out],
                           check=True, capture_output=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", os.path.join(worktree, "src")], cwd=REPO, capture_output=True)
            shutil.rmtree(worktree, ignore_errors=True)
    return binary, sha


class FrontProxy:
    """Fly's proxy, as far as a deploy goes: each new connection goes to the backend of the moment."""

    def __init__(self, backend_port):
        self.port, self.backend = free_port(), backend_port
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)

        async def pump(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        async def handle(client_reader, client_writer):
            try:
                server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.backend)
            except OSError:
                client_writer.close()
                return
            await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer), return_exceptions=True)

        self.server = self.loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    def switch(self, backend_port):
        self.backend = backend_port

    def close(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def start(binary, database_url, direct_url, port):
    env = dict(os.environ, DATABASE_URL=database_url, DIRECT_DATABASE_URL=direct_url, JWT_SECRET=SECRET, PORT=str(port),
               AUTH_RATE_LIMIT="1000000", Logging__LogLevel__Default="Warning", ASPNETCORE_ENVIRONMENT="Production")
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health/ready")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"{binary} did not become ready")


class Load:
    """CLIENTS signed-in users in a closed loop through the front proxy: the article list, an
    article, the tags, a favorite or unfavorite, a new article. A new connection per request, so
    that each goes where the proxy sends new connections."""

    def __init__(self, port, slugs):
        self.port, self.slugs, self.records, self.stop = port, slugs, [], threading.Event()
        self.tokens = [self._sign_up(i) for i in range(CLIENTS)]
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def _send(self, method, path, body=None, token=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"} if body else {}
        if token:
            headers["Authorization"] = f"Token {token}"
        connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, data

    def _sign_up(self, i):
        name = f"drill{os.getpid()}x{i}x{random.randrange(10**6)}"
        status, data = self._send("POST", "/api/users", {"user": {"username": name, "email": f"{name}@example.com", "password": "drill password"}})
        return json.loads(data)["user"]["token"]

    def _client(self, i):
        rng, token, favorited = random.Random(i), self.tokens[i], set()
        while not self.stop.is_set():
            n, slug = rng.random(), rng.choice(self.slugs)
            if n < 0.35:
                label, method, path, body = "list", "GET", f"/api/articles?limit=20&offset={rng.randrange(0, 200, 20)}", None
            elif n < 0.60:
                label, method, path, body = "article", "GET", f"/api/articles/{slug}", None
            elif n < 0.70:
                label, method, path, body = "tags", "GET", "/api/tags", None
            elif n < 0.90:
                label, path, body = "favorite", f"/api/articles/{slug}/favorite", None
                method = "DELETE" if slug in favorited else "POST"
                favorited ^= {slug}
            else:
                label, method, path, body = "new article", "POST", "/api/articles", {"article": {"title": f"Drill {i} {time.time()}", "description": "d", "body": "b"}}
            started = time.monotonic()
            try:
                status, _ = self._send(method, path, body, token if label in ("favorite", "new article") else None)
            except (OSError, http.client.HTTPException) as e:
                status = f"{type(e).__name__}"
            self.records.append((started, time.monotonic(), label, status))
            time.sleep(THINK_S)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for thread in self.threads:
            thread.join()


def drill(label, previous, migrating, new, database_url, direct_url, seconds):
    """One rolling deploy under load; returns its figures and the latency series."""
    old_port, new_port = free_port(), free_port()
    old = start(previous, database_url, direct_url, old_port)
    proxy = FrontProxy(old_port)
    new_process = None
    events = {}
    try:
        slugs = [f"drill-article-{i}" for i in random.Random(0).sample(range(1, 300001), 500)]
        with Load(proxy.port, slugs) as load:
            t0 = time.monotonic()
            time.sleep(seconds)
            events["migrate"] = time.monotonic()
            env = dict(os.environ, DATABASE_URL=database_url, DIRECT_DATABASE_URL=direct_url, JWT_SECRET=SECRET)
            migrated = subprocess.run([migrating, "migrate"], env=env, capture_output=True, text=True)
            events["migrated"] = time.monotonic()
            if migrated.returncode != 0:
                raise RuntimeError(f"migrate failed: {migrated.stdout}{migrated.stderr}")
            time.sleep(2)
            events["replace"] = time.monotonic()
            new_process = start(new, database_url, direct_url, new_port)   # up and ready, as Fly's health check wants it
            proxy.switch(new_port)
            time.sleep(0.1)  # connections the proxy is opening to the old one get there
            old.terminate()                                              # SIGTERM: it drains and exits
            old.wait(timeout=30)
            events["replaced"] = time.monotonic()
            time.sleep(seconds)
        records = sorted(load.records)
    finally:
        for process in (old, new_process):
            if process and process.poll() is None:
                process.terminate()
                process.wait()
        proxy.close()
    return summarize(label, records, events, t0, migrated.stdout)


def summarize(label, records, events, t0, migrate_output):
    ok = lambda r: isinstance(r[3], int) and 200 <= r[3] < 300
    phases = {"before": (t0, events["migrate"]), "during": (events["migrate"], events["replaced"]), "after": (events["replaced"], max(r[1] for r in records))}
    r = {"label": label, "requests": len(records), "migrate_s": round(events["migrated"] - events["migrate"], 2),
         "replace_s": round(events["replaced"] - events["replace"], 2), "migrate_output": migrate_output.strip().splitlines()[-3:], "phases": {}}
    for name, (start, end) in phases.items():
        latencies = [(b - a) * 1000 for a, b, _, _ in records if start <= a < end]
        r["phases"][name] = {"requests": len(latencies), "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
                             "max_ms": round(max(latencies), 1)}
    # The longest time without a completed articles request, from the migration's start to the end.
    done = sorted(b for a, b, what, status in records if what != "tags" and ok((a, b, what, status)) and b >= events["migrate"])
    marks = [events["migrate"], *done, max(r[1] for r in records)]
    r["longest_articles_stall_ms"] = round(max(b - a for a, b in zip(marks, marks[1:])) * 1000, 1)
    failures = {}
    for record in records:
        if not ok(record):
            failures.setdefault(record[2], {}).setdefault(str(record[3]), 0)
            failures[record[2]][str(record[3])] += 1
    r["failed"] = failures
    r["failed_total"] = sum(n for by_status in failures.values() for n in by_status.values())
    r["events_s"] = {name: round(at - t0, 2) for name, at in events.items()}
    r["series"] = [(round(a - t0, 3), round((b - a) * 1000, 2), what, status if isinstance(status, int) else 0) for a, b, what, status in records]
    return r


def measure(artifacts, database_url, previous_revision, baseline_revision, seconds):
    """The drill for the baseline revision's migrate and this build's, each on a fresh copy of a
    database at the previous release's schema with 300,000 articles and 2.1M favorites."""
    previous, previous_sha = build_revision(previous_revision, artifacts)
    baseline, baseline_sha = build_revision(baseline_revision, artifacts)
    current = os.path.join(artifacts, "aot", "Blog.Api")
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    psql = lambda url, sql: subprocess.run(["psql", url, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()
    template = "blog_drill_template"
    if psql(admin, f"SELECT count(*) FROM pg_database WHERE datname = '{template}'") == "0":
        print("  seeding the drill's template: the previous release's schema, 300,000 articles, 2.1M favorites")
        psql(admin, f"CREATE DATABASE {template}")
        url = database_url.rsplit("/", 1)[0] + "/" + template
        subprocess.run([previous, "migrate"], env=dict(os.environ, DATABASE_URL=url, JWT_SECRET=SECRET), check=True, capture_output=True)
        subprocess.run(["psql", url, "-XqA", "-v", "ON_ERROR_STOP=1", "-f", os.path.join(REPO, "bench", "drill-seed.sql")], check=True, capture_output=True)
    results = {"previous_release": previous_sha[:7], "clients": CLIENTS, "think_ms": THINK_S * 1000, "runs": {}}
    for label, migrating in ((f"baseline {baseline_sha[:7]}", baseline), ("this build", current)):
        database = f"blog_drill_{label.split()[0]}"
        psql(admin, f"DROP DATABASE IF EXISTS {database}")
        psql(admin, f"CREATE DATABASE {database} TEMPLATE {template}")
        direct = database_url.rsplit("/", 1)[0] + "/" + database
        pooler = PgBouncer(os.environ["PGBOUNCER_125"], direct) if os.environ.get("PGBOUNCER_125") else None
        try:
            run = drill(label, previous, migrating, migrating, pooler.url if pooler else direct, direct, seconds)
        finally:
            if pooler:
                pooler.close()
            psql(admin, f"DROP DATABASE IF EXISTS {database}")
        results["runs"][label] = run
        p = run["phases"]
        print(f"  {label}: migrate {run['migrate_s']} s, replacement {run['replace_s']} s; longest stall of articles requests {run['longest_articles_stall_ms']} ms; "
              f"failed {run['failed_total']} {run['failed'] or ''}; p99 before/during/after {p['before']['p99_ms']}/{p['during']['p99_ms']}/{p['after']['p99_ms']} ms, "
              f"max {p['before']['max_ms']}/{p['during']['max_ms']}/{p['after']['max_ms']} ms")
    return results


def drop_series(results):
    """Every request's record, which the chart draws, left out of what is saved."""
    for run in results["runs"].values():
        run.pop("series", None)
