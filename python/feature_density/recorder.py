"""Streaming states from a training loop to one ``density record`` process, beside the loop."""

from __future__ import annotations

import atexit
import dataclasses
import json
import signal
import threading
import time
import warnings
import weakref

import numpy as np

from ._binary import _resolve, run_density
from ._sender import Sender, host_dtype
from ._state_io import whole_number
from .errors import DensityError

__all__ = ["DensityRecorder", "RecorderStats", "run_info"]

#: Steps and vector counts are stored as int64.
_INT64_MAX = 2 ** 63 - 1
#: torch dtypes numpy has no view of.
_TORCH_ONLY = ("torch.bfloat16",)


def run_info(run: str, db: str | None = None, density: str | None = None) -> dict:
    """The run as ``density runs --format json`` lists it: ``features``, ``components``,
    ``fire_threshold``, ``latest_step``, ``world_size``, ...

    Raises:
        DensityError: no such store or run, with how to create it.
    """
    arguments = ["runs", "--format", "json"] + (["--db", str(db)] if db is not None else [])
    runs = json.loads(run_density(arguments, density))
    for entry in runs:
        if entry["name"] == run:
            return entry
    known = ", ".join(f"'{entry['name']}'" for entry in runs) or "none"
    where = db or "the default store ($DENSITY_DB, else ./density.sqlite)"
    raise DensityError(f"no run named '{run}' in {where} (runs: {known}); create it first: "
                       f"density create {run} --features F" + (f" --db {db}" if db else ""))


@dataclasses.dataclass(frozen=True)
class RecorderStats:
    """What the recorder did so far (``DensityRecorder.stats``)."""

    #: States handed to ``density record`` (queued), and how many of those it reported stored.
    sent: int
    stored: int
    #: States ``density`` refused (each is reported on stderr; ``close()`` then raises).
    refused: int
    #: ``record`` calls that skipped their step (``every``).
    skipped: int
    #: Of the calls that sent a state: the seconds spent in ``record`` (copy and any wait), the
    #: calls that waited for a free buffer because density was still writing the previous two, and
    #: the seconds they waited in total and at most.
    record_seconds: float
    waits: int
    wait_seconds: float
    max_wait_seconds: float
    #: The states ``density record`` stores per second while it has work (its pace, from the
    #: sender's time per frame), or None before the first one.
    states_per_second: float | None


