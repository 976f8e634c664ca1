"""A real redis-server for tests: started on a free localhost port with persistence off, killed,
paused, restarted on the same port, and stopped at teardown. Readiness is polled with a raw PING
over a socket, so no client object outlives a check; `call` and `contents` read the database the
same way, so a test sees exactly what the code under test wrote, through no client of its own."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="anthropic-otel-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--protected-mode", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode} on port {self.port}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server not ready on port {self.port} after {timeout} s")
            time.sleep(0.01)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to clients, exactly like a crashed or OOM-killed server."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers, like a stalled server."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *args: str) -> bytes:
        """One raw RESP command and its raw reply (enough for FLUSHALL, KEYS and GET in tests)."""
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"".join(parts))
            sock.settimeout(0.2)
            chunks = []
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except socket.timeout:
                pass
        return b"".join(chunks)

    def call(self, *args: str) -> Any:
        """One command, its reply parsed: bytes, int, None, a list, or RedisError for an error reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(_encode(args))
            return _Reply(sock).read()

    def contents(self) -> dict[bytes, Any]:
        """Every key in the database (found by SCAN) and its value: GET for strings, HGETALL for hashes."""
        keys: list[bytes] = []
        cursor = b"0"
        while True:
            cursor, batch = self.call("SCAN", cursor.decode(), "COUNT", "1000")
            keys.extend(batch)
            if cursor == b"0":
                break
        values: dict[bytes, Any] = {}
        for key in keys:
            kind = self.call("TYPE", key.decode())
            if kind == b"string":
                values[key] = self.call("GET", key.decode())
            elif kind == b"hash":
                flat = self.call("HGETALL", key.decode())
                values[key] = dict(zip(flat[::2], flat[1::2]))
            else:
                values[key] = (kind,)
        return values


class RedisError(Exception):
    pass


def _encode(args: tuple[str, ...]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Reply:
    """Reads exactly one RESP2 reply from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._more()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n + 2:
            self._more()
        data, self.buffer = self.buffer[:n], self.buffer[n + 2 :]
        return data

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis-server closed the connection mid-reply")
        self.buffer += chunk

    def read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else self._exactly(int(rest))
        if kind == b"*":
            return None if int(rest) < 0 else [self.read() for _ in range(int(rest))]
        raise ValueError(f"not a RESP reply: {line!r}")


def env_for_subprocess() -> dict[str, str]:
    """The environment for helper scripts: the repo importable, OTel SDK quiet."""
    env = dict(os.environ)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    return env
