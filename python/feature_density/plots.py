"""One-line matplotlib pictures of a run (needs matplotlib): the log10-density histogram of a
checkpoint or a window, dead and dense features over training, and one feature's trend.

Usually reached through :class:`~feature_density.Store`'s runs::

    run = Store("runs.sqlite").run("l1-1e-3")
    run.plot_histogram()                     # latest checkpoint; step=..., or window=(1000, "latest")
    run.plot_dead_dense()
    run.plot_trend(7)
    Store("mirrors/*.sqlite").plot_sweep()   # every run's dead fraction, one line a run

Each function draws on ``ax`` (default: a new figure) and returns it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["histogram", "dead_dense", "trend", "sweep"]


def _axes(ax):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(f"plotting needs matplotlib (pip install matplotlib): {error}") from error
    return plt.subplots(figsize=(7, 3.2))[1]


def _label(ax, xlabel: str, ylabel: str, title: str | None, legend: bool = True):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def histogram(counts, edges, ax=None, title: str | None = None):
    """Bars of features per bin of log10(density + 1e-10); the first bin (dead) in red."""
    ax = _axes(ax)
    counts, edges = np.asarray(counts), np.asarray(edges, dtype=np.float64)
    colors = ["#d62728"] + ["#4c78a8"] * (len(counts) - 1)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=colors)
    ax.set_xlim(edges[0], edges[-1])
    return _label(ax, "log10(density + 1e-10)", "features", title, legend=False)


def dead_dense(summaries, ax=None, title: str | None = None):
    """Dead (count 0 since the start) and dense (density >= 1e-2) features at every checkpoint."""
    ax = _axes(ax)
    ax.plot(summaries["step"], summaries["dead"], color="#d62728", label="dead")
    ax.plot(summaries["step"], summaries["dense"], color="#f58518", label="dense")
    return _label(ax, "step", "features", title)


def trend(points: dict, ax=None, title: str | None = None):
    """A feature's cumulative density and its density in each window between checkpoints
    (``Store.trend``'s answer), on a log scale."""
    ax = _axes(ax)
    ax.plot(points["step"], points["density"], color="#4c78a8", label="cumulative")
    ax.plot(points["step"], points["window_density"], color="#54a24b", marker=".", label="window")
    if np.any(np.asarray(points["density"]) > 0):
        ax.set_yscale("log")
    return _label(ax, "step", "density", title)


#: What :func:`sweep` can draw: its axis label and the values of one run's summaries.
SWEEP_VALUES = {
    "dead": "dead fraction (count 0 since the start)",
    "dense": "dense fraction (density >= 1e-2)",
    "mean_log10_density": "mean log10(density + 1e-10)",
}


def check_sweep(what: str, x: str) -> None:
    """Raises ``ValueError`` unless :func:`sweep` can draw ``what`` against ``x``."""
    if what not in SWEEP_VALUES:
        raise ValueError(f"what={what!r}: give one of {', '.join(map(repr, SWEEP_VALUES))}")
    if x not in ("step", "vectors"):
        raise ValueError(f"x={x!r}: give 'step' or 'vectors'")


def sweep(summaries: dict, what: str = "dead", x: str = "step", ax=None, title: str | None = None):
    """Runs overlaid, one line a run (``summaries``: each run's name and its
    :class:`~feature_density.Summaries`): the dead or dense fraction of the run's features, or the
    mean log10 density, at every checkpoint, against the step or the vectors seen (``x``)."""
    check_sweep(what, x)
    ax = _axes(ax)
    for name, rows in summaries.items():
        values = np.asarray(rows[what], dtype=np.float64)
        if what in ("dead", "dense"):
            values = values / (rows.features * (rows.components or 1))
        ax.plot(rows[x], values, label=name)
    return _label(ax, "vectors seen" if x == "vectors" else "step", SWEEP_VALUES[what], title)
