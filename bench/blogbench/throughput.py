"""Throughput: the service's endpoints at 32 connections against the hand-written ceiling and
EF Core, on 10k users / 100k articles; the same endpoints with the database 40 ms away."""
import json
import time

from .common import DelayProxy, Server, request, rss, via, wrk


def reader(port, email="user1@example.com"):
    """A seeded user's token (seed.sql: user1 unless another is named), and the newest article's slug and author."""
    status, body = request(port, "POST", "/api/users/login", {"user": {"email": email, "password": "demo-password"}})
    newest = json.loads(request(port, "GET", "/api/articles?limit=1")[1])["articles"][0]
    return json.loads(body)["user"]["token"], newest["slug"], newest["author"]["username"]


def signed_in_reader(aot, database_url, email="user1@example.com"):
    """reader(), from a service started for it."""
    with Server(aot, database_url) as server:
        return reader(server.port, email)


def service(results, aot, database_url, seconds):
    """The service's endpoints at 32 connections, and its memory under that load. Returns the
    signed-in token, the newest article's slug and author, and the endpoints measured."""
    with Server(aot, database_url) as server:
        # The service finds out how it reaches the database half a second after its first
        # request, then prepares its statements on a new pool (Db): measure after that switch.
        time.sleep(1)
        token, slug, author = reader(server.port)
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
            "after_sign_in_rss_mb": rss(server.process.pid),
        }
        throughput = {}
        for name, (path, auth) in endpoints.items():
            wrk(server.port, path, 2, 32, auth)  # warm
            throughput[name] = wrk(server.port, path, seconds, 32, auth)
            print(f"  service {name}: {throughput[name]['rps']:.0f} req/s")
        results["memory"]["peak_rss_under_load_mb"] = rss(server.process.pid, "VmHWM")
        results["throughput"] = {"service": throughput}
    return token, slug, author, endpoints


def baselines(results, ceiling, efcore, database_url, seconds):
    """The ceiling and EF Core serving the list, and the service's ratios to them."""
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


def far_database(results, aot, efcore, database_url, endpoints, seconds):
    """p50 at low concurrency with the database 40 ms away, in round trips."""
    target_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    proxy = DelayProxy(target_port)
    far = {}
    try:
        far_url = via(database_url, proxy.port)
        with Server(aot, far_url) as server:
            for name, (path, auth) in endpoints.items():
                wrk(server.port, path, 2, 4, auth)
                figures = wrk(server.port, path, seconds, 4, auth)
                far[f"service {name}"] = figures
        with Server(efcore, far_url) as baseline:
            wrk(baseline.port, "/api/articles", 2, 4)
            far["efcore list (anonymous)"] = wrk(baseline.port, "/api/articles", seconds, 4)
    finally:
        proxy.close()
    for name, figures in far.items():
        figures["round_trips"] = round(figures["p50_ms"] / 40, 1)
    results["far_database"] = {"one_way_delay_ms": 20, "proxy": proxy.tool, "connections": 4, "endpoints": far}
