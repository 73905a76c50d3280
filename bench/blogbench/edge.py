"""The edge cache: far reads, cached throughput, invalidation across instances."""
import json
import time

from .common import DelayProxy, Server, fetch, free_port, percentile, until_cached, via, wrk
from .throughput import signed_in_reader


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

    r["propagation"] = propagation(aot, far_url, token, iterations)
    p = r["propagation"]
    print(f"  propagation, commit to eviction on the other instance: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms; comment write p50 {p['write_p50_ms']} ms; stale reads {p['stale_reads']}")
    return r


def propagation(aot, far_url, token, iterations, reader=None):
    """A writes a comment; B, polled as fast as it answers, shows it: anonymously, or to a signed-in
    reader (another user's token) from the shared rows and their viewer entry. The commit is
    taken to be one one-way delay (20 ms) before A's answer arrives; an eviction between the
    last stale read and the first fresh one is dated by the first fresh read's start. Before each
    write, B answers the comments from its cache (else a fresh read would prove nothing)."""
    metrics = free_port()
    with Server(aot, far_url, DIRECT_DATABASE_URL=far_url) as a, Server(aot, far_url, DIRECT_DATABASE_URL=far_url, METRICS_PORT=str(metrics)) as b:
        # The token signed in at the start (a sign-in here, 40 ms from the database, once failed the run).
        article = json.loads(fetch(a.port, "POST", "/api/articles", {"article": {"title": "Propagation", "description": "d", "body": "b"}}, token)[1])["article"]["slug"]
        comments = f"/api/articles/{article}/comments"

        def cached_on(port):
            if reader is None:
                return "age" in fetch(port, "GET", comments)[2]
            hits = counter(metrics, "blog_cache_lookups_total", reader="signed_in", result="hit")
            fetch(port, "GET", comments, token=reader)
            return counter(metrics, "blog_cache_lookups_total", reader="signed_in", result="hit") > hits

        until_cached(a.port, comments)
        deadline = time.time() + 15
        while not cached_on(b.port):
            if time.time() > deadline:
                raise RuntimeError("B never answered the comments from its cache")
            time.sleep(0.02)
        delays, writes, stale = [], [], 0
        for i in range(iterations):
            while not cached_on(b.port):
                time.sleep(0.005)
            started = time.time()
            status, body, _ = fetch(a.port, "POST", comments, {"comment": {"body": f"comment {i}"}}, token)
            answered = time.time()
            writes.append((answered - started) * 1000)
            new_id = json.loads(body)["comment"]["id"]
            ids = lambda port: {c["id"] for c in json.loads(fetch(port, "GET", comments, token=reader)[1])["comments"]}
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
    return {"iterations": iterations, "p50_ms": round(percentile(delays, 50), 1), "p99_ms": round(percentile(delays, 99), 1),
            "write_p50_ms": round(percentile(writes, 50), 1), "stale_reads": stale, "round_trip_ms": 40}


