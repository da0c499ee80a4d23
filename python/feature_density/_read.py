"""The answers of the read API that are more than one array: a feature history that knows its
steps, and the summaries of a run over training, column by column."""

from __future__ import annotations

import json
import struct

import numpy as np

__all__ = ["History", "Summaries", "read_history"]


class History(np.ndarray):
    """Counts of some features at every checkpoint: an int64 array ``[checkpoints, k]`` that also
    carries ``steps`` and ``vectors`` (int64 ``[checkpoints]``), ``features`` and ``components``
    (int64 ``[k]``, the (component, feature) pair of each column; components are 0 without).

    ``history / history.vectors[:, None]`` is every feature's cumulative density.
    """

    steps: np.ndarray
    vectors: np.ndarray
    features: np.ndarray
    components: np.ndarray

    def __array_finalize__(self, obj):
        for name in ("steps", "vectors", "features", "components"):
            setattr(self, name, getattr(obj, name, None))

    def density(self) -> np.ndarray:
        """float64 ``counts / vectors``, ``[checkpoints, k]`` (NaN where no vector was seen)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self, dtype=np.float64) / np.asarray(self.vectors, dtype=np.float64)[:, None]


def read_history(path: str, mmap: bool = False) -> History:
    """A ``density history`` safetensors file as a :class:`History`; with ``mmap`` the counts are
    mapped from the file (read-only) instead of read into memory."""
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        header.pop("__metadata__", None)
        small = {}
        for name in ("step", "vectors", "component", "feature"):
            begin, end = header[name]["data_offsets"]
            file.seek(8 + length + begin)
            small[name] = np.frombuffer(file.read(end - begin), dtype="<i8").astype(np.int64)
        info = header["counts"]
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if mmap:
            counts = np.memmap(path, dtype="<i8", mode="r", offset=8 + length + begin, shape=shape)
        else:
            file.seek(8 + length + begin)
            counts = np.frombuffer(file.read(end - begin), dtype="<i8").astype(np.int64).reshape(shape)
    history = counts.view(History)
    history.steps, history.vectors = small["step"], small["vectors"]
    history.features, history.components = small["feature"], small["component"]
    return history


class Summaries(dict):
    """A run's stored summaries over training, one numpy array per column, one row per checkpoint:
    ``step``, ``vectors``, ``non_finite``, ``dead``, ``dense`` (int64), ``mean_density`` and
    ``mean_log10_density`` (float64; NaN with no vectors), ``histogram`` (int64 ``[checkpoints,
    50]``: features per bin of log10(density + 1e-10), bins of 0.2 over [-10, 0], the first holding
    the dead). ``edges`` are the 51 bin edges; ``run``, ``features`` and ``components`` describe the
    run. Columns read as keys or attributes: ``s["dead"]`` or ``s.dead``.

    ``mean_log10_density`` comes from the histogram (dead features at -10 exactly, the others at
    their bin's midpoint), within 0.1 of the exact mean.
    """

    COLUMNS = ("step", "vectors", "non_finite", "dead", "dense", "mean_density", "mean_log10_density")

    def __init__(self, answer: dict):
        super().__init__()
        for name in ("step", "vectors", "non_finite", "dead", "dense"):
            self[name] = np.asarray(answer[name], dtype=np.int64)
        for name in ("mean_density", "mean_log10_density"):
            self[name] = np.array([np.nan if v is None else v for v in answer[name]], dtype=np.float64)
        self["histogram"] = np.asarray(answer["histogram"], dtype=np.int64).reshape(self.count, -1)
        self.edges = np.asarray(answer["edges"], dtype=np.float64)
        self.run = answer["run"]
        self.features = answer["features"]
        self.components = answer["components"]

    @classmethod
    def from_tensors(cls, tensors: dict, metadata: dict) -> "Summaries":
        """From ``density summaries --format safetensors``'s tensors and metadata."""
        summaries = cls.__new__(cls)
        dict.__init__(summaries, {name: tensors[name] for name in (*cls.COLUMNS, "histogram")})
        summaries.edges = tensors["edges"]
        summaries.run = metadata["run"]
        summaries.features = int(metadata["features"])
        summaries.components = int(metadata["components"]) if metadata.get("components") else None
        return summaries

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def count(self) -> int:
        """The number of checkpoints (rows)."""
        return len(self["step"])

    def width(self) -> int:
        """(component, feature) pairs counted: features x components."""
        return self.features * (self.components or 1)

    def to_pandas(self, histogram: bool = False):
        """A DataFrame indexed by step with the scalar columns; with ``histogram``, one more column
        per bin, named by its lower edge (``-10.0`` ... ``-0.2``). Needs pandas."""
        import pandas as pd

        frame = pd.DataFrame({name: self[name] for name in self.COLUMNS[1:]},
                             index=pd.Index(self["step"], name="step"))
        if histogram:
            bins = pd.DataFrame(self["histogram"], index=frame.index, columns=[round(float(e), 6) for e in self.edges[:-1]])
            frame = pd.concat([frame, bins], axis=1)
        return frame
