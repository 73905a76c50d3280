"""Read replicas, on scripts/replica-pair: reads near, writes that wait, read-your-writes."""
import json
import os
import re
import subprocess
import sys
import time

from .common import REPO, SECRET, Server, fetch, percentile, wrk



def replica_reads(aot, seconds, iterations, sessions=None, quick=False):
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
        if sessions:
            r["sessions"] = session_guarantees(aot, sessions, folder, script, far, near, quick)
        return r
    finally:
        subprocess.run([sys.executable, script, "stop", folder], capture_output=True)



def session_guarantees(aot, sessions, folder, script, far, near, quick):
    """Eight users writing at once through one instance (the edge cache on, the replica near,
    the primary 40 ms away), every write read back at once through every endpoint that shows it,
    the history checked for read-your-writes and monotonic reads (tests/Blog.Sessions): without
    faults, then with replay paused and resumed and the standby stopped and started at random
    moments; the same writes without a replica as the baseline; then how far behind the replica
    reads after a minute with no request. The workload runs on CPU 1, the service on CPU 0."""
    r = {"writers": 8}

    def run(server, name, duration, faults=(), log=None):
        lines_before = sum(1 for _ in open(log)) if log else 0
        output = subprocess.run(["taskset", "-c", "1", *sessions, f"http://127.0.0.1:{server.port}", "8", str(duration), *faults],
                                capture_output=True, text=True)
        report = json.loads(output.stdout.strip().splitlines()[-1])
        report["seconds"] = duration
        if log:
            with open(log) as lines:
                report["waits_timed_out"] = sum("did not replay a write" in line for i, line in enumerate(lines) if i >= lines_before)
        r[name] = report
        print(f"  {name}, {duration} s: {report['reads_checked']} reads checked, {len(report['violations'])} stale (violations), "
              f"{report['errors']} errors, {report['not_found']} 404s; writes p50 {report['write_p50_ms']} ms, p99 {report['write_p99_ms']} ms"
              + (f"; waits timed out {report['waits_timed_out']}" if log else "")
              + (f"; {report['pauses']} replay pauses, {report['stops']} standby stops" if faults else ""))

    with Server(aot, far) as plain:
        run(plain, "without a replica", 10 if quick else 30)
    log = folder + "-service.log"
    with Server(aot, far, log=log, READ_REPLICA_URL=near, DIRECT_DATABASE_URL=far) as server:
        wait_until_serving(server)
        run(server, "without faults", 10 if quick else 30, log=log)
        run(server, "with faults", 20 if quick else 150, (folder, script), log)
        wait_until_serving(server)
        time.sleep(60)
        fetch(server.port, "GET", "/api/tags")  # the checks stopped after a minute without requests; one runs now
        time.sleep(1.5)
        ready = fetch(server.port, "GET", "/health/ready")[1].decode()
        match = re.search(r"serving reads, ([0-9.]+) s behind", ready)
        r["lag_after_60_s_idle_s"] = float(match.group(1)) if match else None
        print(f"  after 60 s without requests: {ready}")
    os.remove(log)
    return r


def wait_until_serving(server):
    deadline = time.time() + 30
    while "serving reads" not in fetch(server.port, "GET", "/health/ready")[1].decode():
        fetch(server.port, "GET", "/api/tags")
        if time.time() > deadline:
            raise RuntimeError("the replica never served reads")
        time.sleep(0.1)
