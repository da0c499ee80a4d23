"""Loading a run's stored state back, to resume training with its exact metric."""

from __future__ import annotations

import os
import tempfile

from ._binary import run_density
from ._state_io import read_safetensors

__all__ = ["load_state"]


def load_state(run: str, db: str | None = None, step: int | str = "latest", density: str | None = None,
               discard_later: bool = False) -> dict:
    """The run's state at ``step`` (latest by default; a step, ``first`` or ``-K`` as the CLI takes).

    With ``discard_later``, the checkpoints after it, and the partial states ranks wrote for later
    steps that never completed (a rank died), are deleted (``density resume --at STEP
    --discard-later``), so that training restarted from that step can record those steps again.

    Returns:
        ``{"neuron_fired_count": int64 array ([F] or [C, F]), "num_activation_vectors": int,
        "step": int}``; the step is the checkpoint's (the latest at or before ``step``).

    Raises:
        NoCheckpointError: the run has no checkpoint yet (or none at or before ``step``): start
            from scratch.
        DensityError: anything else (no such store or run, a damaged store, ...), with density's
            message: do not start from scratch on these.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "state.safetensors")
        if discard_later:
            # One process: the state is read in the transaction that discards the later checkpoints.
            arguments = ["resume", run, "--at", str(step), "--discard-later", "--state-out", path]
        else:
            arguments = ["state", run, "--step", str(step), "--dtype", "int64", "--out", path]
        if db is not None:
            arguments += ["--db", str(db)]
        run_density(arguments, density)
        tensors, metadata = read_safetensors(path)
    return {
        "neuron_fired_count": tensors["neuron_fired_count"],
        "num_activation_vectors": int(tensors["num_activation_vectors"].reshape(-1)[0]),
        "step": int(metadata["step"]),
    }
