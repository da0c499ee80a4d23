"""A run's exact density history in Weights & Biases, through ``wandb.log``.

Per checkpoint: ``feature_density/step`` (the checkpoint's training step, the x-axis of every key
below, set with ``define_metric``), ``feature_density/histogram`` (a ``wandb.Histogram`` of
log10(density + 1e-10) with the 50 stored bins and their exact counts), and
``feature_density/dead``, ``dense``, ``mean_log10_density``, ``mean_density``, ``vectors``.
With ``saelens=True`` the same values are also logged under the names SAELens uses, so a dashboard
built for SAELens shows exact, whole-run values: ``sparsity/dead_features`` (count 0 since the
start), ``sparsity/below_1e-5`` and ``sparsity/below_1e-6`` (features whose log10(density + 1e-10)
is below -5 or -6: the stored bins under those edges), ``metrics/mean_log10_feature_sparsity`` and
``plots/feature_density_line_chart``. Backfill::

    import wandb
    from feature_density import wandb as fd_wandb
    with wandb.init(project="sae", name="l1-1e-3") as run:
        fd_wandb.write("runs.sqlite", "l1-1e-3", run, saelens=True)

or log live while recording: ``DensityRecorder(..., loggers=[fd_wandb.Logger(run)])``. A sweep,
one W&B run per recorded run, its meta (``{"l1": 0.001}``) as the W&B config::

    fd_wandb.write_runs("mirrors/*.sqlite", project="sae-sweep", group="l1-sweep")
"""

from __future__ import annotations

from ._live import SummaryLogger
from .store import Store

__all__ = ["write", "write_runs", "Logger", "checkpoint_data", "PREFIX", "SAELENS_NAMES"]

PREFIX = "feature_density/"
#: SAELens' W&B keys, each with the value of ours it gets.
SAELENS_NAMES = {
    "sparsity/dead_features": "dead",
    "sparsity/below_1e-5": "below_1e-5",
    "sparsity/below_1e-6": "below_1e-6",
    "metrics/mean_log10_feature_sparsity": "mean_log10_density",
    "plots/feature_density_line_chart": "histogram",
}


def _wandb():
    try:
        import wandb
    except ImportError as error:
        raise ImportError(f"feature_density.wandb needs wandb (pip install wandb): {error}") from error
    return wandb


def checkpoint_data(summaries, row: int, prefix: str = PREFIX, saelens: bool = False) -> dict:
    """The ``wandb.log`` dictionary of checkpoint ``row`` of :class:`~feature_density.Summaries`."""
    wandb = _wandb()
    histogram = summaries["histogram"][row]
    values = {"vectors": int(summaries["vectors"][row]), "dead": int(summaries["dead"][row]),
              "dense": int(summaries["dense"][row])}
    if summaries["vectors"][row] > 0:  # no vectors: no densities, so no histogram and no means
        edges = summaries.edges
        values.update({
            "mean_density": float(summaries["mean_density"][row]),
            "mean_log10_density": float(summaries["mean_log10_density"][row]),
            "histogram": wandb.Histogram(np_histogram=(histogram.tolist(), edges.tolist())),
            "below_1e-5": int(histogram[edges[:-1] < -5 - 1e-9].sum()),
            "below_1e-6": int(histogram[edges[:-1] < -6 - 1e-9].sum()),
        })
    data = {prefix + "step": int(summaries["step"][row])}
    data.update({prefix + name: value for name, value in values.items() if not name.startswith("below")})
    if saelens:
        data.update({name: values[ours] for name, ours in SAELENS_NAMES.items() if ours in values})
    return data


def _define_metrics(run, prefix: str, saelens: bool) -> None:
    """Every key logged here is plotted against ``PREFIX + "step"``, whatever step the run is at."""
    run.define_metric(prefix + "step")
    run.define_metric(prefix + "*", step_metric=prefix + "step")
    if saelens:
        for name in SAELENS_NAMES:
            run.define_metric(name, step_metric=prefix + "step")


