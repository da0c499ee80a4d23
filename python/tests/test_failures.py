"""Failures surface, with density's own message, and "no checkpoint yet" is told apart."""

import json
import struct
import warnings

import numpy as np
import pytest

import feature_density as fd
from conftest import density


@pytest.fixture
def run(db):
    density("create", "r", "--features", "4", "--db", db)
    return "r"


def test_a_wrong_run_name_raises_before_anything_is_recorded(db, run):
    with pytest.raises(fd.DensityError, match="no run named 'wrong'.*runs: 'r'.*density create wrong") as raised:
        fd.DensityRecorder("wrong", db=db)
    assert raised.value.returncode is None                     # found by the recorder, before density record starts
    with pytest.raises(fd.DensityError, match="no store at"):
        fd.DensityRecorder(run, db=db + ".typo")


def test_a_refused_frame_after_the_first_warns_and_fails_the_close(db, run):
    recorder = fd.DensityRecorder(run, db=db)
    assert recorder.record(1, np.array([1, 0, 0, 0]), 1)
    assert recorder.record(2, np.array([0, 0, 0, 0]), 2)      # counts that decrease: refused, the stream goes on
    with pytest.warns(RuntimeWarning, match="refused a state of run 'r'.*close\\(\\) will raise.*went from 1 to 0"):
        recorder.flush()                                       # density has answered on every state sent
    assert recorder.stats.refused == 1
    assert recorder.record(3, np.array([2, 0, 0, 0]), 3)
    with pytest.raises(fd.DensityError, match="exit status 1") as raised:
        recorder.close()
    assert raised.value.returncode == 1
    assert recorder.stats.refused == 1 and recorder.stats.stored == 2
    assert fd.Store(db).checkpoints(run)["step"].tolist() == [1, 3]   # the good frames are stored


def test_an_exception_in_the_block_is_not_masked(db, run):
    with pytest.warns(RuntimeWarning, match="exit status 1"):
        with pytest.raises(KeyError):
            with fd.DensityRecorder(run, db=db) as recorder:
                recorder.record(1, np.array([1, 0, 0, 0]), 1)
                recorder.record(2, np.array([0, 0, 0, 0]), 2)   # refused: the close fails
                raise KeyError("training failed")


def test_load_state_tells_no_checkpoint_from_every_other_failure(db, run, tmp_path):
    with pytest.raises(fd.NoCheckpointError, match="no checkpoints yet") as raised:
        fd.load_state(run, db=db)
    assert raised.value.returncode == fd.NO_CHECKPOINT_EXIT_CODE == 3
    for wrong, message in [(dict(db=str(tmp_path / "elsewhere.sqlite")), "no store at"),
                           (dict(db=db, run="other"), "no run named 'other'")]:
        with pytest.raises(fd.DensityError, match=message) as raised:
            fd.load_state(wrong.pop("run", run), **wrong)
        assert not isinstance(raised.value, fd.NoCheckpointError)
        assert raised.value.returncode == 1


def test_the_readme_snippet_restarts_only_when_there_is_no_checkpoint(db, run, tmp_path):
    def resume(path):
        try:
            return fd.load_state(run, db=path)["step"] + 1
        except fd.NoCheckpointError:
            return 0
    assert resume(db) == 0
    with pytest.raises(fd.DensityError):
        resume(str(tmp_path / "typo.sqlite"))                  # not a silent restart from step 0
    with fd.DensityRecorder(run, db=db) as recorder:
        recorder.record(7, np.array([1, 1, 0, 0]), 2)
    assert resume(db) == 8


def test_the_last_step_skipped_by_every_is_sent_on_exit(db, run):
    counts = np.zeros(4, dtype=np.int64)
    with fd.DensityRecorder(run, db=db, every=10) as recorder:
        for step in range(1, 24):
            counts[step % 4] += 1
            recorder.record(step, counts, step)
    with pytest.raises(ValueError, match="closed"):
        recorder.record(24, counts, 24)
    state = fd.load_state(run, db=db)
    assert state["step"] == 23 and state["num_activation_vectors"] == 23
    assert state["neuron_fired_count"].tolist() == counts.tolist()
    assert fd.Store(db).checkpoints(run)["step"].tolist() == [10, 20, 23]


