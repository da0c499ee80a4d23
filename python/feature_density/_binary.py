"""Finding the ``density`` tool: the one this package ships before any other."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import warnings

from .errors import DensityError, DensityNotFoundError

__all__ = ["find_density", "run_density"]

_INSTALL_HINT = (
    "install the wheel, which carries it (`pip install feature_density-<version>-<platform>.whl`, "
    "built by scripts/build-wheel.sh), or build it with Swift (`swift build -c release` in the "
    "FeatureDensity checkout) and put .build/release on PATH or set DENSITY_BIN to the binary"
)


def _script_dirs() -> list[str]:
    """Where pip puts a wheel's scripts for this interpreter: the environment's, then the user's."""
    folders = [sysconfig.get_path("scripts")]
    try:
        folders.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:
        pass
    folders.append(os.path.dirname(sys.executable))
    return [folder for folder in folders if folder]


def find_density(name: str = "density") -> str:
    """The path of the tool ``name`` (``density``; room for more tools shipped beside it).

    Looked for, in order: ``$DENSITY_BIN`` (for ``density``), ``feature_density/bin/`` inside the
    package, the scripts folder pip installed this package's wheel into (the venv's ``bin/``), then
    ``PATH``.

    Raises:
        DensityNotFoundError: with how to install it.
    """
    if name == "density" and os.environ.get("DENSITY_BIN"):
        path = os.environ["DENSITY_BIN"]
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise DensityNotFoundError(f"DENSITY_BIN={path} is not an executable file; unset it to use the "
                                       f"installed `density`, or point it at the binary")
        return path
    candidates = [os.path.join(os.path.dirname(__file__), "bin")] + _script_dirs()
    for folder in candidates:
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found:
        return found
    raise DensityNotFoundError(f"the `{name}` tool was not found (looked in {', '.join(candidates)} and on PATH): "
                               + _INSTALL_HINT)


def _resolve(density: str | None) -> str:
    """``density`` when given (a path or a name on PATH), else :func:`find_density`."""
    if density is None:
        return find_density()
    if os.sep in density:
        if not os.path.isfile(density):
            raise DensityNotFoundError(f"{density} does not exist: " + _INSTALL_HINT)
        return density
    found = shutil.which(density)
    if not found:
        raise DensityNotFoundError(f"`{density}` is not on PATH: " + _INSTALL_HINT)
    return found


def run_density(arguments: list[str], density: str | None = None) -> bytes:
    """Runs ``density ARGUMENTS`` and returns its stdout.

    Its stderr is passed on as :class:`UserWarning` warnings when it succeeds (e.g. float32 rounding).

    Raises:
        NoCheckpointError: the run has no checkpoint (exit status 3).
        DensityError: any other failure, with density's own message.
    """
    command = [_resolve(density), *arguments]
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        raise DensityError.from_process(command, result.returncode, stderr)
    for line in stderr.splitlines():
        if line.startswith("warning:"):
            warnings.warn(f"density: {line}", UserWarning, stacklevel=3)
    return result.stdout
