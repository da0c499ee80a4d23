"""The state as bytes: .safetensors files and the frames of the ``density record`` stream.

The stream format (what ``density record --help`` documents): frames of an 8-byte little-endian
length followed by that many bytes of a .safetensors file holding ``neuron_fired_count``,
``num_activation_vectors`` and ``step``.
"""

from __future__ import annotations

import json
import numbers
import os
import struct

import numpy as np

__all__ = ["save_state", "encode_state", "frame", "read_safetensors", "safetensors_bytes", "whole_number"]

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
        array = np.require(_to_numpy(value), requirements="C")  # shape [] stays [] (ascontiguousarray gives [1])
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


def whole_number(value, name: str) -> int:
    """``value`` (a Python or numpy number, or a one-element array or tensor) as an int.

    Raises:
        ValueError: for a fractional, non-finite or multi-element value, saying which.
    """
    array = _to_numpy(value)
    if array.size != 1:
        raise ValueError(f"{name} must be one number (a scalar), got shape {list(array.shape)}")
    item = array.reshape(()).item()
    if isinstance(item, bool) or not isinstance(item, numbers.Real):
        raise ValueError(f"{name} must be a whole number, got {item!r}")
    if isinstance(item, numbers.Integral):
        return int(item)
    if not np.isfinite(item) or item != int(item):
        raise ValueError(f"{name} must be a whole number, got {item!r}; it counts activation vectors or steps")
    return int(item)


def encode_state(step: int, neuron_fired_count, num_activation_vectors) -> bytes:
    """A state as .safetensors bytes: counts as int64 (exact), the vector count and the step as
    int64 scalars (shape ``[]``, as torchmetrics keeps ``num_activation_vectors``).

    Raises:
        ValueError: for counts or a vector count that are not whole numbers, or a step that is not.
    """
    counts = _to_numpy(neuron_fired_count)
    if counts.dtype.kind == "f":
        if not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
            raise ValueError("neuron_fired_count holds values that are not whole numbers")
        counts = counts.astype(np.int64)
    elif counts.dtype.kind not in "iu":
        raise ValueError(f"neuron_fired_count has dtype {counts.dtype}; pass integer or float counts")
    return safetensors_bytes({
        "neuron_fired_count": counts.astype(np.int64, copy=False),
        "num_activation_vectors": np.array(whole_number(num_activation_vectors, "num_activation_vectors"),
                                           dtype=np.int64),
        "step": np.array(whole_number(step, "step"), dtype=np.int64),
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
