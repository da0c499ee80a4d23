"""Starting `density-serve` on a free loopback port, for the web UI's tests and the load test."""

import http.client
import json
import os
import re
import subprocess
import time

from conftest import DENSITY

SERVE = os.path.join(os.path.dirname(DENSITY), "density-serve")


class Server:
    """A running density-serve: its port, and GET/other requests returning (status, headers, body)."""

    def __init__(self, db: str, *extra: str, binary: list[str] | None = None):
        command = binary or [SERVE]
        self.process = subprocess.Popen([*command, "--db", db, "--port", "0", *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def wait_until(condition, timeout=20.0, interval=0.1):
    """Polls `condition` until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
