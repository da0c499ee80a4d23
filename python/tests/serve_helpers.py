"""Starting `density-serve` on a free loopback port, for the web UI's tests and the load test."""

import http.client
import json
import os
import re
import socket
import subprocess
import time

from conftest import DENSITY

SERVE = os.path.join(os.path.dirname(DENSITY), "density-serve")


class Server:
    """A running density-serve: its port, and GET/other requests returning (status, headers, body).
    `env` is its environment (default: this process's)."""

    def __init__(self, db: str, *extra: str, binary: list[str] | None = None, port: int = 0, env: dict | None = None):
        command = binary or [SERVE]
        self.process = subprocess.Popen([*command, "--db", db, "--port", str(port), *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.process.stdout.readline()
        match = re.search(r"http://[^:]+:(\d+)/", line)
        if not match:
            self.process.kill()
            raise AssertionError(f"density-serve did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
        finally:
            connection.close()

    def get(self, path: str):
        return self.request("GET", path)

    def json(self, path: str, status: int = 200):
        code, _, body = self.get(path)
        assert code == status, f"{path}: {code} {body}"
        return json.loads(body)

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, stderr = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return stderr


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 response."""
    return int(response.split(b" ", 2)[1])


def open_stream(port: int, origin: str | None = None) -> tuple[socket.socket, bytes]:
    """Opens /api/events on a raw socket; returns the socket and what arrived up to the first
    event, or the whole refusal (a 4xx or 5xx and its JSON)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    origin_line = f"Origin: {origin}\r\n" if origin else ""
    s.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{origin_line}\r\n".encode())
    received = b""
    while b"data: 0\n\n" not in received:
        chunk = s.recv(4096)
        if not chunk:
            break
        received += chunk
        head, blank, body = received.partition(b"\r\n\r\n")
        if blank and status_of(received) != 200:
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += s.recv(4096)
            return s, head + blank + body
    return s, received


def wait_until(condition, timeout=20.0, interval=0.1):
    """Polls `condition` until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
