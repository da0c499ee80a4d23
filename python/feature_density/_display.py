"""A run as a notebook shows it: the report's panels inline (``_repr_html_``: inline SVG and CSS,
no script, no file beside the notebook), and one-line plots."""

from __future__ import annotations

import json
import re

from . import plots

__all__ = ["Run"]

_SCOPE = "fd-report"


def _scoped(page: str) -> str:
    """The report page's ``<main>`` with its style sheet, every rule scoped to one wrapper so that
    it styles the report and nothing else of the notebook."""
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    main = re.search(r"<main>(.*?)</main>", page, re.S)
    if not style or not main:
        raise ValueError("density report wrote a page without <style> or <main>; is the tool this package's?")
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style.group(1)):
        scoped = []
        for selector in selectors.split(","):
            selector = selector.strip()
            if selector in ("body", "main"):
                scoped.append(f".{_SCOPE}")
            else:
                scoped.append(f".{_SCOPE} {selector}")
        rules.append(f"{', '.join(scoped)} {{{body}}}")
    return f'<div class="{_SCOPE}"><style>\n' + "\n".join(rules) + f"\n</style>\n{main.group(1)}</div>"


class Run:
    """A run of a store, for notebooks: displayed, it is ``density report``'s panels (histogram,
    histogram over training, dead and dense over training, feature trends), inline and
    self-contained. ``Store(db).run(name)`` makes one.

    Args:
        store: The :class:`~feature_density.Store`.
        name: The run's name.
        start, end: The steps the report covers (``density report --from/--to``); default: all.
        features: Features whose trends the report draws (default: the fastest risers, fallers
            and most recently dead).
    """

    def __init__(self, store, name: str, start=None, end=None, features=None):
        self.store, self.name = store, name
        self.start, self.end, self.features = start, end, features

    def __repr__(self) -> str:
        return f"Run({self.name!r}, db={self.store.db!r})"

    def report_html(self) -> str:
        """The whole report page (``density report RUN --out -``)."""
        arguments = ["report", self.name, "--out", "-"]
        if self.start is not None:
            arguments += ["--from", str(self.start)]
        if self.end is not None:
            arguments += ["--to", str(self.end)]
        if self.features is not None:
            arguments += ["--features", ",".join(str(f) for f in self.features)]
        return self.store._run(arguments).decode("utf-8")

    def _repr_html_(self) -> str:
        return _scoped(self.report_html())

    def save_report(self, path: str) -> None:
        """Writes the whole report page to ``path`` (an .html file that opens anywhere)."""
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.report_html())

    # MARK: - Data

    def summaries(self):
        """:meth:`Store.summaries <feature_density.Store.summaries>` of this run."""
        return self.store.summaries(self.name)

    def history(self, features, component=None):
        """:meth:`Store.history <feature_density.Store.history>` of this run."""
        return self.store.history(self.name, features, component)

    # MARK: - Plots

    def plot_histogram(self, step="latest", window=None, ax=None):
        """The histogram of log10(density + 1e-10) at ``step``, or over ``window`` = (start, end),
        in the 50 bins stored with each checkpoint."""
        arguments = ["histogram", self.name, "--bins", "50"]
        if window is not None:
            arguments += ["--from", str(window[0]), "--to", str(window[1])]
        else:
            arguments += ["--step", str(step)]
        answer = json.loads(self.store._run(arguments + ["--format", "json"]))
        bins = answer["bins"]
        if "step" in answer:
            where = f"step {answer['step']}"
        else:
            where = f"window ({answer['from'] if answer['from'] is not None else 'start'}, {answer['to']}]"
        edges = [bins[0]["low"]] + [b["high"] for b in bins]
        return plots.histogram([b["count"] for b in bins], edges, ax=ax, title=f"{self.name}, {where}")

    def plot_dead_dense(self, ax=None):
        """Dead and dense features at every checkpoint."""
        return plots.dead_dense(self.summaries(), ax=ax, title=f"{self.name}: dead and dense features")

    def plot_trend(self, feature: int, component=None, ax=None):
        """Feature ``feature``'s cumulative and window densities at every checkpoint."""
        label = feature if component is None else f"{component}:{feature}"
        return plots.trend(self.store.trend(self.name, feature, component), ax=ax,
                           title=f"{self.name}: feature {label}")