class DensityRecorder:
    """Streams states to one ``density record`` process started with the recorder, from a thread
    beside the training loop.

    ``record(step, counts, vectors)`` sends the state when ``step % every == 0`` (or ``force``):
    it copies the state into one of two host buffers the recorder owns (a GPU tensor: a copy to
    pinned memory that does not block, the sender waits for it) and returns; a thread writes it to
    ``density``. When density is slower than the loop, ``record`` waits for a free buffer: no state
    is ever dropped, and the recorder warns once with the rate density sustains (see ``stats``).
    When ``every > 1``, the last state passed to ``record`` but skipped is sent by ``close()`` (and
    so on leaving the ``with`` block): the run's final step is always stored.

    Fail fast, then keep going: an unknown run or store raises :class:`DensityError` here; a state
    of the wrong shape, dtype or step raises ``ValueError`` from ``record``; until a first state is
    stored, ``record`` waits for density's answer and raises :class:`DensityError` with its message
    if the state was refused. After that, a failure (a refused state, density stopped) is warned
    about once, ``record`` returns False once density has stopped, and ``close()`` raises
    :class:`DensityError` (when the ``with`` block is left by an exception, it is warned about
    instead, so the original exception is the one raised).

    Signals: ``density record`` runs in a session of its own, so a Ctrl-C in the terminal or a
    signal to the trainer's process group does not stop it; leaving the ``with`` block on
    ``KeyboardInterrupt`` sends the last state and closes the stream. A SIGTERM to the trainer,
    while its default action is set, raises ``SystemExit`` in the main thread so the same exit
    path runs. A SIGKILL of the trainer loses at most the two states in flight and the skipped
    last state (density stores every frame it received whole).

    Args:
        run: The run's name (``density create RUN --features F`` first).
        db: The store (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        every: Send every ``every``-th step.
        rank, world_size: For a distributed job where each rank records its own partial state: both
            or neither.
        density: The ``density`` binary (default: the one this package ships, see ``find_density``).
        extra_args: More arguments for ``density record``.
        loggers: Objects with ``attach(run, db)``, ``stored(step)`` and ``close()``: told when the
            recorder starts, after each state is handed to density (from the sender thread), and
            after density exited. A logger's exception becomes one ``RuntimeWarning``.
        mirror, mirror_every: ``density record --mirror DIR [--mirror-every SECONDS]``.
    """

    def __init__(self, run: str, db: str | None = None, every: int = 1, rank: int | None = None,
                 world_size: int | None = None, density: str | None = None, extra_args=(), loggers=(),
                 mirror: str | None = None, mirror_every: float | None = None):
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
        if mirror_every is not None and mirror is None:
            raise ValueError("mirror_every needs mirror (the folder the store is mirrored to)")
        if mirror_every is not None and not (isinstance(mirror_every, (int, float)) and mirror_every > 0):
            raise ValueError(f"mirror_every must be a number of seconds > 0, got {mirror_every!r}")
        self.every = every
        self.run = run
        self.db = db
        binary = _resolve(density)
        #: The run as the store lists it (``features``, ``components``, ``fire_threshold``, ...).
        self.run_info = run_info(run, db, binary)
        features, components = self.run_info["features"], self.run_info["components"]
        #: The shape of the run's counts.
        self.shape = (features,) if components is None else (components, features)
        command = [binary, "record", run, *extra_args]
        if db is not None:
            command += ["--db", str(db)]
        if rank is not None:
            command += ["--rank", str(rank), "--world-size", str(world_size)]
        if mirror is not None:
            command += ["--mirror", str(mirror)]
            if mirror_every is not None:
                command += ["--mirror-every", f"{mirror_every:g}"]
        self.command = command + ["--acks"]   # a JSON line per frame as it is stored: how the recorder knows
        self.loggers = tuple(loggers)
        self._failed_loggers: set = set()
        self._pending = None
        self._pending_buffer = None
        self._returncode = None
        self._failure = None          # a DensityError to raise from the next call
        self._warned_refusal = False
        self._warned_wait = False
        self._confirmed = False       # a state of this recorder is stored
        self._sent = self._skipped = self._waits = 0
        self._wait_seconds = self._max_wait = self._record_seconds = 0.0
        self.enabled = True
        for logger in self.loggers:
            self._call(logger, "attach", run, None if db is None else str(db))
        self._sender = Sender(self.command, run, self._on_stored)
        #: The ``density record`` process.
        self.process = self._sender.process
        _open_recorders.add(self)
        _signals.opened()

    # MARK: - recording

    def record(self, step: int, neuron_fired_count, num_activation_vectors, force: bool = False) -> bool:
        """Sends the state at ``step`` when ``step % every == 0`` (or ``force``).

        Returns:
            Whether it was handed to ``density`` (False when skipped by ``every`` or once density
            has stopped).

        Raises:
            ValueError: a step, counts or vector count that is not a whole number that fits in
                int64, counts of a dtype other than integers or floats or of a shape other than the
                run's, or a closed recorder.
            DensityError: density refused this recorder's first state, or stopped before storing it.
        """
        step = _step(step)
        if self._returncode is not None:
            raise ValueError(f"the recorder of run '{self.run}' is closed; record before close() or the end of "
                             f"the with block")
        self._report()
        if not self.enabled:
            return False
        if step % self.every and not force:
            self._keep_pending(step, neuron_fired_count, num_activation_vectors)
            self._skipped += 1
            return False
        self._pending = None
        return self._send(step, neuron_fired_count, num_activation_vectors)

    def _check(self, counts) -> None:
        shape = tuple(counts.shape)
        if shape != self.shape:
            raise ValueError(f"neuron_fired_count has shape {list(shape)}, run '{self.run}' has "
                             f"{_describe(self.shape)}: is it the right run (or the right SAE)?")
        host_dtype(counts)

    def _send(self, step: int, counts, vectors) -> bool:
        began = time.perf_counter()
        if not hasattr(counts, "shape") or not hasattr(counts, "dtype"):
            counts = np.asarray(counts)
        self._check(counts)
        if not hasattr(vectors, "detach"):
            vectors = whole_number(vectors, "num_activation_vectors")
            if not 0 <= vectors <= _INT64_MAX:
                raise ValueError(f"num_activation_vectors must be 0 to 2^63 - 1, got {vectors}")
        if self._sender.write_error is not None or self._sender.exited:
            self._stopped()
            return False
        slot, waited = self._sender.take()
        try:
            _fill(slot, step, counts, vectors)
        except BaseException:
            self._sender.give_back(slot)
            raise
        frame = self._sender.queue(slot)
        self._sent += 1
        if waited > 0:
            self._waits += 1
            self._wait_seconds += waited
            self._max_wait = max(self._max_wait, waited)
        self._record_seconds += time.perf_counter() - began
        if not self._confirmed:
            self._confirm(frame)
        elif waited > 0 and not self._warned_wait and self._waits >= 3 and self._wait_seconds >= 0.1:
            self._warned_wait = True
            stats = self.stats
            rate = stats.states_per_second or 0.0
            warnings.warn(
                f"density record stores {rate:.1f} states/s of run '{self.run}' ({1e3 / rate if rate else 0:.0f} ms "
                f"each), fewer than the training loop sends: record() waited {self._wait_seconds:.2f} s in {self._waits}"
                f" of {self._sent} calls (recorder.stats has the figures); record less often (every=) to keep the loop "
                f"free", RuntimeWarning, stacklevel=3)
        return True

    def _confirm(self, frame: int) -> None:
        """Waits for density's answer on this recorder's first states: raises if it refused one."""
        sender = self._sender
        sender.wait_for_verdict(frame)
        with sender._lock:
            refused = [message for number, message in sender.refusals if number == frame]
            stored = sender.stored > 0
        if refused:
            raise DensityError(f"run '{self.run}': density refused the first state, so nothing is recorded: "
                               + refused[0].removeprefix("Error: "), None, self.command)
        if stored:
            self._confirmed = True
            return
        if sender.exited or sender.write_error is not None:
            status = self.process.wait()
            self.enabled = False
            raise DensityError.from_process(self.command, status, sender.message())

    def _keep_pending(self, step, counts, vectors) -> None:
        """Keeps a copy of a skipped state (on its own device, no transfer), for ``close()``."""
        if hasattr(counts, "detach") and counts.device.type == "cpu" and str(counts.dtype) not in _TORCH_ONLY:
            counts = counts.detach().numpy()      # numpy's copy, below (see _fill)
        if hasattr(counts, "detach"):
            counts = counts.detach()
            buffer = self._pending_buffer
            if buffer is None or buffer.shape != counts.shape or buffer.dtype != counts.dtype \
                    or buffer.device != counts.device:
                buffer = self._pending_buffer = counts.clone()
            else:
                buffer.copy_(counts)
            counts = buffer
        else:
            buffer = self._pending_buffer
            counts = np.asarray(counts)
            if not isinstance(buffer, np.ndarray) or buffer.shape != counts.shape or buffer.dtype != counts.dtype:
                buffer = self._pending_buffer = np.empty_like(counts)
            np.copyto(buffer, counts)
            counts = buffer
        if hasattr(vectors, "detach"):
            vectors = vectors.detach().clone()
        self._pending = (step, counts, vectors)

    def flush(self) -> None:
        """Waits until density has stored (or refused) every state handed to it so far: call it
        before saving a model checkpoint that must not be ahead of the store."""
        self._sender.wait_for_all()
        self._report()

    # MARK: - failures and reports

    def _report(self) -> None:
        """Raises a pending first-state failure; warns about density's and the loggers' notices and
        about the first refused state."""
        for notice in self._sender.take_notices():
            warnings.warn(notice, RuntimeWarning if not notice.startswith("density: warning:") else UserWarning,
                          stacklevel=3)
        sender = self._sender
        if sender.refusals and not self._warned_refusal and self._confirmed:
            self._warned_refusal = True
            warnings.warn(f"density record refused a state of run '{self.run}' (stored states are kept, recording "
                          f"goes on, close() will raise): {sender.refusals[0][1].removeprefix('Error: ')}", RuntimeWarning, stacklevel=3)
        if self.enabled and (sender.write_error is not None or (sender.exited and self.process.poll() is not None)):
            self._stopped()

    def _stopped(self) -> None:
        """Switches recording off, with a warning that carries density's message."""
        if self.enabled:
            self.enabled = False
            status = self.process.wait()
            reason = self._sender.write_error or "it exited"
            warnings.warn(f"density record for run '{self.run}' stopped ({reason}, exit status {status}): "
                          f"{self._sender.message()}; feature-density recording is off", RuntimeWarning, stacklevel=4)

    def _call(self, logger, method: str, *arguments) -> None:
        try:
            getattr(logger, method)(*arguments)
        except Exception as error:
            key = (id(logger), method)
            if key not in self._failed_loggers:
                self._failed_loggers.add(key)
                warnings.warn(f"logger {type(logger).__name__}.{method} failed ({type(error).__name__}: {error}); "
                              f"recording goes on", RuntimeWarning, stacklevel=3)

    def _on_stored(self, step: int) -> None:
        """From the sender thread: each logger's ``stored(step)``; failures become notices."""
        for logger in self.loggers:
            try:
                logger.stored(step)
            except Exception as error:
                key = (id(logger), "stored")
                if key not in self._failed_loggers:
                    self._failed_loggers.add(key)
                    with self._sender._lock:
                        self._sender.notices.append(f"logger {type(logger).__name__}.stored failed "
                                                    f"({type(error).__name__}: {error}); recording goes on")

    @property
    def stats(self) -> RecorderStats:
        """The recorder's figures so far (see :class:`RecorderStats`)."""
        sender = self._sender
        with sender._lock:
            written, stored, refused, busy = sender.written, sender.stored, len(sender.refusals), sender.send_seconds
        return RecorderStats(sent=self._sent, stored=stored, refused=refused, skipped=self._skipped,
                             record_seconds=self._record_seconds, waits=self._waits,
                             wait_seconds=self._wait_seconds, max_wait_seconds=self._max_wait,
                             states_per_second=written / busy if written and busy > 0 else None)

    # MARK: - closing

    def close(self) -> int:
        """Sends the last skipped state (see the class), ends the stream and waits for ``density``.

        Returns:
            0.

        Raises:
            DensityError: density exited with a failure, or refused a state; the message is its own.
        """
        first_failure = None
        if self._returncode is None:
            try:
                if self._pending is not None and self.enabled:
                    pending, self._pending = self._pending, None
                    self._send(*pending)
            except DensityError as error:
                first_failure = error
            finally:
                self._pending = None
                self._returncode = self._sender.finish()
                _open_recorders.discard(self)
                _signals.closed()
                for logger in self.loggers:
                    self._call(logger, "close")
            for notice in self._sender.take_notices():
                warnings.warn(notice, RuntimeWarning, stacklevel=2)
        if first_failure is not None:
            raise first_failure
        if self._returncode != 0:
            raise DensityError.from_process(self.command, self._returncode, self._sender.message())
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


