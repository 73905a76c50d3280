"""The Grafana dashboard's panels, from the binary's own /metrics under load."""
import re
import statistics
import subprocess
import time

from .common import Server, fetch, free_port, until_cached, wrk_command



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
