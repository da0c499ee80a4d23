"""Shared fixtures: the `density` binary under test and a way to run the examples.

The binary is $DENSITY_BIN when set (CI points it at the wheel's release build), else the wheel
build's (.build-wheel), else the debug build's (.build).
"""

import glob
import os
import subprocess
import sys

import pytest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
EXAMPLES = os.path.join(PYTHON_DIR, "examples")


def _find_binary() -> str:
    if os.environ.get("DENSITY_BIN"):
        return os.environ["DENSITY_BIN"]
    for pattern in (".build-wheel/*/release/density", ".build/debug/density"):
        found = sorted(glob.glob(os.path.join(REPO, pattern)))
        if found:
            return found[0]
    pytest.exit("no density binary: build one (swift build, or scripts/build-wheel.sh) or set DENSITY_BIN", 2)


DENSITY = _find_binary()
os.environ["DENSITY_BIN"] = DENSITY
sys.path[:0] = [PYTHON_DIR, EXAMPLES]


@pytest.fixture
def db(tmp_path):
    """A store path in a fresh folder."""
    return str(tmp_path / "runs.sqlite")


def example_env(**extra) -> dict:
    """The environment the examples run in: the package and the examples importable, DENSITY_BIN set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PYTHON_DIR, EXAMPLES, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["DENSITY_BIN"] = DENSITY
    env.update(extra)
    return env


def run_example(name: str, *arguments: str, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    """Runs python/examples/NAME with ARGUMENTS; fails the test with its output if it fails."""
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *arguments], cwd=cwd,
                            env=env or example_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def density(*arguments: str, check=True) -> subprocess.CompletedProcess:
    """Runs the binary under test."""
    result = subprocess.run([DENSITY, *arguments], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"density {' '.join(arguments)}: {result.stderr}"
    return result