# MARK: - copying a state into a host buffer


def _step(step) -> int:
    step = whole_number(step, "step")
    if not 0 <= step <= _INT64_MAX:
        raise ValueError(f"step must be 0 to 2^63 - 1 (it is stored as int64), got {step}")
    return step


def _describe(shape: tuple) -> str:
    return f"{shape[0]} features" if len(shape) == 1 else f"{shape[0]} components x {shape[1]} features, {list(shape)}"


def _fill(slot, step: int, counts, vectors) -> None:
    """Copies the state into ``slot``'s host buffer: a GPU tensor without blocking (the sender
    waits for the event), anything else at once."""
    slot.step = step
    slot.event = None
    device = None
    dtype, slot.half = host_dtype(counts)
    if hasattr(counts, "detach"):
        import torch

        source = counts.detach()
        target = getattr(torch, dtype.name)
        if source.device.type == "cuda":
            device = source.device
        elif slot.half is None and source.device.type == "cpu":
            # numpy's copy: one memcpy on this thread, where torch's copy_ of a wide tensor
            # splits it across its intra-op threads, slow when the cores are busy.
            try:
                counts = source.numpy()
            except (RuntimeError, TypeError):
                pass
    if hasattr(counts, "detach"):
        buffer = slot.counts
        if not isinstance(buffer, torch.Tensor) or buffer.shape != source.shape or buffer.dtype != target \
                or buffer.is_pinned() != (device is not None):
            buffer = slot.counts = torch.empty(source.shape, dtype=target, pin_memory=device is not None)
            slot.array = buffer.numpy()
        buffer.copy_(source, non_blocking=device is not None)
    else:
        source = np.asarray(counts)
        if not isinstance(slot.counts, np.ndarray) or slot.counts.shape != source.shape or slot.counts.dtype != dtype:
            slot.counts = slot.array = np.empty(source.shape, dtype=dtype)
        np.copyto(slot.counts, source, casting="unsafe")
    if hasattr(vectors, "detach"):
        import torch

        source = vectors.detach()
        if source.numel() != 1:
            raise ValueError(f"num_activation_vectors must be one number (a scalar), got shape {list(source.shape)}")
        if source.dtype == torch.bool or source.is_complex():
            raise ValueError(f"num_activation_vectors has dtype {source.dtype}; pass a whole number")
        target = torch.float64 if source.is_floating_point() else torch.int64
        on_gpu = source.device.type == "cuda"
        buffer = slot.vectors_buffer
        if buffer is None or buffer.dtype != target or buffer.is_pinned() != on_gpu:
            buffer = slot.vectors_buffer = torch.empty((), dtype=target, pin_memory=on_gpu)
        buffer.copy_(source.reshape(()), non_blocking=on_gpu)
        slot.vectors = buffer.numpy()
        if on_gpu and device is None:
            device = source.device
    else:
        slot.vectors = np.array(vectors, dtype=np.int64)
    if device is not None:
        import torch

        if slot.cuda_event is None:
            slot.cuda_event = torch.cuda.Event()
        slot.event = slot.cuda_event
        slot.event.record(torch.cuda.current_stream(device))


