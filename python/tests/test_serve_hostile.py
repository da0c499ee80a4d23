"""`density-serve` against hostile or careless clients, over real sockets: foreign and doubled
`Host`, cross-origin event streams, streams opened and dropped, silent and half-sent requests, a
flood of half-sent requests (the server's resident size comes back), HEAD, a large POST, a store
deleted under the server, and URL-standard decoding of paths and queries."""

import json
import os
import selectors
import socket
import sqlite3
import subprocess
import time

import pytest

import feature_density as fd
from conftest import density
from serve_helpers import SERVE, Server, open_stream, status_of, wait_until


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("hostile") / "runs.sqlite")
    density("demo", "--db", path, "--features", "64", "--checkpoints", "6", "--every", "100")
    return path


@pytest.fixture(scope="module")
def server(db):
    server = Server(db, "--idle-timeout", "2")
    yield server
    server.stop()


def raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends `data` as is and reads until the server closes or `timeout` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_all(s, timeout)


def read_all(s: socket.socket, timeout: float) -> bytes:
    s.settimeout(timeout)
    chunks = []
    try:
        while chunk := s.recv(65536):
            chunks.append(chunk)
    except TimeoutError:
        pass
    return b"".join(chunks)


def get(port: int, path: str, host: str | None = "127.0.0.1", extra: str = "") -> bytes:
    host_line = f"Host: {host}\r\n" if host is not None else ""
    return raw(port, f"GET {path} HTTP/1.1\r\n{host_line}{extra}Connection: close\r\n\r\n".encode())


# MARK: - Host


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "attacker.localhost.example", "127.0.0.1.nip.io", "localhost:x"])
def test_a_foreign_host_is_refused(server, host):
    response = get(server.port, "/api/runs", host=host)
    assert status_of(response) == 421, response[:200]
    assert b"--allow-host" in response and b'"demo"' not in response


def test_a_doubled_or_missing_host_is_400(server):
    doubled = get(server.port, "/api/runs", extra="Host: evil.example\r\n")
    assert status_of(doubled) == 400 and b"exactly one Host" in doubled
    missing = raw(server.port, b"GET /api/runs HTTP/1.0\r\n\r\n")
    assert status_of(missing) == 400


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]:8765", "localhost:9000"])
def test_loopback_names_are_answered_on_any_port(server, host):
    response = get(server.port, "/api/runs", host=host)
    assert status_of(response) == 200 and b'"demo"' in response


def test_allow_host_admits_a_name_on_purpose(db):
    plain = Server(db)
    named = Server(db, "--allow-host", "gpu-box", "--allow-host", "10.1.2.3")
    try:
        assert status_of(get(plain.port, "/api/runs", host="gpu-box:8765")) == 421
        assert status_of(get(named.port, "/api/runs", host="gpu-box:8765")) == 200
        assert status_of(get(named.port, "/api/runs", host="10.1.2.3")) == 200
        assert status_of(get(named.port, "/api/runs", host="gpu-box.evil.example")) == 421
    finally:
        plain.stop()
        named.stop()


# MARK: - Event streams


def test_a_cross_origin_stream_is_refused(server):
    s, received = open_stream(server.port, origin="http://evil.example")
    s.close()
    assert status_of(received) == 403 and b"evil.example" in received
    s, received = open_stream(server.port, origin=f"http://127.0.0.1:{server.port}")
    s.close()
    assert status_of(received) == 200 and b"text/event-stream" in received


def test_slots_are_freed_when_clients_go_away(server):
    for _ in range(100):
        s, received = open_stream(server.port)
        assert status_of(received) == 200, received
        s.close()
    started = time.monotonic()
    s, received = open_stream(server.port)
    s.close()
    assert status_of(received) == 200 and time.monotonic() - started < 1.0
    # All slots taken by live streams: the next is refused, and admitted at once when they close.
    held = [open_stream(server.port) for _ in range(32)]
    assert all(status_of(r) == 200 for _, r in held)
    s, refused = open_stream(server.port)
    s.close()
    assert status_of(refused) == 503 and b"tries again by itself" in refused
    for s, _ in held:
        s.close()
    assert wait_until(lambda: status_of(open_stream(server.port)[1]) == 200, timeout=1.0)