def counter(port, name, **labels):
    """The sum of a counter's series with these labels, from /metrics on port."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(float(line.rsplit(" ", 1)[1]) for line in fetch(port, "GET", "/metrics")[1].decode().splitlines()
               if line.startswith(name + "{") and all(w in line for w in wanted))


def signed_in(aot, far_url, seconds, token, slug, author, reader, iterations):
    """Signed-in reads at the edge (#33): list, article, profile and comments with a token, the
    primary 40 ms away and no replica; the database path (no cache) against the edge cache's
    shared rows with the reader's viewer entry laid over, in the same run. Each cache figure
    says what share of its requests were answered from the cache (the service's own counter of
    signed-in hits over wrk's count of requests)."""
    reads = {"list": "/api/articles", "article": f"/api/articles/{slug}", "profile": f"/api/profiles/{author}",
             "comments": f"/api/articles/{slug}/comments"}
    r = {"round_trip_ms": 40, "connections": 4, "throughput_connections": 32}
    metrics = free_port()
    with Server(aot, far_url) as plain, Server(aot, far_url, DIRECT_DATABASE_URL=far_url, METRICS_PORT=str(metrics)) as edge:
        for i in range(5):  # comments to show (the newest article has none)
            fetch(plain.port, "POST", reads["comments"], {"comment": {"body": f"A signed-in reader's comment {i}"}}, token)
        for name, path in reads.items():
            wrk(plain.port, path, 1, 4, token)
            for _ in range(30):  # the first signed-in read loads the viewer entry, the next ones keep the shared rows
                fetch(edge.port, "GET", path, token=token)
                time.sleep(0.02)
            database = wrk(plain.port, path, seconds, 4, token)
            hits = counter(metrics, "blog_cache_lookups_total", reader="signed_in", result="hit")
            cached = wrk(edge.port, path, seconds, 4, token)
            hit_share = (counter(metrics, "blog_cache_lookups_total", reader="signed_in", result="hit") - hits) / max(1, cached["requests"])
            r[name] = {"database": {k: database[k] for k in ("p50_ms", "p99_ms", "rps")}, "cache": {k: cached[k] for k in ("p50_ms", "p99_ms", "rps")},
                       "cache_hit_share": round(hit_share, 4), "non_2xx": database["non_2xx"] + cached["non_2xx"]}
            print(f"  {name}, signed in: database p50 {database['p50_ms']:.1f} / p99 {database['p99_ms']:.1f} ms, "
                  f"cache p50 {cached['p50_ms']:.2f} / p99 {cached['p99_ms']:.2f} ms ({hit_share:.1%} hits)")
        database = wrk(plain.port, reads["list"], seconds, 32, token)
        cached = wrk(edge.port, reads["list"], seconds, 32, token)
    r["list_throughput"] = {"database_rps": database["rps"], "cache_rps": cached["rps"], "ratio": round(cached["rps"] / database["rps"], 1)}
    print(f"  signed-in list, 32 connections: cache {cached['rps']:.0f} req/s vs database path {database['rps']:.0f} ({r['list_throughput']['ratio']}×)")
    r["propagation"] = p = propagation(aot, far_url, token, iterations, reader)
    print(f"  another user's comment on one instance, seen by a signed-in reader on another: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms after its commit; stale reads {p['stale_reads']}")
    r["own_writes_elsewhere"] = own_writes_elsewhere(aot, far_url, reader, slug, iterations)
    return r


def own_writes_elsewhere(aot, far_url, reader, slug, iterations):
    """The reader favorites and unfavorites an article on A and reads it at once on B, both far
    from the database (#33: "the reader's own favorite in their very next read, any instance of
    the region"): without region peers, where the favorite answers once A's own listener heard
    it, and with them, where it answers once B has evicted it (Caching/RegionPeers); stale
    reads on B and the favorite's latency both ways, in the same run (what the push costs)."""
    r = {"iterations": iterations}
    article = f"/api/articles/{slug}"
    for mode in ("without_peers", "with_peers"):
        peer_a, peer_b = free_port(), free_port()
        a_settings = {"PEER_PORT": str(peer_a), "PEERS": f"127.0.0.1:{peer_b}"} if mode == "with_peers" else {}
        b_settings = {"PEER_PORT": str(peer_b), "PEERS": f"127.0.0.1:{peer_a}"} if mode == "with_peers" else {}
        with Server(aot, far_url, DIRECT_DATABASE_URL=far_url, **a_settings) as a, Server(aot, far_url, DIRECT_DATABASE_URL=far_url, **b_settings) as b:
            favorited = lambda port: json.loads(fetch(port, "GET", article, token=reader)[1])["article"]["favorited"]
            for _ in range(30):  # B loads the reader's viewer entry and keeps the article's rows
                favorited(b.port)
                time.sleep(0.02)
            on, writes, stale = favorited(a.port), [], 0
            for _ in range(iterations):
                favorited(b.port)  # B answers from what it holds before the write
                on = not on
                started = time.time()
                fetch(a.port, "POST" if on else "DELETE", f"{article}/favorite", token=reader)
                writes.append((time.time() - started) * 1000)
                if favorited(b.port) != on:
                    stale += 1
        r[mode] = {"stale_reads": stale, "write_p50_ms": round(percentile(writes, 50), 1), "write_p99_ms": round(percentile(writes, 99), 1)}
        print(f"  the reader's favorite on A, read at once on B, {mode.replace('_', ' ')}: {stale} stale of {iterations}; "
              f"favorite p50 {r[mode]['write_p50_ms']} ms, p99 {r[mode]['write_p99_ms']} ms")
    return r


def measure(aot, database_url, seconds, token, slug, author, uncached_list, iterations):
    """edge_cache with the database behind a 40 ms proxy for its far part, then signed-in reads."""
    target_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    proxy = DelayProxy(target_port)
    try:
        r = edge_cache(aot, database_url, via(database_url, proxy.port), seconds, token, slug, author, uncached_list, iterations)
        r["signed_in"] = signed_in(aot, via(database_url, proxy.port), seconds, token, slug, author, signed_in_reader(aot, database_url, "user2@example.com")[0], iterations)
        return r
    finally:
        proxy.close()


def measure_signed_in(aot, database_url, seconds, token, slug, author, iterations):
    """signed_in alone (bench/run --only signed-in)."""
    target_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    proxy = DelayProxy(target_port)
    try:
        return signed_in(aot, via(database_url, proxy.port), seconds, token, slug, author, signed_in_reader(aot, database_url, "user2@example.com")[0], iterations)
    finally:
        proxy.close()
