"""Readers of a mirror on NFS survive the mirror being replaced under them.

On NFS, when the recorder on a compute node renames a new snapshot over the mirror, the old file is
deleted on the server, and a reader on the login node that holds it open gets ESTALE from its next
read. Simulated here with an LD_PRELOAD interposer of read/pread/pread64 that fails, with ESTALE,
every read of a descriptor whose file has been unlinked or renamed over (its /proc/self/fd link
ends in " (deleted)"), exactly as an NFS client does, logging each injection. A real
`density record --mirror` replaces the mirror over a hundred times while `density` commands and
`density-serve` read it under the interposer: no error, and every answer one whole snapshot. The
control: with the retry switched off (DENSITY_TEST_MIRROR_RETRIES=0) the same readers fail. And a
live (WAL) store's read failure stays an error, asked once; a mirror's is asked again a bounded
number of times. An answer streamed to stdout that was cut short by the replacement is never
followed by the whole answer asked again: it ends there, with the error.
"""

import json
import os
import re
import shutil
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import safetensors.numpy

import feature_density as fd
from conftest import DENSITY
from serve_helpers import Server

# ESTALE for reads of a deleted file (the NFS client's view of a file deleted on the server), and,
# for the live-store control, for reads of DENSITY_TEST_ESTALE_FILE at offsets from
# DENSITY_TEST_ESTALE_FROM on. DENSITY_TEST_REPLACE_WITH is renamed over DENSITY_TEST_ESTALE_FILE
# right after the process's first DENSITY_TEST_REPLACE_AFTER reads of it, as the recorder would. Each injection appends "pid path" to DENSITY_TEST_ESTALE_LOG.
# DENSITY_TEST_READ_DELAY_US makes every pread take that long, as over a network.
INTERPOSER = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int stale(int fd, long long offset) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    int deleted = n > 10 && strcmp(target + n - 10, " (deleted)") == 0, failing = 0;
    const char *file = getenv("DENSITY_TEST_ESTALE_FILE"), *from = getenv("DENSITY_TEST_ESTALE_FROM");
    const char *after = getenv("DENSITY_TEST_REPLACE_AFTER"), *with = getenv("DENSITY_TEST_REPLACE_WITH");
    static long reads;
    if (file && offset >= 0 && strcmp(target, file) == 0) {
        failing = from && offset >= atoll(from);
        /* the recorder renames the next snapshot over the file just before this read */
        if (after && with && ++reads > atol(after) && rename(with, file) == 0) deleted = 1;
    }
    if (!deleted && !failing) return 0;
    const char *log = getenv("DENSITY_TEST_ESTALE_LOG");
    if (log) {
        int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (out >= 0) { dprintf(out, "%d %s\n", (int)getpid(), target); close(out); }
    }
    return 1;
}
/* a network file system's read takes a round trip: DENSITY_TEST_READ_DELAY_US */
static void delay(void) {
    const char *us = getenv("DENSITY_TEST_READ_DELAY_US");
    if (us) usleep(atoi(us));
}
#define WRAP(name, offset_type) \
    ssize_t name(int fd, void *buf, size_t count, offset_type offset) { \
        static ssize_t (*real)(int, void *, size_t, offset_type); \
        if (!real) real = (ssize_t (*)(int, void *, size_t, offset_type))dlsym(RTLD_NEXT, #name); \
        delay(); \
        if (stale(fd, offset)) { errno = ESTALE; return -1; } \
        return real(fd, buf, count, offset); \
    }
WRAP(pread, off_t)
WRAP(pread64, off64_t)
ssize_t read(int fd, void *buf, size_t count) {
    static ssize_t (*real)(int, void *, size_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    if (stale(fd, -1)) { errno = ESTALE; return -1; }
    return real(fd, buf, count);
}
"""

FEATURES = 4096
FEATURE = 1234  # the feature the trend endpoint is asked about


@pytest.fixture(scope="module")
def interposer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interposer")
    (folder / "stale.c").write_text(INTERPOSER)
    built = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(folder / "stale.so"), str(folder / "stale.c"), "-ldl"],
                           capture_output=True, text=True)
    assert built.returncode == 0, f"building the ESTALE interposer needs a C compiler (gcc): {built.stderr}"
    return str(folder / "stale.so")


def expected(step: int) -> tuple[np.ndarray, int]:
    """The run's state at `step`: every checkpoint tells from its step alone what it holds."""
    i = np.arange(FEATURES, dtype=np.int64)
    return step * (i % 5) + np.minimum(step, i % 7), 10 * step


def reader_env(interposer: str, log: str, **extra: str) -> dict:
    return dict(os.environ, LD_PRELOAD=interposer, DENSITY_TEST_ESTALE_LOG=log, **extra)


def injections(log: str) -> list[tuple[int, str]]:
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [(int(pid), path) for pid, path in (line.rstrip("\n").split(" ", 1) for line in f)]


@dataclass
class Readings:
    """What the readers got: whole answers (by reader) and errors."""
    answers: dict = field(default_factory=lambda: {"cli": 0, "serve": 0})
    errors: dict = field(default_factory=lambda: {"cli": [], "serve": []})
    steps: set = field(default_factory=set)
    snapshots: int = 0
    injected: dict = field(default_factory=dict)


def whole_state(out: bytes) -> int:
    """The step of a `density state --out -` answer, checked to be that step's stored state."""
    tensors = safetensors.numpy.load(out)
    step = int(tensors["step"])
    counts, vectors = expected(step)
    assert int(tensors["num_activation_vectors"]) == vectors, f"step {step}: vectors {tensors['num_activation_vectors']}"
    assert np.array_equal(tensors["neuron_fired_count"], counts), f"step {step}: counts of another state"
    return step


def whole_runs(rows: list) -> int:
    """The latest step of a `runs` answer, checked against its checkpoint count and vectors."""
    (row,) = rows
    step = row["latest_step"]
    assert row["checkpoints"] == step and row["vectors"] == 10 * step, f"torn runs row: {row}"
    return step


def whole_show(answer: dict) -> int:
    counts, vectors = expected(answer["step"])
    assert answer["vectors"] == vectors, f"torn show: {answer}"
    assert answer["mean_density"] == pytest.approx(counts.mean() / vectors, rel=1e-12), f"torn show: {answer}"
    return answer["step"]


def whole_trend(answer: dict) -> int:
    steps = [point["step"] for point in answer["points"]]
    assert steps == sorted(set(steps)) and steps, f"trend steps {steps}"
    for point in answer["points"]:
        counts, vectors = expected(point["step"])
        assert (point["count"], point["vectors"]) == (counts[FEATURE], vectors), f"torn trend point {point}"
    return steps[-1]


def replace_under_readers(tmp_path, capsys, interposer, extra_env: dict, enough) -> Readings:
    """Records a run, a step every 0.1 s or so, mirrored as soon as a step is stored (so one
    snapshot per step, replaced far more often than the default 60 s, yet less often than a
    question takes to answer) while two `density` readers and
    a `density-serve` read the mirror under the interposer, until at least 150 steps were recorded
    and `enough(readings)` holds (at most 1,500 steps). density record's own lines (its count of
    snapshots) are read from the captured stderr."""
    db, shared = str(tmp_path / "run.sqlite"), tmp_path / "shared"
    shared.mkdir()
    mirror, log = str(shared / "run.sqlite"), str(tmp_path / "injections.log")
    env = reader_env(interposer, log, DENSITY_TEST_READ_DELAY_US="200", **extra_env)
    subprocess.run([DENSITY, "create", "r", "--features", str(FEATURES), "--db", db], check=True, capture_output=True)
    readings, lock, done = Readings(), threading.Lock(), threading.Event()

    def note(reader: str, error: str | None = None, step: int | None = None):
        with lock:
            if error is None:
                readings.answers[reader] += 1
                readings.steps.add(step)
            else:
                readings.errors[reader].append(error)

    def cli_reader(index: int):
        turn = index
        while not done.is_set():
            turn += 1
            command = (["state", "r", "--out", "-", "--dtype", "int64"] if turn % 2 else ["runs", "--format", "json"])
            out = subprocess.run([DENSITY, *command, "--db", mirror], env=env, capture_output=True)
            if out.returncode != 0:
                note("cli", error=out.stderr.decode())
                continue
            try:
                step = whole_state(out.stdout) if turn % 2 else whole_runs(json.loads(out.stdout))
            except AssertionError as torn:
                note("cli", error=f"torn: {torn}")
                continue
            note("cli", step=step)

    def serve_reader(server: Server):
        paths = ["/api/runs", "/api/runs/r/show", f"/api/runs/r/trend?feature={FEATURE}"]
        checks = [whole_runs, whole_show, whole_trend]
        turn = 0
        while not done.is_set():
            turn += 1
            status, _, body = server.get(paths[turn % 3])
            if status != 200:
                note("serve", error=f"{paths[turn % 3]}: {status} {body}")
                continue
            try:
                step = checks[turn % 3](json.loads(body))
            except AssertionError as torn:
                note("serve", error=f"torn: {torn}")
                continue
            note("serve", step=step)

    server, threads = None, []
    with fd.DensityRecorder("r", db=db, density=DENSITY, mirror=str(shared), mirror_every=0.005) as recorder:
        step = 0
        try:
            while step < 1500:
                step += 1
                counts, vectors = expected(step)
                recorder.record(step, counts, vectors)
                time.sleep(0.08)
                if server is None and os.path.exists(mirror):
                    server = Server(mirror, env=env)
                    threads = [threading.Thread(target=cli_reader, args=(i,)) for i in range(2)]
                    threads.append(threading.Thread(target=serve_reader, args=(server,)))
                    for thread in threads:
                        thread.start()
                if step >= 150 and server is not None:
                    with lock:
                        readings.injected = count_by_reader(injections(log), server.process.pid)
                        if enough(readings):
                            break
        finally:
            done.set()
            for thread in threads:
                thread.join()
            stderr = server.stop() if server else ""
    readings.injected = count_by_reader(injections(log), server.process.pid)
    messages = capsys.readouterr().err
    found = re.search(r"mirrored to '.*' \((\d+) snapshots", messages)
    assert found, f"no mirror summary from density record: {messages[-500:]} {stderr[-500:]}"
    readings.snapshots = int(found.group(1))
    return readings


def count_by_reader(injected: list[tuple[int, str]], server_pid: int) -> dict:
    return {"serve": sum(pid == server_pid for pid, _ in injected), "cli": sum(pid != server_pid for pid, _ in injected)}


def test_readers_of_a_mirror_replaced_under_them_on_nfs_get_whole_answers(tmp_path, capsys, interposer):
    readings = replace_under_readers(tmp_path, capsys, interposer, {},
                                     enough=lambda r: r.injected["cli"] >= 1 and r.injected["serve"] >= 1)
    print(f"mirror replaced: {readings.snapshots} snapshots; answers {readings.answers}; "
          f"ESTALE injected {readings.injected}; steps seen {len(readings.steps)}")
    assert readings.errors == {"cli": [], "serve": []}
    assert readings.snapshots >= 101  # the first snapshot and at least 100 replacements
    # the interposer really failed reads under both kinds of reader, and each was asked again
    assert readings.injected["cli"] >= 1 and readings.injected["serve"] >= 1, readings.injected
    assert readings.answers["cli"] >= 100 and readings.answers["serve"] >= 100, readings.answers
    assert len(readings.steps) >= 20, f"readers saw only steps {sorted(readings.steps)}"


def test_without_the_retry_the_same_readers_fail(tmp_path, capsys, interposer):
    readings = replace_under_readers(tmp_path, capsys, interposer, {"DENSITY_TEST_MIRROR_RETRIES": "0"},
                                     enough=lambda r: r.errors["cli"] and r.errors["serve"])
    print(f"without the retry: answers {readings.answers}; errors {[len(e) for e in readings.errors.values()]}; "
          f"ESTALE injected {readings.injected}")
    assert readings.errors["cli"] and readings.errors["serve"], readings.errors
    for error in readings.errors["cli"]:
        assert "I/O error" in error or "disk I/O error" in error, error
    for error in readings.errors["serve"]:
        assert re.match(r"[^:]*: 50[03] ", error) and "I/O error" in error, error
    # never a torn answer, retry or not: a failed read fails the whole question
    assert not any("torn" in e for e in readings.errors["cli"] + readings.errors["serve"])
    # the server dropped the failed handle: it answered again after its last error
    assert readings.answers["serve"] > 0


def recorded(tmp_path, steps: int) -> tuple[str, str]:
    """A store of `steps` steps recorded with a mirror (written at the end): the store and the mirror."""
    db, shared = str(tmp_path / "run.sqlite"), tmp_path / "shared"
    shared.mkdir()
    subprocess.run([DENSITY, "create", "r", "--features", str(FEATURES), "--db", db], check=True, capture_output=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "density record stores")  # the states come faster than they are stored
        with fd.DensityRecorder("r", db=db, density=DENSITY, mirror=str(shared)) as recorder:
            for step in range(1, steps + 1):
                recorder.record(step, *expected(step))
    return db, str(shared / "run.sqlite")


def test_a_live_stores_read_error_is_an_error_asked_once_and_a_mirrors_is_asked_again_a_few_times(tmp_path, interposer):
    db, mirror = recorded(tmp_path, steps=40)
    for path, asked, log in [(db, 1, str(tmp_path / "live.log")), (mirror, 1 + 3, str(tmp_path / "mirror.log"))]:
        # reads of the file's second half (the later checkpoints' chunks, past the schema the
        # opening reads) fail, every time: a failing disk, not a replaced mirror
        env = reader_env(interposer, log, DENSITY_TEST_ESTALE_FILE=os.path.realpath(path),
                         DENSITY_TEST_ESTALE_FROM=str(os.path.getsize(path) // 2))
        out = subprocess.run([DENSITY, "state", "r", "--out", "-", "--db", path], env=env, capture_output=True, timeout=60)
        assert out.returncode == 1 and "I/O error" in out.stderr.decode(), out.stderr
        assert len(injections(log)) == asked, (path, injections(log))
    # the same readers without the failures answer the whole last state
    for path in (db, mirror):
        out = subprocess.run([DENSITY, "state", "r", "--out", "-", "--dtype", "int64", "--db", path], capture_output=True,
                             check=True)
        assert whole_state(out.stdout) == 40


def test_an_answer_cut_short_on_stdout_is_never_followed_by_a_whole_one(tmp_path, interposer):
    """`history --features all` streams to stdout from inside its read: when a read fails after
    some of the answer went out, asking again on the mirror must not print the answer again after
    the cut-short one. The output is that one cut-short prefix, and the error."""
    db, mirror = recorded(tmp_path, steps=200)
    shared = tmp_path / "shared"
    command = [DENSITY, "history", "r", "--features", "all", "--format", "json", "--db", mirror]
    whole = subprocess.run(command, capture_output=True, check=True).stdout
    assert len(whole) > 2 << 20
    following = str(shared / ".next.sqlite")

    def answer(after: int) -> tuple[subprocess.CompletedProcess, bool]:
        """`history` with the mirror replaced (by a copy: the same snapshot in another file) after
        the reader's first `after` reads of it; and whether it was replaced."""
        shutil.copyfile(mirror, following)
        env = reader_env(interposer, str(tmp_path / "injections.log"), DENSITY_TEST_ESTALE_FILE=os.path.realpath(mirror),
                         DENSITY_TEST_REPLACE_AFTER=str(after), DENSITY_TEST_REPLACE_WITH=following)
        out = subprocess.run(command, env=env, capture_output=True, timeout=120)
        if out.returncode == 0:
            assert out.stdout == whole, f"replaced after {after} reads: {len(out.stdout)} bytes, not the one whole answer"
        return out, not os.path.exists(following)

    # Replaced before any output went out, the question is asked again and answered whole; after
    # the last read, nothing is replaced. Between the two, some output went out (1 MiB at a time)
    # before the failed read: found by bisection.
    low, high, cut = 0, 1 << 16, None
    while cut is None and high - low > 1:
        middle = (low + high) // 2
        out, replaced = answer(middle)
        if not replaced:
            high = middle
        elif out.returncode == 0:
            low = middle
        else:
            cut = out
    assert cut is not None, f"the mirror replaced after any of 0 to {high} reads never cut the output short"
    assert cut.returncode == 1 and len(cut.stdout) > 0, (cut.returncode, len(cut.stdout))
    assert "I/O error" in cut.stderr.decode(), cut.stderr
    # one cut-short answer: not the whole, not a whole after a part
    assert len(cut.stdout) < len(whole) and whole.startswith(cut.stdout), "the output is not one cut-short answer"
