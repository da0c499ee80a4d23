"""Send a sparse autoencoder's feature-density state to FeatureDensity, and load it back to resume.

Dependencies: numpy. torch is optional: tensors are accepted wherever arrays are.

Record (one ``density record`` process for the whole run; a state every ``every`` steps)::

    from feature_density_recorder import DensityRecorder
    with DensityRecorder("l1-1e-3", db="runs.sqlite", every=100) as recorder:
        for step in range(start, total):
            ...                                  # train; metric.update(activations)
            recorder.record(step, metric.neuron_fired_count, metric.num_activation_vectors)

Resume after a crash::

    from feature_density_recorder import load_state
    state = load_state("l1-1e-3", db="runs.sqlite")          # the latest checkpoint
    metric.neuron_fired_count.copy_(torch.from_numpy(state["neuron_fired_count"]))
    metric.num_activation_vectors.fill_(int(state["num_activation_vectors"]))
    start = state["step"] + 1

The stream format (what ``density record --help`` documents): frames of an 8-byte little-endian
length followed by that many bytes of a .safetensors file holding ``neuron_fired_count``,
``num_activation_vectors`` and ``step``.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import warnings

import numpy as np

__all__ = ["DensityRecorder", "load_state", "save_state", "encode_state", "frame", "read_safetensors",
           "safetensors_bytes"]

_DTYPES = {
    np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("float32"): "F32", np.dtype("float64"): "F64",
}
_NUMPY = {name: dtype for dtype, name in _DTYPES.items()}


def _to_numpy(value) -> np.ndarray:
    """A numpy array from an array, a torch tensor (moved to the CPU) or a number."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def safetensors_bytes(tensors: dict, metadata: dict | None = None) -> bytes:
    """The bytes of a .safetensors file holding ``tensors`` (int64, int32, float32 or float64 arrays)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors.items():
        array = np.ascontiguousarray(_to_numpy(value))
        if array.dtype not in _DTYPES:
            raise TypeError(f"tensor {name!r} has dtype {array.dtype}; use int64, int32, float32 or float64")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(path: str) -> tuple[dict, dict]:
    """The tensors (as numpy arrays) and the metadata of a .safetensors file."""
    with open(path, "rb") as file:
        raw = file.read()
    (length,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + length:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(_NUMPY[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors, metadata


def encode_state(step: int, neuron_fired_count, num_activation_vectors) -> bytes:
    """A state as .safetensors bytes: counts as int64 (exact), the vector count and the step as int64 scalars."""
    counts = _to_numpy(neuron_fired_count)
    if counts.dtype.kind == "f":
        if not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
            raise ValueError("neuron_fired_count holds values that are not whole numbers")
        counts = counts.astype(np.int64)
    return safetensors_bytes({
        "neuron_fired_count": counts.astype(np.int64, copy=False),
        "num_activation_vectors": np.array(int(_to_numpy(num_activation_vectors).reshape(-1)[0]), dtype=np.int64),
        "step": np.array(int(step), dtype=np.int64),
    })


def save_state(path: str, step: int, neuron_fired_count, num_activation_vectors) -> None:
    """Writes the state as a .safetensors file for ``density checkpoint`` or ``density import``.

    The file is written under a temporary name and renamed, so an importer never sees half a file::

        if step % 100 == 0:
            save_state(f"density/state-{step:08d}.safetensors", step, metric.neuron_fired_count,
                       metric.num_activation_vectors)
        # later, or from another process:  density import l1-1e-3 density/
    """
    temporary = f"{path}.partial"
    with open(temporary, "wb") as file:
        file.write(encode_state(step, neuron_fired_count, num_activation_vectors))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def frame(payload: bytes) -> bytes:
    """One frame of the ``density record`` stream: the length, then the payload."""
    return struct.pack("<Q", len(payload)) + payload


class DensityRecorder:
    """Streams states to one ``density record`` process started with the recorder.

    If ``density`` stops (its pipe closes), recording is switched off with a warning and training
    goes on: the metric never takes the training loop down.
    """

    def __init__(self, run: str, db: str | None = None, every: int = 1, rank: int | None = None,
                 world_size: int | None = None, density: str = "density", extra_args=()):
        if every < 1:
            raise ValueError("every must be >= 1")
        self.every = every
        command = [density, "record", run, *extra_args]
        if db is not None:
            command += ["--db", db]
        if rank is not None or world_size is not None:
            command += ["--rank", str(rank), "--world-size", str(world_size)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE)
        self.enabled = True

    def record(self, step: int, neuron_fired_count, num_activation_vectors, force: bool = False) -> bool:
        """Sends the state at ``step`` when ``step % every == 0`` (or ``force``); returns whether it was sent."""
        if not self.enabled or (step % self.every and not force):
            return False
        try:
            self.process.stdin.write(frame(encode_state(step, neuron_fired_count, num_activation_vectors)))
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError) as error:
            self.enabled = False
            warnings.warn(f"density record stopped ({error}); feature-density recording is off", RuntimeWarning)
            return False

    def close(self) -> int:
        """Ends the stream and waits for ``density record``; returns its exit status."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        return self.process.wait()

    def __enter__(self) -> "DensityRecorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_state(run: str, db: str | None = None, step: int | str = "latest", density: str = "density") -> dict:
    """The run's state at ``step`` (latest by default): ``neuron_fired_count`` (int64),
    ``num_activation_vectors`` and ``step`` (ints)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "state.safetensors")
        command = [density, "state", run, "--step", str(step), "--dtype", "int64", "--out", path]
        if db is not None:
            command += ["--db", db]
        subprocess.run(command, check=True, stderr=subprocess.PIPE if not sys.stderr.isatty() else None)
        tensors, metadata = read_safetensors(path)
    return {
        "neuron_fired_count": tensors["neuron_fired_count"],
        "num_activation_vectors": int(tensors["num_activation_vectors"].reshape(-1)[0]),
        "step": int(metadata["step"]),
    }
