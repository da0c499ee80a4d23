"""Streaming states from a training loop to one ``density record`` process."""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
import warnings

import numpy as np

from ._binary import _resolve
from ._state_io import encode_state, frame, whole_number
from .errors import DensityError

__all__ = ["DensityRecorder"]


def _snapshot(value):
    """A copy of a tensor (on its own device, no transfer) or of an array, or the number itself."""
    if hasattr(value, "detach"):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


class DensityRecorder:
    """Streams states to one ``density record`` process started with the recorder.

    ``record(step, counts, vectors)`` sends the state when ``step % every == 0`` (or ``force``).
    When ``every > 1``, the last state passed to ``record`` but skipped is sent by ``close()`` (and
    so on leaving the ``with`` block): the run's final step is always stored.

    Failures surface: if ``density`` stops (a wrong run name, a full disk, ...), ``record`` returns
    False from then on and warns once with density's own message, and ``close()`` raises
    :class:`DensityError` with that message and the exit status (when the ``with`` block is left by
    an exception, it is warned about instead, so the original exception is the one raised). A frame
    that ``density`` refuses (wrong shape, decreasing counts) is reported on stderr and fails the
    ``close()`` the same way. Training itself is never stopped by ``record``.

    Args:
        run: The run's name (``density create RUN --features F`` first).
        db: The store (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        every: Send every ``every``-th step.
        rank, world_size: For a distributed job where each rank records its own partial state: both
            or neither.
        density: The ``density`` binary (default: the one this package ships, see ``find_density``).
        extra_args: More arguments for ``density record``.
    """

    def __init__(self, run: str, db: str | None = None, every: int = 1, rank: int | None = None,
                 world_size: int | None = None, density: str | None = None, extra_args=()):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a whole number >= 1, got {every!r}")
        if (rank is None) != (world_size is None):
            raise ValueError(f"pass both rank and world_size (the number of ranks), or neither; got rank={rank!r}, "
                             f"world_size={world_size!r}")
        if rank is not None:
            rank, world_size = whole_number(rank, "rank"), whole_number(world_size, "world_size")
            if world_size < 1 or not 0 <= rank < world_size:
                raise ValueError(f"rank must be 0 to world_size - 1 and world_size >= 1; got rank={rank}, "
                                 f"world_size={world_size}")
        self.every = every
        self.run = run
        command = [_resolve(density), "record", run, *extra_args]
        if db is not None:
            command += ["--db", str(db)]
        if rank is not None:
            command += ["--rank", str(rank), "--world-size", str(world_size)]
        self.command = command
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self._stderr = collections.deque(maxlen=200)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self._pending = None
        self._returncode = None
        self.enabled = True

    def _read_stderr(self) -> None:
        """Passes density's stderr on to ours, keeping the last lines for the error message."""
        for raw in iter(self.process.stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            self._stderr.append(line.rstrip("\n"))
            try:
                sys.stderr.write(line)
            except (OSError, ValueError):
                pass

    def _message(self) -> str:
        self._reader.join(timeout=5)
        errors = [line for line in self._stderr if line.startswith("Error")]
        return "\n".join(errors or list(self._stderr)[-5:]) or "no message"

    def _stopped(self, reason: str) -> None:
        """Switches recording off, with a warning that carries density's message."""
        if self.enabled:
            self.enabled = False
            status = self.process.poll()
            warnings.warn(f"density record for run '{self.run}' stopped ({reason}, exit status {status}): "
                          f"{self._message()}; feature-density recording is off", RuntimeWarning, stacklevel=4)

    def _send(self, step, neuron_fired_count, num_activation_vectors) -> bool:
        payload = frame(encode_state(step, neuron_fired_count, num_activation_vectors))
        if self.process.poll() is not None:
            self._stopped("it exited")
            return False
        try:
            self.process.stdin.write(payload)
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError) as error:
            self.process.wait()
            self._stopped(str(error))
            return False

    def record(self, step: int, neuron_fired_count, num_activation_vectors, force: bool = False) -> bool:
        """Sends the state at ``step`` when ``step % every == 0`` (or ``force``).

        Returns:
            Whether it was handed to ``density`` (False when skipped by ``every`` or once density
            has stopped).

        Raises:
            ValueError: a step, counts or vector count that is not a whole number, or a closed recorder.
        """
        step = whole_number(step, "step")
        if self._returncode is not None:
            raise ValueError(f"the recorder of run '{self.run}' is closed; record before close() or the end of "
                             f"the with block")
        if not self.enabled:
            return False
        if step % self.every and not force:
            # A copy on the tensors' own device: nothing is moved to the CPU for a skipped step.
            self._pending = (step, _snapshot(neuron_fired_count), _snapshot(num_activation_vectors))
            return False
        self._pending = None
        return self._send(step, neuron_fired_count, num_activation_vectors)

    def close(self) -> int:
        """Sends the last skipped state (see the class), ends the stream and waits for ``density``.

        Returns:
            0.

        Raises:
            DensityError: density exited with a failure; the message is its own.
        """
        if self._returncode is None:
            if self._pending is not None and self.enabled:
                self._send(*self._pending)
            self._pending = None
            if self.process.stdin and not self.process.stdin.closed:
                try:
                    self.process.stdin.close()
                except (BrokenPipeError, OSError):
                    pass
            self._returncode = self.process.wait()
            self._reader.join(timeout=5)
            self.process.stderr.close()
        if self._returncode != 0:
            raise DensityError.from_process(self.command, self._returncode, self._message())
        return 0

    def __enter__(self) -> "DensityRecorder":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except DensityError as error:
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)
