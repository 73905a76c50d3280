"""What every section uses: ports, processes, HTTP, wrk, percentiles, the latency proxy."""
import asyncio
import http.client
import json
import resource
import os
import socket
import subprocess
import sys
import threading
import time


HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
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


def fetch(port, method, path, body=None, token=None):
    """One request; (status, body, headers) with the headers lower-cased."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}


class Server:
    """A server process pinned to CPU 0, started and waited for."""

    def __init__(self, command, database_url, ready_path="/api/articles", pinned=True, log=None, **settings):
        """log: a file for the server's output (its log lines), else it is dropped."""
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET=SECRET, PORT=str(self.port),
                   AUTH_RATE_LIMIT="1000000", Logging__LogLevel__Default="Warning", ASPNETCORE_ENVIRONMENT="Production", **settings)
        self.log = open(log, "w") if log else subprocess.DEVNULL
        self.process = subprocess.Popen([*(["taskset", "-c", "0"] if pinned else []), *command], env=env, stdout=self.log, stderr=self.log)
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
        if self.log is not subprocess.DEVNULL:
            self.log.close()


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


def wrk_command(port, path, seconds, connections, token=None, pinned=True):
    """wrk, one thread, on CPU 1 unless unpinned; it prints report.lua's JSON line last."""
    return [*(["taskset", "-c", "1"] if pinned else []), "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
            "-s", os.path.join(HERE, "report.lua"), *(["-H", f"Authorization: Token {token}"] if token else []),
            f"http://127.0.0.1:{port}{path}"]


def wrk(port, path, seconds, connections, token=None, pinned=True):
    output = subprocess.run(wrk_command(port, path, seconds, connections, token, pinned), capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def until_cached(port, path):
    """Reads until the edge cache answers (its listener is connected), within 15 s."""
    deadline = time.time() + 15
    while time.time() < deadline:
        if "age" in fetch(port, "GET", path)[2]:
            return
        time.sleep(0.02)
    raise RuntimeError(f"the edge cache never answered {path}")


def via(database_url, port):
    """The same database URL with another port (the proxy's)."""
    head, _, rest = database_url.rpartition(":")
    return f"{head}:{port}/{rest.split('/', 1)[1]}"


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
