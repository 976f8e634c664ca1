"""Real Prometheus and Alertmanager for end-to-end tests: free localhost ports, stopped at exit.

Plain context managers and functions (the e2e conftest belongs to other suites); a test module
wraps them in fixtures. `binary()` returns None when a server is not installed so the caller can
skip with a printed reason; CI installs them (`make system-deps`).
"""

from __future__ import annotations

import gc
import json
import random
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Debian names the Alertmanager binary prometheus-alertmanager; upstream tarballs call it alertmanager.
ALERTMANAGER_NAMES = ("alertmanager", "prometheus-alertmanager")


def binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A free localhost port below the kernel's ephemeral range.

    The port is handed to a server that binds it a second or so later. A port from the ephemeral
    range (what binding port 0 gives) can meanwhile become the source port of some outgoing
    connection (a scrape, a notification), and the server then fails with "Address already in use";
    ports below the range are never assigned that way.
    """
    low = _ephemeral_low()
    for _ in range(100):
        port = random.randrange(max(1024, low - 12_000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; elsewhere the range differs but ports below it are still fine


def http_json(url: str, data: dict[str, str] | None = None, timeout: float = 5.0) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        # Prometheus answers a bad query with 400 and a JSON error body: return it to the caller.
        return json.loads(exc.read())


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """GET `url` answers 200. On a socket of its own, closed whatever happens: urllib leaves the
    half-read response of a timed-out request to the collector, whose socket then warns (an error
    under -W error) in whichever test is running when it is collected."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        status_line = sock.recv(64)
    return status_line.startswith(b"HTTP/1.") and status_line[9:12] == b"200"


def wait_until(predicate: Any, deadline_s: float, what: str, poll_s: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy, or fail naming `what`."""
    deadline = time.monotonic() + deadline_s
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except (OSError, ValueError) as exc:  # server not up yet
            last_error = exc
            _finalize_abandoned_responses()
        time.sleep(poll_s)
    raise TimeoutError(f"timed out after {deadline_s:.0f}s waiting for {what} (last error: {last_error})")


def _finalize_abandoned_responses() -> None:
    # A request that failed mid-response (urllib) left its response and socket to the collector:
    # finalize them here, where that is expected, instead of inside a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def _serve(
    cmd: Sequence[str], url: str, ready_path: str, log: Path, deadline_s: float = 20.0
) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT)
    server = Server(url, process, log)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {process.returncode}:\n{server.logs()}")
            return http_ok(url + ready_path)

        wait_until(ready, deadline_s, f"{cmd[0]} to be ready at {url}")
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process` if it still runs, killing it after 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def http_receiver(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served in a thread on a free 127.0.0.1 port; yields the base URL. Leaving joins the
    handler threads (`daemon_threads` off): no connection is left for the garbage collector to find."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def prometheus(
    workdir: Path, config: str, storage: Path | None = None, extra_args: Sequence[str] = ()
) -> Iterator[Server]:
    """Prometheus with `config` (YAML text) on a free 127.0.0.1 port; `storage` may hold backfilled blocks."""
    exe = binary("prometheus")
    assert exe, "prometheus not installed"
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(config)
    data = storage or workdir / "data"
    cmd = [
        exe,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        # Backfilled blocks carry old timestamps; keep them queryable whatever their age.
        "--storage.tsdb.retention.time=3650d",
        *extra_args,
    ]
    with _serve(cmd, f"http://127.0.0.1:{port}", "/-/ready", workdir / "prometheus.log") as server:
        yield server


@contextmanager
def alertmanager(workdir: Path, config: str) -> Iterator[Server]:
    exe = binary(*ALERTMANAGER_NAMES)
    assert exe, "alertmanager not installed"
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(config)
    cmd = [
        exe,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # An empty cluster address turns off gossip, which would otherwise bind 0.0.0.0:9094.
        "--cluster.listen-address=",
    ]
    with _serve(cmd, f"http://127.0.0.1:{port}", "/-/ready", workdir / "alertmanager.log") as server:
        yield server


def query(server: Server, expr: str, at: float | None = None) -> Any:
    data = {"query": expr}
    if at is not None:
        data["time"] = f"{at:.3f}"
    return http_json(f"{server.url}/api/v1/query", data)


def backfill(openmetrics: str, storage: Path, workdir: Path) -> None:
    """Write `openmetrics` (with timestamps, ending in `# EOF`) into TSDB blocks under `storage`."""
    exe = binary("promtool")
    assert exe, "promtool not installed"
    source = workdir / "backfill.om"
    source.write_text(openmetrics)
    storage.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [exe, "tsdb", "create-blocks-from", "openmetrics", str(source), str(storage)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"promtool backfill failed:\n{result.stdout}\n{result.stderr}")