def test_head_of_the_stream_takes_no_slot(server):
    for _ in range(40):
        response = raw(server.port, f"HEAD /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        assert status_of(response) == 200 and response.endswith(b"\r\n\r\n")
    s, received = open_stream(server.port)
    s.close()
    assert status_of(received) == 200


# MARK: - Slow and silent clients


def test_a_silent_connection_is_closed_after_the_idle_timeout(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        started = time.monotonic()
        assert read_all(s, 30) == b""
        took = time.monotonic() - started
    assert 1.5 < took < 5, took


def test_a_request_trickled_byte_by_byte_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        started = time.monotonic()
        s.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = False
        for _ in range(40):  # a header byte every 0.25 s, never the blank line
            try:
                s.sendall(b"X")
            except OSError:
                closed = True
                break
            s.settimeout(0.25)
            try:
                if s.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        took = time.monotonic() - started
    assert closed and took < 5, took


def test_an_idle_keep_alive_connection_is_closed(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        started = time.monotonic()
        response = read_all(s, 30)
        took = time.monotonic() - started
    assert status_of(response) == 200 and b'"demo"' in response and took < 5


def test_the_default_idle_timeout_is_at_most_30_seconds():
    result = subprocess.run([SERVE, "--help"], capture_output=True, text=True)
    options = result.stdout.split("OPTIONS:", 1)[1]
    help_text = options[options.index("--idle-timeout"):]
    default = int(help_text.split("(default: ", 1)[1].split(")", 1)[0])
    assert 0 < default <= 30
    bad = subprocess.run([SERVE, "--idle-timeout", "0"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--idle-timeout must be 1 to 30" in bad.stderr


def resident_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def flood(server, count=1000):
    """Opens `count` connections at once, each sending a request's first line and headers but never
    the blank line that ends them, then closes them all; returns how many sent their bytes and the
    most files the server held open meanwhile."""
    selector = selectors.DefaultSelector()
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", server.port))
        selector.register(s, selectors.EVENT_WRITE)
        sockets.append(s)
    sent, most_files, deadline = 0, 0, time.monotonic() + 5
    while time.monotonic() < deadline and sent < count:
        for key, _ in selector.select(timeout=0.2):
            try:
                key.fileobj.send(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 200)
                sent += 1
            except OSError:
                pass
            selector.unregister(key.fileobj)
        most_files = max(most_files, open_files(server.process.pid))
    for s in sockets:
        s.close()
    return sent, most_files


def test_a_flood_of_half_sent_requests_is_given_back(db):
    """The first burst from a cold start raises the allocator's high-water mark once (about 4 MB
    here); from then on each flood of 1,000 half-sent requests is given back within 10%."""
    server = Server(db, "--idle-timeout", "30")
    try:
        for _ in range(3):  # ordinary traffic, then a first burst: a server that has seen both
            for path in ["/api/runs", "/api/runs/demo/show", "/ui/runs/demo/panels", "/runs/demo"]:
                assert server.get(path)[0] == 200
        files_before = open_files(server.process.pid)
        flood(server)
        assert wait_until(lambda: open_files(server.process.pid) <= files_before, timeout=10)
        time.sleep(1.5)
        before = resident_kb(server.process.pid)
        for _ in range(2):
            sent, most_files = flood(server)
            assert sent > 256  # more than the server holds: the kernel queues the rest, or they wait to connect
            assert most_files <= files_before + 256 + 8  # at most 256 connections at once
            assert wait_until(lambda: open_files(server.process.pid) <= files_before, timeout=10)
            assert wait_until(lambda: resident_kb(server.process.pid) <= before * 1.10, timeout=10), \
                (before, resident_kb(server.process.pid))
        assert server.get("/api/runs")[0] == 200  # and it still answers
    finally:
        server.stop()


# MARK: - Methods


def test_head_gives_the_get_headers_without_a_body(server):
    get_response = get(server.port, "/api/runs/demo/show")
    head = raw(server.port, b"HEAD /api/runs/demo/show HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status_of(head) == 200 and head.endswith(b"\r\n\r\n")
    length = lambda r: [line for line in r.split(b"\r\n") if line.lower().startswith(b"content-length")]
    assert length(head) == length(get_response) and length(head)
    missing = raw(server.port, b"HEAD /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status_of(missing) == 404 and missing.endswith(b"\r\n\r\n")


def test_a_large_post_gets_405_and_the_connection_ends(server):
    body = b"x" * (5 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body))
        started = time.monotonic()
        try:
            s.sendall(body)
        except OSError:
            pass  # the server may close before the last bytes; the answer was sent first
        response = read_all(s, 10)
        took = time.monotonic() - started
    assert status_of(response) == 405 and b"connection: close" in response.lower()
    assert b"GET or HEAD" in response
    assert took < 5  # the server ended the connection, not our timeout


# MARK: - Server faults


def remove_store(path, tmp_path):
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def replace_store(path, tmp_path):
    replacement = str(tmp_path / "other.sqlite")
    sqlite3.connect(replacement).execute("CREATE TABLE t(x)").connection.commit()
    os.replace(replacement, path)


@pytest.mark.parametrize("fault,status,says", [(remove_store, 503, "deleted or moved"),
                                                (replace_store, 500, "could not read the store")])
def test_a_store_gone_or_damaged_is_a_server_error(tmp_path, fault, status, says):
    path = str(tmp_path / "store.sqlite")
    density("demo", "--db", path, "--features", "32", "--checkpoints", "4")
    server = Server(path)
    try:
        assert server.get("/api/runs/demo/show")[0] == 200
        fault(path, tmp_path)
        answer = server.json("/api/runs/demo/show", status=status)
        assert says in answer["error"]
        # A store put back under the same name is read, not through the old handles.
        remove_store(path, tmp_path)
        density("demo", "--db", path, "--features", "32", "--checkpoints", "4", "--run", "again")
        assert [r["name"] for r in server.json("/api/runs")] == ["again"]
    finally:
        server.stop()


# MARK: - Decoding


def test_queries_decode_as_forms_and_paths_percent_decode(tmp_path):
    path = str(tmp_path / "names.sqlite")
    store = fd.Store(path)
    names = ["a b", "x+y", "100%", "d-e", "é"]
    for name in names:
        store.create(name, features=4)
    with sqlite3.connect(path) as connection:  # runs named '..' and 'd/e', as an older build could create
        connection.execute("UPDATE runs SET name = '..' WHERE name = 'a b'")
        connection.execute("UPDATE runs SET name = 'd/e' WHERE name = 'd-e'")
    server = Server(path)
    try:
        assert "no checkpoints yet" in server.json("/api/runs/%2E%2E/show", status=404)["error"]
        status, _, page = server.get("/runs/%2E%2E")
        assert status == 200 and "Run '..'" in page
        for name, encoded in [("x+y", "x%2By"), ("100%", "100%25"), ("d/e", "d%2Fe"), ("é", "%C3%A9")]:
            status, _, page = server.get(f"/runs/{encoded}")
            assert status == 200 and f"Run '{name}'" in page, (encoded, status)
        # `+` in a path is a plus: 'x+y' is the run, not 'x y'.
        assert server.get("/runs/x+y")[0] == 200
        # In a query `+` is a space and names are decoded: 'st%65p' is 'step', '1+0' is '1 0'.
        answer = server.json("/api/runs/d%2Fe/show?st%65p=1+0", status=400)
        assert answer["parameter"] == "step" and "'1 0'" in answer["error"]
        answer = server.json("/api/runs/d%2Fe/show?step=%ZZ", status=400)
        assert "'%ZZ'" in answer["error"]
    finally:
        server.stop()


def test_a_trend_has_no_cap_on_either_side(db, server):
    """The API draws every checkpoint, as the CLI does: no cap on either side."""
    cli = json.loads(density("trend", "demo", "--feature", "1", "--db", db, "--format", "json").stdout)
    api = server.json("/api/runs/demo/trend?feature=1&points=1000000")
    assert api == cli and len(api["points"]) == 6


def test_density_serve_forwards_the_allow_list_the_timeout_and_the_readers(db):
    from conftest import DENSITY
    server = Server(db, "--allow-host", "gpu-box", "--idle-timeout", "1", "--readers", "1", binary=[DENSITY, "serve"])
    try:
        assert status_of(get(server.port, "/api/runs", host="gpu-box:9000")) == 200
        assert status_of(get(server.port, "/api/runs", host="other-box")) == 421
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            started = time.monotonic()
            assert read_all(s, 30) == b"" and time.monotonic() - started < 3
    finally:
        server.stop()
    refused = subprocess.run([DENSITY, "serve", "--readers", "0", "--db", db], capture_output=True, text=True)
    assert refused.returncode != 0 and "--readers must be 1 to 64" in refused.stderr


def test_it_stops_at_once_with_a_stream_open(db):
    server = Server(db)
    s, received = open_stream(server.port)
    try:
        assert status_of(received) == 200
        started = time.monotonic()
        server.process.terminate()
        assert server.process.wait(timeout=10) == 0 and time.monotonic() - started < 3
    finally:
        s.close()
        server.stop()
