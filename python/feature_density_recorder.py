"""The former single-file helper, kept so that ``from feature_density_recorder import ...`` works:
everything now lives in the ``feature_density`` package (``pip install`` its wheel)."""

from feature_density import *  # noqa: F401,F403
from feature_density import __all__  # noqa: F401
