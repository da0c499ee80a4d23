#!/usr/bin/env bash
# On a machine with a CUDA GPU: the loop benchmark on the GPU (counts on the device, recorded every
# step through pinned memory), the recorder's CUDA test and the hooks' tests, with their figures.
# Without a GPU it says so and exits 0. Uses $PYTHON (default: the project's venv) and $DENSITY_BIN
# (default: a release build made here).
#   scripts/gpu-check.sh                    # all widths of scripts/loop-bench.py
#   WIDTHS=16384,1048576 scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$HOME/.cache/density-venv/bin/python}
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu-check: torch sees no CUDA device here; nothing to check (the CUDA tests skip on this machine)"
    exit 0
fi
if [ -z "${DENSITY_BIN:-}" ]; then
    swift build -c release --product density
    export DENSITY_BIN=$PWD/.build/release/density
fi
"$PYTHON" -c 'import torch; print("gpu-check:", torch.cuda.get_device_name(0), "torch", torch.__version__)'
"$PYTHON" scripts/loop-bench.py --device cuda --repeats "${REPEATS:-3}" ${WIDTHS:+--widths "$WIDTHS"}
cd python
"$PYTHON" -m pytest -q -p no:cacheprovider -rs tests/test_recorder.py -k "cuda or threshold" tests/test_tracker.py tests/test_saelens.py
