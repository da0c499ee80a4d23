"""`density-serve`'s JSON API against the CLI, endpoint by endpoint: the same bytes as
`density ... --format json` with the same arguments, step specs included; every error code; the
store never written; answers while a writer appends and compacts."""

import hashlib
import http.client
import json
import threading
import urllib.parse

import numpy as np
import pytest

import feature_density as fd
from conftest import DENSITY, density
from serve_helpers import Server, wait_until


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A store with the demo run (40 checkpoints) and a run with components, served."""
    db = str(tmp_path_factory.mktemp("serve") / "runs.sqlite")
    density("demo", "--db", db, "--features", "256", "--checkpoints", "12", "--every", "100")
    fd.Store(db).create("multi", features=8, components=2)
    rng = np.random.default_rng(3)
    counts = np.zeros((2, 8), dtype=np.int64)
    with fd.DensityRecorder("multi", db=db) as recorder:
        for step in range(10, 60, 10):
            counts += rng.integers(0, 3, size=(2, 8))
            recorder.record(step, counts, step * 2)
    server = Server(db)
    yield db, server
    server.stop()


def cli_json(db, *arguments):
    result = density(*arguments, "--db", db, "--format", "json")
    return result.stdout


# (endpoint path and query, the CLI's arguments)
CASES = [
    ("/api/runs", ["runs"]),
    ("/api/runs/demo/show", ["show", "demo"]),
    ("/api/runs/demo/show?step=latest", ["show", "demo", "--step", "latest"]),
    ("/api/runs/demo/show?step=first", ["show", "demo", "--step", "first"]),
    ("/api/runs/demo/show?step=-3", ["show", "demo", "--step", "-3"]),
    ("/api/runs/demo/show?step=550", ["show", "demo", "--step", "550"]),
    ("/api/runs/demo/diff?from=-1", ["diff", "demo", "--from", "-1"]),
    ("/api/runs/demo/diff?from=start&to=first", ["diff", "demo", "--from", "start", "--to", "first"]),
    ("/api/runs/demo/diff?from=300&to=-2", ["diff", "demo", "--from", "300", "--to", "-2"]),
    ("/api/runs/demo/diff?window=-4:latest", ["diff", "demo", "--window", "-4:latest"]),
    ("/api/runs/multi/diff?from=first", ["diff", "multi", "--from", "first"]),
    ("/api/runs/demo/trend?feature=7", ["trend", "demo", "--feature", "7"]),
    ("/api/runs/demo/trend?feature=0&points=5", ["trend", "demo", "--feature", "0", "--points", "5"]),
    ("/api/runs/demo/trend?feature=3&every=4", ["trend", "demo", "--feature", "3", "--every", "4"]),
    ("/api/runs/multi/trend?feature=5&component=1", ["trend", "multi", "--feature", "5", "--component", "1"]),
    ("/api/runs/demo/dead", ["dead", "demo"]),
    ("/api/runs/demo/dead?window=start:-6", ["dead", "demo", "--window", "start:-6"]),
    ("/api/runs/demo/dead?window=-6:latest&threshold=0.001", ["dead", "demo", "--window", "-6:latest", "--threshold", "0.001"]),
    ("/api/runs/demo/dead?last_vectors=3000", ["dead", "demo", "--last-vectors", "3000"]),
    ("/api/runs/multi/dead?from=first", ["dead", "multi", "--from", "first"]),
    ("/api/runs/demo/histogram", ["histogram", "demo"]),
    ("/api/runs/demo/histogram?step=first", ["histogram", "demo", "--step", "first"]),
    ("/api/runs/demo/histogram?step=-2&bins=7", ["histogram", "demo", "--step", "-2", "--bins", "7"]),
    ("/api/runs/multi/histogram?step=35", ["histogram", "multi", "--step", "35"]),
]


@pytest.mark.parametrize("path,arguments", CASES, ids=[c[0] for c in CASES])
def test_endpoint_answers_what_the_cli_prints(served, path, arguments):
    db, server = served
    status, headers, body = server.get(path)
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    assert body == cli_json(db, *arguments)


def test_the_cli_json_is_real_data(served):
    """Guards the comparison above against two empty answers: the demo run has 12 checkpoints."""
    _, server = served
    runs = server.json("/api/runs")
    assert {r["name"]: r["checkpoints"] for r in runs} == {"demo": 12, "multi": 5}
    trend = server.json("/api/runs/demo/trend?feature=7")
    assert len(trend["points"]) == 12 and trend["points"][-1]["step"] == runs[0]["latest_step"]


BAD = [
    ("/api/runs/demo/show?step=soon", "step"),
    ("/api/runs/demo/show?step=start", "step"),
    ("/api/runs/demo/show?step=-12", "step"),
    ("/api/runs/demo/show?step=5", "step"),
    ("/api/runs/demo/show?stp=1", "stp"),
    ("/api/runs/demo/show?step=1&step=2", "step"),
    ("/api/runs/demo/diff", "from"),
    ("/api/runs/demo/diff?from=latest&to=first", "from"),
    ("/api/runs/demo/diff?to=-1", "to"),
    ("/api/runs/demo/diff?window=1:2:3", "window"),
    ("/api/runs/demo/diff?window=-1:latest&from=2", "window"),
    ("/api/runs/demo/trend", "feature"),
    ("/api/runs/demo/trend?feature=x", "feature"),
    ("/api/runs/demo/trend?feature=256", "feature"),
    ("/api/runs/demo/trend?feature=1&component=0", "component"),
    ("/api/runs/multi/trend?feature=1", "component"),
    ("/api/runs/multi/trend?feature=1&component=2", "component"),
    ("/api/runs/demo/trend?feature=1&points=1", "points"),
    ("/api/runs/demo/trend?feature=1&points=3&every=2", "points"),
    ("/api/runs/demo/dead?threshold=2", "threshold"),
    ("/api/runs/demo/dead?last_vectors=999999999", "last_vectors"),
    ("/api/runs/demo/dead?window=latest:first", "window"),
    ("/api/runs/demo/histogram?bins=0", "bins"),
    ("/api/runs/demo/bin?bin=20", "bin"),
    ("/api/runs/demo/bin?bin=1&limit=100000", "limit"),
]


@pytest.mark.parametrize("path,parameter", BAD, ids=[b[0] for b in BAD])
def test_a_bad_parameter_is_400_naming_it(served, path, parameter):
    db, server = served
    status, headers, body = server.get(path)
    assert status == 400, body
    assert headers["content-type"].startswith("application/json")
    answer = json.loads(body)
    assert answer["parameter"] == parameter and answer["error"]
    # A web user is told what was wrong with the request, never a command line's flag or command.
    assert "--" not in answer["error"] and "`density" not in answer["error"], answer["error"]


@pytest.mark.parametrize("path", ["/api/runs/nope/show", "/api/runs/nope/trend?feature=1", "/runs/nope",
                                  "/api/runs/nope/dead", "/ui/runs/nope/panels"])
def test_an_unknown_run_is_404(served, path):
    _, server = served
    status, _, body = server.get(path)
    assert status == 404 and "nope" in json.loads(body)["error"]


@pytest.mark.parametrize("path", ["/etc/passwd", "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/api/runs/..%2f..%2fetc%2fpasswd/show", "/runs.sqlite", "/api/runs/demo/nothing",
                                  "/static/app.js", "/favicon.ico"])
def test_no_path_maps_to_a_file(served, path):
    db, server = served
    status, _, body = server.get(path)
    assert status == 404, body
    assert "root:" not in body and "SQLite format" not in body
    assert "error" in json.loads(body)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(served, method):
    _, server = served
    for path in ["/api/runs", "/api/runs/demo/show", "/"]:
        status, headers, body = server.request(method, path, body=b"{}")
        assert status == 405 and headers["allow"] == "GET, HEAD"
        assert "GET" in json.loads(body)["error"]


def test_pages_are_self_contained(served):
    _, server = served
    for path in ["/", "/runs/demo", "/ui/runs/demo/panels", "/ui/runs/demo/trend?feature=3"]:
        status, headers, body = server.get(path)
        assert status == 200, body
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "http://" not in body and "https://" not in body and "src=" not in body
    panels = server.get("/ui/runs/demo/panels")[2]
    for panel in ["histogram", "dead-dense", "vectors", "heatmap"]:
        assert f'data-panel="{panel}"' in panels


def test_a_bar_lists_the_features_of_its_bin(served):
    db, server = served
    histogram = server.json("/api/runs/demo/histogram?bins=20")
    state = json.loads(cli_json(db, "diff", "demo", "--from", "start"))["density"]
    for index, bin in enumerate(histogram["bins"]):
        listed = server.json(f"/api/runs/demo/bin?bin={index}&bins=20&limit=1000")
        assert listed["count"] == bin["count"]
        for feature in listed["features"]:
            assert feature["density"] == state[feature["feature"]]
    assert server.json("/api/runs/demo/bin?bin=0&limit=3")["features"].__len__() <= 3


def test_the_store_is_never_written(tmp_path):
    db = str(tmp_path / "ro.sqlite")
    density("demo", "--db", db, "--features", "64", "--checkpoints", "4")
    before = hashlib.sha256(open(db, "rb").read()).hexdigest()
    server = Server(db)
    try:
        for path in ["/api/runs", "/api/runs/demo/show", "/api/runs/demo/diff?from=first", "/ui/runs/demo/panels"]:
            assert server.get(path)[0] == 200
        assert server.request("POST", "/api/runs")[0] == 405
    finally:
        server.stop()
    assert hashlib.sha256(open(db, "rb").read()).hexdigest() == before


def test_it_keeps_answering_while_a_writer_appends_and_compacts(tmp_path):
    db = str(tmp_path / "live.sqlite")
    fd.Store(db).create("live", features=512)
    rng = np.random.default_rng(5)
    counts = np.zeros(512, dtype=np.int64)
    recorder = fd.DensityRecorder("live", db=db)
    counts += rng.integers(0, 2, 512)
    recorder.record(1, counts, 10)
    counts += 1
    recorder.record(2, counts, 20)
    server = Server(db)
    assert wait_until(lambda: server.get("/api/runs/live/show")[0] == 200)
    failures, answered, stop = [], [0], threading.Event()

    def client():
        paths = ["/api/runs", "/api/runs/live/show", "/api/runs/live/trend?feature=3",
                 "/api/runs/live/diff?from=first", "/api/runs/live/dead", "/ui/runs/live/panels"]
        while not stop.is_set():
            for path in paths:
                status, _, body = server.get(path)
                answered[0] += 1
                if status != 200:
                    failures.append((path, status, body))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for step in range(3, 240):
            counts += rng.integers(0, 3, 512)
            recorder.record(step, counts, step * 10)
            if step % 40 == 0:
                recorder.close()
                density("compact", "live", "--db", db, "--keep-every", "5")
                recorder = fd.DensityRecorder("live", db=db)
    finally:
        recorder.close()
        assert wait_until(lambda: server.json("/api/runs/live/show")["step"] == 239)
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    assert failures == [] and answered[0] > 100
    assert json.loads(density("runs", "--db", db, "--format", "json").stdout)[0]["checkpoints"] < 239  # it compacted


def test_density_serve_runs_the_server_and_warns_off_loopback(served):
    db, _ = served
    server = Server(db, "--host", "127.0.0.2", binary=[DENSITY, "serve"])
    try:
        assert server.process.args[0] == DENSITY
        connection = http.client.HTTPConnection("127.0.0.2", server.port, timeout=10)
        connection.request("GET", "/api/runs")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())[0]["name"] == "demo"
    finally:
        stderr = server.stop()
    assert "warning" in stderr and "127.0.0.2" in stderr


def test_density_serve_without_the_server_says_how_to_get_it(tmp_path):
    import os
    import shutil
    import subprocess
    lonely = tmp_path / "bin"
    lonely.mkdir()
    shutil.copy(DENSITY, lonely / "density")
    result = subprocess.run([str(lonely / "density"), "serve", "--db", str(tmp_path / "x.sqlite")],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "swift build --product density-serve" in result.stderr and "wheel" in result.stderr


def test_a_run_without_checkpoints_is_404_saying_so(tmp_path):
    db = str(tmp_path / "empty.sqlite")
    fd.Store(db).create("empty", features=4)
    server = Server(db)
    try:
        for path in ["/api/runs/empty/show", "/api/runs/empty/trend?feature=1", "/api/runs/empty/dead"]:
            status, _, body = server.get(path)
            assert status == 404 and "no checkpoints yet" in json.loads(body)["error"]
        assert server.json("/api/runs")[0]["checkpoints"] == 0
    finally:
        server.stop()
