"""Reading a store from Python: every answer comes from the ``density`` tool's JSON or tensor
output, so the stored chunks have one decoder, the tool's own."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from ._binary import run_density
from ._display import Run
from ._read import History, Summaries, read_history
from ._state_io import read_safetensors
from .errors import DensityError
from .state import load_state

__all__ = ["Store"]


def _bound(step) -> str:
    """A window bound as the CLI takes it: a step, ``start``, ``first``, ``latest`` or ``-K``."""
    return str(step)


class Store:
    """A store, read through ``density``: ``Store("runs.sqlite").window("l1-1e-3", 1000, "latest")``.

    Steps may be numbers (the latest checkpoint at or before), ``"first"``, ``"latest"`` or
    ``"-K"``; a window's start may also be ``"start"`` (the empty state before the first
    checkpoint). Features and components are 0-based.

    Errors raise :class:`DensityError` (:class:`NoCheckpointError` for a run with no checkpoint)
    with density's message.

    Args:
        db: The store's path (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        density: The ``density`` binary (default: the one this package ships).
    """

    def __init__(self, db: str | None = None, density: str | None = None):
        self.db = None if db is None else os.fspath(db)
        self.density = density

    def _run(self, arguments: list[str]) -> bytes:
        if self.db is not None:
            arguments = [*arguments, "--db", self.db]
        return run_density(arguments, self.density)

    def _json(self, arguments: list[str]):
        return json.loads(self._run([*arguments, "--format", "json"]))

    def create(self, run: str, features: int, components: int | None = None, exist_ok: bool = False) -> None:
        """Creates the run (``density create``), and the store if it does not exist yet.

        With ``exist_ok``, a run of that name and shape already there is kept as it is.
        """
        if exist_ok:
            try:
                known = self.runs()
            except DensityError:  # no store yet; any other trouble, `create` reports it below
                known = []
            if any(r["name"] == run and r["features"] == features and r["components"] == components for r in known):
                return
        arguments = ["create", run, "--features", str(int(features))]
        if components is not None:
            arguments += ["--components", str(int(components))]
        self._run(arguments)

    def run(self, name: str, start=None, end=None, features=None) -> Run:
        """The run ``name`` for a notebook: displayed, it shows the report's panels inline; it also
        plots in one line (``plot_histogram``, ``plot_dead_dense``, ``plot_trend``).
        ``start``/``end``/``features`` are ``density report``'s ``--from``/``--to``/``--features``."""
        return Run(self, name, start, end, features)

    def plot_sweep(self, runs=None, what: str = "dead", x: str = "step", ax=None):
        """Runs overlaid in one matplotlib plot, one line a run: ``what`` is ``"dead"`` or
        ``"dense"`` (fractions of each run's features) or ``"mean_log10_density"``, against ``x``,
        ``"step"`` or ``"vectors"``. ``runs``: names (default: every run with a checkpoint); with
        a glob (``Store("mirrors/*.sqlite")``) a whole sweep."""
        from . import plots

        plots.check_sweep(what, x)                    # before any run is read
        if runs is None:
            runs = [row["name"] for row in self.runs() if row["checkpoints"] > 0]
        return plots.sweep({name: self.summaries(name) for name in runs}, what=what, x=x, ax=ax,
                           title=f"{len(runs)} runs: {plots.SWEEP_VALUES.get(what, what)}")

    def runs(self) -> list[dict]:
        """Every run: ``name``, ``features``, ``components`` (None without), ``checkpoints``,
        ``latest_step``, ``vectors``, ``world_size``, ``pending_steps``."""
        return self._json(["runs"])

    def state(self, run: str, step: int | str = "latest") -> dict:
        """The cumulative state at ``step``: ``neuron_fired_count`` (int64, ``[F]`` or ``[C, F]``),
        ``num_activation_vectors`` and ``step`` (the checkpoint's)."""
        return load_state(run, db=self.db, step=step, density=self.density)

    def window(self, run: str, start: int | str, end: int | str = "latest") -> dict:
        """The window (start, end]: ``counts`` (int64, the run's shape), ``vectors`` (int), ``density``
        (float64 ``counts / vectors``, exactly as the CLI computes it), ``from`` and ``to`` (the steps)."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "window.safetensors")
            self._run(["export", run, "--from", _bound(start), "--to", _bound(end), "--what", "counts",
                       "--format", "safetensors", "--out", path])
            tensors, metadata = read_safetensors(path)
        counts = tensors["neuron_fired_count"]
        vectors = int(tensors["num_activation_vectors"].reshape(-1)[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            density = counts.astype(np.float64) / np.float64(vectors)
        start_step = metadata.get("from")
        return {"counts": counts, "vectors": vectors, "density": density,
                "from": None if start_step in (None, "start") else int(start_step), "to": int(metadata["to"])}

    def saelens_sparsity(self, run: str, start: int | str, end: int | str = "latest",
                         component: int | None = None) -> np.ndarray:
        """What SAELens stores in ``sparsity.safetensors`` for the window (start, end]: float32
        ``log10(density + 1e-10)``, the density as torch computes it in float32 and the correctly
        rounded float32 log10 (``density export --format saelens``)."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "sparsity.safetensors")
            arguments = ["export", run, "--from", _bound(start), "--to", _bound(end), "--format", "saelens",
                         "--out", path]
            if component is not None:
                arguments += ["--component", str(component)]
            self._run(arguments)
            tensors, _ = read_safetensors(path)
        return tensors["sparsity"]

    def trend(self, run: str, feature: int, component: int | None = None) -> dict:
        """One feature at every checkpoint: ``step``, ``vectors``, ``count`` (int64 arrays),
        ``density`` and ``window_density`` (float64; NaN for the first point) arrays."""
        arguments = ["trend", run, "--feature", str(int(feature))]
        if component is not None:
            arguments += ["--component", str(int(component))]
        points = self._json(arguments)["points"]
        return {
            "step": np.array([p["step"] for p in points], dtype=np.int64),
            "vectors": np.array([p["vectors"] for p in points], dtype=np.int64),
            "count": np.array([p["count"] for p in points], dtype=np.int64),
            "density": np.array([np.nan if p["density"] is None else p["density"] for p in points], dtype=np.float64),
            "window_density": np.array([np.nan if p["window_density"] is None else p["window_density"]
                                        for p in points], dtype=np.float64),
        }

    def history(self, run: str, features, component: int | None = None, out: str | None = None) -> History:
        """The counts of ``features`` at every checkpoint, read by one ``density history``: an int64
        :class:`History` ``[checkpoints, k]`` whose ``steps`` and ``vectors`` say where each row is.

        Args:
            features: Feature indexes (a list or array), ``"C:F"`` strings for a run with
                components, or ``"all"``: every (component, feature) pair, written by the tool one
                checkpoint at a time.
            component: With a list of indexes, the component they belong to (runs with components).
            out: Keep the file (``density history``'s safetensors; a new path, an existing file is
                refused) there and map the counts from it instead of reading them into memory: what
                ``"all"`` on a long, wide run wants.
        """
        if isinstance(features, str) and features == "all":
            spec = "all"
        else:
            items = [features] if isinstance(features, (str, int, np.integer)) else list(np.atleast_1d(features))
            if component is not None:
                spec = ",".join(f"{int(component)}:{int(f)}" for f in items)
            else:
                spec = ",".join(str(f) if isinstance(f, str) else str(int(f)) for f in items)
            if not spec:
                steps = self.checkpoints(run)
                history = np.zeros((len(steps["step"]), 0), dtype=np.int64).view(History)
                history.steps, history.vectors = steps["step"], steps["vectors"]
                history.features = history.components = np.zeros(0, dtype=np.int64)
                return history
        if out is not None:
            self._run(["history", run, "--features", spec, "--out", os.fspath(out)])
            return read_history(os.fspath(out), mmap=True)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "history.safetensors")
            self._run(["history", run, "--features", spec, "--out", path])
            return read_history(path)

    def summaries(self, run: str) -> Summaries:
        """Every checkpoint's stored summary, read by one ``density summaries`` (no counts decoded):
        :class:`Summaries`, numpy columns ``step``, ``vectors``, ``dead``, ``dense``,
        ``mean_density``, ``mean_log10_density``, ``histogram`` ``[checkpoints, 50]`` ...;
        ``.to_pandas()`` for a DataFrame."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "summaries.safetensors")
            self._run(["summaries", run, "--format", "safetensors", "--out", path])
            tensors, metadata = read_safetensors(path)
        return Summaries.from_tensors(tensors, metadata)

    def checkpoints(self, run: str) -> dict:
        """The run's checkpoints: ``step``, ``vectors`` and ``non_finite`` int64 arrays."""
        summaries = self.summaries(run)
        return {"step": summaries["step"], "vectors": summaries["vectors"], "non_finite": summaries["non_finite"]}

    def dead(self, run: str, start: int | str = "start", end: int | str = "latest",
             threshold: float | None = None) -> dict:
        """The features dead in the window (start, end] (no firing, or density below ``threshold``):
        ``features`` (int64), ``last_fired_step`` (int64, -1 for never), ``component`` (int64,
        with components), ``revived`` (int64 features dead in the previous window of the same
        length but not in this one), and ``vectors``."""
        arguments = ["dead", run, "--window", f"{_bound(start)}:{_bound(end)}", "--limit", "0"]
        if threshold is not None:
            arguments += ["--threshold", repr(float(threshold))]
        answer = self._json(arguments)

        def column(rows, key, missing=-1):
            return np.array([missing if row.get(key) is None else row[key] for row in rows], dtype=np.int64)

        result = {
            "features": column(answer["dead"], "feature"),
            "last_fired_step": column(answer["dead"], "last_fired_step"),
            "revived": column(answer.get("revived") or [], "feature"),
            "vectors": answer["vectors"],
        }
        if answer["dead"] and "component" in answer["dead"][0]:
            result["component"] = column(answer["dead"], "component")
        return result