def test_the_skipped_state_is_a_copy_not_the_live_array(db, run):
    counts = np.zeros(4, dtype=np.int64)
    recorder = fd.DensityRecorder(run, db=db, every=5)
    counts[0] = 3
    recorder.record(3, counts, 3)
    counts[0] = 99                                             # changed after the step: not step 3's state
    recorder.close()
    assert fd.load_state(run, db=db)["neuron_fired_count"].tolist() == [3, 0, 0, 0]


def test_arguments_are_checked_before_anything_starts(db, run):
    with pytest.raises(ValueError, match="world_size"):
        fd.DensityRecorder(run, db=db, rank=0)
    with pytest.raises(ValueError, match="rank must be 0 to world_size - 1"):
        fd.DensityRecorder(run, db=db, rank=2, world_size=2)
    with pytest.raises(ValueError, match="every"):
        fd.DensityRecorder(run, db=db, every=0)
    for vectors in (2.5, np.float32(3.5), np.array([1.5]), float("nan")):
        with pytest.raises(ValueError, match="num_activation_vectors must be a whole number"):
            fd.encode_state(1, np.zeros(4), vectors)
    with pytest.raises(ValueError, match="whole"):
        fd.encode_state(1, np.array([0.5, 0, 0, 0]), 1)
    with pytest.raises(ValueError, match="step must be a whole number"):
        fd.encode_state(1.5, np.zeros(4), 1)


def test_scalars_are_written_with_shape_empty_as_torchmetrics_keeps_them():
    payload = fd.encode_state(4, np.array([1, 2]), np.array([7.0]))
    (length,) = struct.unpack_from("<Q", payload)
    header = json.loads(payload[8:8 + length])
    assert header["num_activation_vectors"]["shape"] == [] and header["step"]["shape"] == []
    assert header["num_activation_vectors"]["dtype"] == "I64"


def test_a_missing_density_says_how_to_install_it(db, run, monkeypatch, tmp_path):
    with pytest.raises(fd.DensityNotFoundError, match="pip install"):
        fd.load_state(run, db=db, density="no-such-density-tool")
    monkeypatch.setenv("DENSITY_BIN", str(tmp_path / "absent"))
    with pytest.raises(fd.DensityNotFoundError, match="DENSITY_BIN"):
        fd.DensityRecorder(run, db=db)
    monkeypatch.delenv("DENSITY_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(fd._binary, "_script_dirs", lambda: [str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="swift build -c release"):
        fd.find_density()


def test_the_former_single_file_module_still_works(db, run):
    from feature_density_recorder import DensityRecorder, NoCheckpointError, load_state
    with pytest.raises(NoCheckpointError):
        load_state(run, db=db)
    with DensityRecorder(run, db=db) as recorder:
        assert recorder.record(1, np.array([1, 0, 0, 0]), 1)
    assert load_state(run, db=db)["num_activation_vectors"] == 1


def test_density_record_stores_what_it_received_when_its_readers_are_gone(db, run):
    """A trainer killed outright (an out-of-memory kill) takes the read ends of density's stdout
    and stderr with it: density record still stores every whole frame already sent, and exits,
    instead of dying at its first message (SIGPIPE) and losing the frames behind it."""
    import os
    import subprocess

    from conftest import DENSITY
    from feature_density._state_io import encode_state, frame

    stream = b"".join(frame(encode_state(step, np.array([step, 0, 2 * step, 1], dtype=np.int64), 10 * step))
                      for step in range(1, 9))
    read_end, write_end = os.pipe()
    os.close(read_end)                                          # nobody will read what density says
    process = subprocess.Popen([DENSITY, "record", run, "--db", db, "--acks", "--verbose"],
                               stdin=subprocess.PIPE, stdout=write_end, stderr=write_end)
    os.close(write_end)
    process.communicate(stream, timeout=120)
    assert process.returncode == 0
    stored = fd.Store(db)
    assert stored.checkpoints(run)["step"].tolist() == list(range(1, 9))
    assert stored.state(run)["neuron_fired_count"].tolist() == [8, 0, 16, 1]