# MARK: - open recorders at exit and on SIGTERM

_open_recorders: "weakref.WeakSet[DensityRecorder]" = weakref.WeakSet()


@atexit.register
def _close_open_recorders() -> None:
    """At interpreter exit (a script that never closed its recorder, SystemExit from SIGTERM):
    sends what is left and waits for density."""
    for recorder in list(_open_recorders):
        try:
            recorder.close()
        except Exception as error:  # noqa: BLE001 - nothing can be raised at exit
            warnings.warn(f"closing the recorder of run '{recorder.run}' at exit: {error}", RuntimeWarning)


class _SigtermExit:
    """While recorders are open, a SIGTERM whose action is the default raises SystemExit in the
    main thread, so ``with`` blocks and ``atexit`` finish the stream instead of the process dying."""

    def __init__(self):
        self.count = 0
        self.installed = False
        self.lock = threading.Lock()

    @staticmethod
    def _handler(signum, frame):
        raise SystemExit(128 + signum)

    def opened(self) -> None:
        with self.lock:
            self.count += 1
            if self.count == 1 and threading.current_thread() is threading.main_thread():
                try:
                    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                        signal.signal(signal.SIGTERM, self._handler)
                        self.installed = True
                except (ValueError, OSError):
                    pass

    def closed(self) -> None:
        with self.lock:
            self.count -= 1
            if self.count == 0 and self.installed and threading.current_thread() is threading.main_thread():
                if signal.getsignal(signal.SIGTERM) is self._handler:
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                self.installed = False


_signals = _SigtermExit()