def write(db: str | None, run: str, wandb_run=None, prefix: str = PREFIX, saelens: bool = False,
          density: str | None = None) -> int:
    """Backfills every checkpoint of ``run`` into a W&B run, from one read of the stored summaries.

    Args:
        db: The store (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        run: The run's name in the store.
        wandb_run: The W&B run to log into (default: ``wandb.run``, the one ``wandb.init`` started).
        prefix: The start of our keys.
        saelens: Also log under SAELens' names.
        density: The ``density`` binary (default: the one this package ships).

    Returns:
        The number of checkpoints logged.
    """
    wandb_run = wandb_run if wandb_run is not None else _wandb().run
    if wandb_run is None:
        raise RuntimeError("no W&B run: call wandb.init(...) first, or pass wandb_run=")
    summaries = Store(db, density).summaries(run)
    _define_metrics(wandb_run, prefix, saelens)
    for row in range(summaries.count):
        wandb_run.log(checkpoint_data(summaries, row, prefix, saelens))
    return summaries.count


def write_runs(db: str | None, runs=None, prefix: str = PREFIX, saelens: bool = False, density: str | None = None,
               **init) -> dict:
    """Backfills every run of the store, or of a sweep's stores (a quoted glob such as
    ``"mirrors/*.sqlite"``), each into a W&B run of its own, started with ``wandb.init(name=<run>,
    config=<the run's meta>, **init)`` and finished before the next: W&B's project and sweep views
    then compare the runs, filtered and grouped by their meta (``l1``, ``seed``, …).

    A run two stores hold is named ``name@store`` (as ``density runs`` lists it); a run with no
    checkpoint yet gets no W&B run.

    Args:
        db: The store or stores (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        runs: The runs' names (default: every run).
        prefix: The start of our keys.
        saelens: Also log under SAELens' names.
        density: The ``density`` binary (default: the one this package ships).
        **init: More arguments for ``wandb.init``: ``project``, ``group``, ``tags``, …

    Returns:
        Each run's name and ``(W&B run id, checkpoints logged)``; ``(None, 0)`` for a run with no
        checkpoint yet.
    """
    wandb = _wandb()
    if wandb.run is not None:
        raise RuntimeError("a W&B run is active: finish it first (write_runs starts one W&B run per recorded run), "
                           "or log one run into it with write(db, run, wandb_run)")
    store = Store(db, density)
    rows = {row["name"]: row for row in store.runs()}
    names = list(runs) if runs is not None else list(rows)
    for name in names:
        if name not in rows:
            raise ValueError(f"no run '{name}' in {db}: runs are {', '.join(repr(n) for n in rows)}")
    written = {}
    for name in names:
        if rows[name]["checkpoints"] == 0:
            written[name] = (None, 0)
            continue
        config = dict(rows[name].get("meta") or {})
        wandb_run = wandb.init(name=name, config=config, **init)
        try:
            written[name] = (wandb_run.id, write(db, name, wandb_run, prefix, saelens, density))
        finally:
            wandb_run.finish()
    return written


class Logger(SummaryLogger):
    """Logs the checkpoints a ``DensityRecorder`` stores into a W&B run as they land (the same keys
    as :func:`write`): pass it in ``loggers=[...]``. The run is left open.

    Args:
        wandb_run: The W&B run (default: ``wandb.run`` when the recorder starts).
        every_seconds: The least time between two reads of the store while training runs.
        saelens: Also log under SAELens' names.
    """

    def __init__(self, wandb_run=None, every_seconds: float = 30.0, prefix: str = PREFIX, saelens: bool = False,
                 density: str | None = None):
        super().__init__(every_seconds, density)
        self.wandb_run, self.prefix, self.saelens = wandb_run, prefix, saelens

    def attach(self, run: str, db: str | None) -> None:
        super().attach(run, db)
        if self.wandb_run is None:
            self.wandb_run = _wandb().run
        if self.wandb_run is None:
            raise RuntimeError("no W&B run: call wandb.init(...) before the recorder starts, or pass wandb_run=")
        _define_metrics(self.wandb_run, self.prefix, self.saelens)

    def _log(self, summaries, row: int) -> None:
        self.wandb_run.log(checkpoint_data(summaries, row, self.prefix, self.saelens))
